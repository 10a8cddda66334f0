import { CgroupReadError, ProcessNotFoundError, UnsupportedTargetError } from '../../core/errors.js';
import { Tracker } from '../../tracker/tracker.js';
import { defaultCollector } from '../../collectors/default.js';
import type { CommonOptions } from '../options/args.js';
import { Board } from '../session/board.js';
import { TargetNotFoundError, UsageError, quoteValue } from '../options/errors.js';
import { openSession, type SessionIO } from '../session/session.js';
import { createOutput } from '../view/output.js';
import { selfAndAncestors } from './proc-scan.js';
import { resolveAll, type Resolution } from './resolve.js';
import { describeTarget, type TargetSpec, type WatchService } from '../options/target.js';
import type { DiscoverSpec } from '../options/args.js';
import { readRegularFile } from '../options/read-regular.js';
import { CONFIG_FILE_MAX_BYTES } from '../../core/limits.js';
import type { ProcessGrouping } from '../../core/groups.js';
import { groupingOf, processGroup } from '../../collectors/groups/grouping.js';
import type { GroupTargetSpec } from '../../tracker/types.js';
import { Watcher } from './watcher.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Pm2NotInstalledError, Pm2UnreachableError, followPm2, type Pm2Follow } from '../../integrations/pm2.js';

export interface WatchCommand {
  options: CommonOptions;
  once: boolean;
  services: WatchService[];
  discover: DiscoverSpec | null;
  /** Follow every app of the PM2 daemon at PM2_HOME (or ~/.pm2). */
  pm2: boolean;
}

/** The rules of `--discover`, read and compiled before anything starts; a usage error (exit 2) says what is wrong. */
async function readGrouping(spec: DiscoverSpec): Promise<ProcessGrouping> {
  const where = `--discover ${quoteValue(spec.path)}`;
  const read = await readRegularFile(spec.path, CONFIG_FILE_MAX_BYTES);
  if (!read.ok) throw new UsageError(`${where}: cannot read it: ${read.problem}`);
  if (read.sizeBytes > CONFIG_FILE_MAX_BYTES) throw new UsageError(`${where}: larger than 1 MiB, not a rules file`);
  // The YAML parser is loaded only for --discover.
  const { parseRulesFile } = await import('../../collectors/groups/process-exporter.js');
  try {
    return groupingOf(parseRulesFile(read.head.toString('utf8')), { maxGroups: spec.maxGroups });
  } catch (error) {
    throw new UsageError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * A `group:REGEX` service: every process whose command line matches, with its
 * children, as one; never procmetrics itself or its ancestors (as for match:),
 * whose command lines hold the pattern.
 */
function groupTarget(target: Extract<TargetSpec, { kind: 'group' }>, excluded: ReadonlySet<number>): GroupTargetSpec {
  const { group } = processGroup({ cmdline: [target.pattern.source] });
  const inner = group.grouping;
  const grouping: ProcessGrouping = {
    needs: inner.needs,
    assign: (facts) => inner.assign(facts.filter((fact) => !excluded.has(fact.pid))),
  };
  return { group: { grouping, group: group.group } };
}

/** Tracks the `group:` services (the tracker follows them from then on, empty or not) and starts discovery. */
async function trackGroups(
  tracker: Tracker,
  command: WatchCommand,
  grouping: ProcessGrouping | null,
  excluded: ReadonlySet<number>,
): Promise<void> {
  for (const service of command.services) {
    if (service.target.kind !== 'group') continue;
    const labels = command.options.serviceLabels.get(service.name) ?? command.options.labels;
    await tracker.track(service.name, groupTarget(service.target, excluded), { labels });
  }
  if (grouping) await tracker.discover(grouping, { labels: command.options.labels });
}

/**
 * `procmetrics watch`. Everything that can be checked is checked before the
 * port is bound: pid files must be readable and hold a pid, a plain pid must
 * exist. Then it follows the targets until SIGINT/SIGTERM; exit 0.
 */
export async function watch(command: WatchCommand, io: SessionIO, stopRequested: Promise<unknown>): Promise<number> {
  const grouping = command.discover ? await readGrouping(command.discover) : null;
  const excluded = await selfAndAncestors();
  // Group services are the tracker's to follow; the rest are resolved here first.
  const single = command.services.filter((service) => service.target.kind !== 'group');
  const first = await resolveAll(single, excluded);
  for (const service of single) {
    const resolution = first.get(service.name);
    if (resolution?.found === false && resolution.problem !== 'gone') {
      throw new UsageError(`--service ${service.name}=${describeTarget(service.target)}: ${resolution.reason}`);
    }
  }
  if (command.once) return once(command, first, io, grouping, excluded);

  const missingPid = single.find((service) => service.target.kind === 'pid' && first.get(service.name)?.found === false);
  if (missingPid) throw notFound(missingPid, first);

  const session = await openSession(
    command.options,
    command.services.map((service) => service.name),
    io,
    grouping !== null || command.pm2,
  );
  const watcher = new Watcher(session.track, session.board, single, excluded, command.options.descendants);
  let pm2: Pm2Follow | undefined;
  try {
    if (command.pm2) pm2 = await followDaemon(session.tracker, command.options, io.env);
    await Promise.race([trackGroups(session.tracker, command, grouping, excluded), stopRequested]);
    await Promise.race([watcher.begin(first, command.options.intervalMs), stopRequested]);
    await stopRequested;
  } finally {
    await pm2?.stop();
    await watcher.stop();
    await session.close();
    // Counted all along, told once: a pid file that is often unusable is worth knowing about.
    for (const [name, problems] of watcher.readProblems()) {
      const times = problems.count === 1 ? 'once' : `${problems.count} times`;
      io.stderr.write(`procmetrics: ${name}: pid file unusable ${times} while its process ran on (last: ${problems.last})\n`);
    }
    if (pm2) reportPm2Problems(pm2, io);
  }
  return 0;
}

/**
 * `--pm2`: the daemon must answer at start (a usage error, exit 2, otherwise:
 * nothing would be followed); a daemon that goes away later is waited for,
 * its apps keeping their last state until it is back.
 */
async function followDaemon(tracker: Tracker, options: CommonOptions, env: SessionIO['env']): Promise<Pm2Follow> {
  const home = env['PM2_HOME'] ?? join(homedir(), '.pm2');
  try {
    return await followPm2(tracker, { home, intervalMs: options.intervalMs, labels: options.labels });
  } catch (error) {
    if (error instanceof Pm2NotInstalledError || error instanceof Pm2UnreachableError) throw new UsageError(`--pm2: ${error.message}`);
    throw error;
  }
}

const PM2_PROBLEMS: Readonly<Record<string, string>> = {
  unreachable: 'no daemon answered',
  connect: 'connecting failed',
  list: 'reading the list failed',
  track: "an app's process could not be followed",
};

/** Counted all along, told once at exit, as for pid files. */
function reportPm2Problems(pm2: Pm2Follow, io: SessionIO): void {
  for (const [kind, count] of pm2.errorCounts()) {
    const times = count === 1 ? 'once' : `${count} times`;
    io.stderr.write(`procmetrics: PM2 at PM2_HOME ${JSON.stringify(pm2.home)}: ${PM2_PROBLEMS[kind] ?? kind} ${times}\n`);
  }
}

/**
 * `--once`: one sample of every target, printed, no exporters. Exit 1 when any
 * target does not exist (after printing the ones that do).
 */
async function once(
  command: WatchCommand,
  first: ReadonlyMap<string, Resolution>,
  io: SessionIO,
  grouping: ProcessGrouping | null,
  excluded: ReadonlySet<number>,
): Promise<number> {
  const tracker = new Tracker(defaultCollector(), { meterProvider: null });
  const missing: string[] = [];
  try {
    await trackGroups(tracker, command, grouping, excluded);
    for (const service of command.services) {
      if (service.target.kind === 'group') continue;
      const resolution = first.get(service.name);
      if (!resolution?.found) {
        missing.push(notFound(service, first).message);
        continue;
      }
      try {
        const labels = command.options.serviceLabels.get(service.name) ?? command.options.labels;
        if (service.target.kind === 'cgroup') await tracker.track(service.name, { cgroup: service.target.path }, { labels });
        else await tracker.track(service.name, resolution.pid, { descendants: command.options.descendants, labels });
      } catch (error) {
        if (!(error instanceof ProcessNotFoundError || error instanceof UnsupportedTargetError || error instanceof CgroupReadError)) {
          throw error;
        }
        const reason = service.target.kind === 'cgroup' ? error.message : `process ${resolution.pid} exited`;
        missing.push(`--service ${service.name}=${describeTarget(service.target)}: ${reason}`);
      }
    }
    const ordered = new Board(
      tracker,
      command.services.map((service) => service.name),
      grouping !== null,
    ).all();
    const output = createOutput(io.stdout, {
      json: command.options.json,
      tty: false,
      intervalMs: command.options.intervalMs,
      metricsUrl: null,
      current: () => ordered,
    });
    for (const snapshot of ordered) output.push(snapshot);
  } finally {
    await tracker.close();
  }
  if (missing.length === 0) return 0;
  for (const message of missing) io.stderr.write(`procmetrics: ${message}\n`);
  return 1;
}

function notFound(service: WatchService, first: ReadonlyMap<string, Resolution>): TargetNotFoundError {
  const resolution = first.get(service.name);
  const reason = resolution && !resolution.found ? resolution.reason : 'not found';
  return new TargetNotFoundError(`--service ${service.name}=${describeTarget(service.target)}: ${reason}`);
}
