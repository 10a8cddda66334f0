import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { emptyProcStat, parseStatInto } from './parse-stat.js';
import { isGone } from './process-table.js';
import type { HostRoot } from './host-root.js';

/**
 * Who is whose child, from one pass over /proc: every process's parent and
 * start (clock ticks after boot). Built once per sweep and shared by every
 * tree target, so finding descendants costs one read per process on the
 * machine, however many services want theirs.
 */
export interface ParentIndex {
  /** Child pids by parent pid. */
  readonly children: ReadonlyMap<number, readonly number[]>;
  /** Start of each process, clock ticks after boot. */
  readonly startTicks: ReadonlyMap<number, number>;
}

/** A descendant found in the index, in top-down order: a parent always comes before its children. */
export interface Descendant {
  pid: number;
  startTicks: number;
  /** Index of its parent in the same list; -1 when the parent is the root. */
  parent: number;
}

/** How a long pass shares the event loop: before each step, `pause` when the stretch is `over` (see Stretch). */
export interface Pacing {
  readonly over: boolean;
  step(): void;
  pause(): Promise<void>;
}

/** Called for each process a scan lists, with what its stat line says. */
export type ProcessVisitor = (pid: number, ppid: number, startTicks: number, comm: string) => void;

/**
 * Reads the parent and start of every process of `root`, in the stretches
 * `stretch` paces with a turn of the event loop between them: on a host of 10,000
 * processes one pass is some 150 ms of reads, which must not hold the loop at
 * once. A process that exits while the table is read is simply absent; any
 * other failure (EMFILE, EACCES on the directory) is thrown: not knowing is
 * not "no children". Without `stretch`, the pass is one synchronous block,
 * settled before any timer runs. `visit`, when given, sees every process
 * listed, with its command name.
 */
export async function scanParents(root: HostRoot, stretch: Pacing | undefined, visit?: ProcessVisitor): Promise<ParentIndex> {
  const buffer = Buffer.allocUnsafe(1024);
  const scratch = emptyProcStat();
  const children = new Map<number, number[]>();
  const startTicks = new Map<number, number>();
  for (const name of stretch ? await readdir(root.proc) : readdirSync(root.proc)) {
    const first = name.charCodeAt(0);
    if (first < 0x31 || first > 0x39) continue; // not a pid: self, net, sys, ...
    const pid = Number(name);
    if (!Number.isSafeInteger(pid)) continue;
    if (stretch?.over === true) await stretch.pause();
    stretch?.step();
    let length: number;
    try {
      const fd = openSync(`${root.proc}/${name}/stat`, 'r');
      try {
        length = readSync(fd, buffer, 0, buffer.length, 0);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if (isGone(error)) continue;
      throw error;
    }
    if (parseStatInto(buffer, length, scratch) !== undefined) continue;
    startTicks.set(pid, scratch.startTicks);
    if (visit) visit(pid, scratch.ppid, scratch.startTicks, commOf(buffer, length));
    const siblings = children.get(scratch.ppid);
    if (siblings === undefined) children.set(scratch.ppid, [pid]);
    else siblings.push(pid);
  }
  return { children, startTicks };
}

/** The command name between the first '(' and the last ')' of a stat line, as UTF-8. */
function commOf(buffer: Buffer, length: number): string {
  const open = buffer.indexOf(0x28);
  const close = buffer.lastIndexOf(0x29, length - 1);
  return open < 0 || close <= open ? '' : buffer.toString('utf8', open + 1, close);
}

/**
 * The descendants of `root` (which started at `rootStartTicks`), breadth first.
 * A listed child that started before its parent cannot be its child: its
 * parent's pid was reused meanwhile, and that branch is left out.
 */
export function descendantsOf(index: ParentIndex, root: number, rootStartTicks: number): Descendant[] {
  const found: Descendant[] = [];
  const seen = new Set<number>([root]);
  const visit = (parentPid: number, parentTicks: number, parentAt: number): void => {
    for (const pid of index.children.get(parentPid) ?? []) {
      const ticks = index.startTicks.get(pid);
      if (ticks === undefined || ticks < parentTicks || seen.has(pid)) continue;
      seen.add(pid);
      found.push({ pid, startTicks: ticks, parent: parentAt });
    }
  };
  visit(root, rootStartTicks, -1);
  for (let at = 0; at < found.length; at++) {
    const { pid, startTicks } = found[at] as Descendant;
    visit(pid, startTicks, at);
  }
  return found;
}
