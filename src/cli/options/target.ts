import { COMMAND_SERVICE_NAME } from '../../core/limits.js';
import { UsageError, quoteArg, quoteValue } from './errors.js';
import { targetHint } from './hints.js';
import { validateTrackTarget } from '../../core/validate.js';
import { compilePattern } from '../../core/pattern.js';

/** What `--service NAME=TARGET` points at. */
export type TargetSpec =
  | { kind: 'pid'; pid: number }
  | { kind: 'pidfile'; path: string }
  | { kind: 'match'; pattern: RegExp }
  | { kind: 'group'; pattern: RegExp }
  | { kind: 'cgroup'; path: string };

export interface WatchService {
  name: string;
  target: TargetSpec;
  /** The service's own labels (config file only), over the command's. */
  labels?: Readonly<Record<string, string>>;
}

/** Service names end up as metric attributes and table cells: keep them plain. */
export function validateServiceName(name: string, flag: string, raw: string): string {
  if (!COMMAND_SERVICE_NAME.pattern.test(name)) {
    throw new UsageError(`${quoteArg(flag, raw)}: service name ${quoteValue(name)} must be ${COMMAND_SERVICE_NAME.describe}`);
  }
  return name;
}

/** `api=1234`, `api=pidfile:/run/api.pid`, `api=match:REGEX`. */
export function parseServiceArg(raw: string, flag = '--service'): WatchService {
  const eq = raw.indexOf('=');
  if (eq < 0) {
    throw new UsageError(
      `${quoteArg(flag, raw)}: expected NAME=TARGET (TARGET: PID, pidfile:PATH, match:REGEX, group:REGEX or cgroup:PATH)`,
    );
  }
  const name = validateServiceName(raw.slice(0, eq), flag, raw);
  return { name, target: parseTarget(raw.slice(eq + 1), flag, raw) };
}

export function parseTarget(text: string, flag: string, raw: string = text): TargetSpec {
  if (text.startsWith('pidfile:')) {
    const path = text.slice('pidfile:'.length);
    if (path === '') throw new UsageError(`${quoteArg(flag, raw)}: pidfile: needs a path`);
    return { kind: 'pidfile', path };
  }
  for (const kind of ['match', 'group'] as const) {
    if (!text.startsWith(`${kind}:`)) continue;
    const source = text.slice(kind.length + 1);
    if (source === '') throw new UsageError(`${quoteArg(flag, raw)}: ${kind}: needs a regular expression`);
    const pattern = compilePattern(source);
    if (!(pattern instanceof RegExp)) throw new UsageError(`${quoteArg(flag, raw)}: ${pattern.problem}`);
    return { kind, pattern };
  }
  if (text.startsWith('cgroup:')) {
    const path = text.slice('cgroup:'.length);
    try {
      validateTrackTarget({ cgroup: path });
    } catch {
      throw new UsageError(
        `${quoteArg(flag, raw)}: cgroup: needs an absolute path such as /system.slice/api.service (no '.', '..' or empty segments)`,
      );
    }
    return { kind: 'cgroup', path };
  }
  return { kind: 'pid', pid: parsePid(text, flag, raw, targetHint(text)) };
}

/** A positive decimal integer; `0x10`, `1e3`, `+5`, ` 12` are refused. `hint` ends the message. */
function parsePid(text: string, flag: string, raw: string = text, hint = ''): number {
  const pid = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(pid) || pid > 4_194_304) {
    throw new UsageError(`${quoteArg(flag, raw)}: pid ${quoteValue(text)} is not a process id${hint}`);
  }
  return pid;
}

export function describeTarget(target: TargetSpec): string {
  switch (target.kind) {
    case 'pid':
      return String(target.pid);
    case 'pidfile':
      return `pidfile:${target.path}`;
    case 'match':
    case 'group':
      return `${target.kind}:${target.pattern.source}`;
    case 'cgroup':
      return `cgroup:${target.path}`;
  }
}
