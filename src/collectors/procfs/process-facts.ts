import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { FactNeeds, ProcessFacts } from '../../core/groups.js';
import { readSmallFile } from './read-text.js';
import type { HostRoot } from './host-root.js';

/** The facts of one process instance that cost a read each, read once for its lifetime. */
interface Known {
  startTicks: number;
  exe?: string | null;
  argv?: readonly string[] | null;
  uid?: number | null;
  cgroup?: string | null;
}

/** How long the passwd file's names are trusted before an unknown uid makes it be read again, ms. */
const PASSWD_MAX_AGE_MS = 60_000;

/**
 * The facts grouping rules look at, for every process a host scan lists. What
 * costs a read of its own (the executable, the command line, the owner, the
 * cgroup) is read only when a rule set needs it, and once per process
 * instance: a process that changes its command line after it started keeps the
 * group it was first given (as process-exporter does by default). A fact that
 * cannot be read (another user's process, a kernel thread) is null; a process
 * gone in the meantime is left out by the caller's next scan.
 */
export class ProcessFactsReader {
  readonly #known = new Map<number, Known>();
  #users: Map<number, string> | undefined;
  #usersReadAt = 0;

  constructor(private readonly root: HostRoot) {}

  facts(pid: number, ppid: number, startTicks: number, comm: string, needs: FactNeeds): ProcessFacts {
    let known = this.#known.get(pid);
    if (known?.startTicks !== startTicks) {
      known = { startTicks };
      this.#known.set(pid, known);
    }
    const dir = this.root.pid(pid);
    if (needs.exe && known.exe === undefined) known.exe = readOrNull(() => withoutDeletedMark(readlinkSync(`${dir}/exe`)));
    if (needs.argv && known.argv === undefined) known.argv = readOrNull(() => splitCommandLine(utf8(readSmallFile(`${dir}/cmdline`))));
    if (needs.user && known.uid === undefined) known.uid = readOrNull(() => statSync(dir).uid);
    if (needs.cgroup && known.cgroup === undefined) known.cgroup = readOrNull(() => unifiedPath(utf8(readSmallFile(`${dir}/cgroup`))));
    const uid = known.uid ?? null;
    return {
      pid,
      ppid,
      startTicks,
      comm,
      exe: known.exe ?? null,
      argv: known.argv ?? null,
      uid,
      user: needs.user && uid !== null ? this.#userName(uid) : null,
      cgroup: known.cgroup ?? null,
    };
  }

  /** Forgets processes not in `alive` (the pids of the latest scan). */
  prune(alive: ReadonlyMap<number, unknown>): void {
    for (const pid of this.#known.keys()) if (!alive.has(pid)) this.#known.delete(pid);
  }

  #userName(uid: number): string | null {
    const now = Date.now();
    if (this.#users === undefined || (!this.#users.has(uid) && now - this.#usersReadAt > PASSWD_MAX_AGE_MS)) {
      this.#users = readPasswd(this.root.host('/etc/passwd'));
      this.#usersReadAt = now;
    }
    return this.#users.get(uid) ?? null;
  }
}

/** A fact, or null when it cannot be read: gone, a kernel thread (no exe), or not ours to read. Never an error of the sweep. */
function readOrNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** readSmallFile's latin1 text is the file's bytes one per character; arguments and paths are UTF-8. */
function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** readlink of an executable replaced on disk ends in " (deleted)"; the path is what a rule means. */
function withoutDeletedMark(path: string): string {
  return path.endsWith(' (deleted)') ? path.slice(0, -' (deleted)'.length) : path;
}

/** /proc/PID/cmdline: arguments separated (and usually ended) by NUL; empty for a kernel thread. */
function splitCommandLine(text: string): readonly string[] | null {
  if (text === '') return null;
  const args = text.split('\0');
  if (args.at(-1) === '') args.pop();
  return args;
}

/** The `0::PATH` line of /proc/PID/cgroup (the v2 hierarchy), null on a host without one. */
function unifiedPath(text: string): string | null {
  for (const line of text.split('\n')) if (line.startsWith('0::')) return line.slice(3);
  return null;
}

function readPasswd(path: string): Map<number, string> {
  const users = new Map<number, string>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return users;
  }
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name === undefined || uid === undefined || name === '') continue;
    const id = Number(uid);
    if (Number.isSafeInteger(id) && !users.has(id)) users.set(id, name);
  }
  return users;
}
