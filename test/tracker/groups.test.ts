import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsCollector, Tracker, groupingOf, processGroup } from '../../src/index.js';
import { ProcessState } from '../../src/core/state.js';
import { killAll, killAndWait, spawnGroup, waitFor } from '../support/process.js';
import type { ChildProcess } from 'node:child_process';

const CLK_TCK = 100;
const PAGE = 4096;
const trackers: Tracker[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await killAll();
  for (const tracker of trackers.splice(0)) await tracker.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tracker(interval = 200): Tracker {
  const made = new Tracker(new ProcfsCollector({ smapsIntervalMs: 0 }), { meterProvider: null, collectionInterval: interval });
  trackers.push(made);
  return made;
}

/** pid -> ppid of every process now. */
function parents(): Map<number, number> {
  const found = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      found.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** `roots` and every descendant of theirs. */
function treeOf(roots: readonly number[]): number[] {
  const all = parents();
  const members = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of all) {
      if (members.has(ppid) && !members.has(pid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  return [...members];
}

/** CPU seconds (own, and of reaped children) and resident bytes of `pids`, from /proc. */
function truth(pids: readonly number[]): { cpu: number; rss: number } {
  let cpu = 0;
  let rss = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    cpu += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLK_TCK;
    rss += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  }
  return { cpu, rss };
}

describe('group targets', () => {
  it('follow 3 matching workers and their children as one service, with the sums /proc gives', async () => {
    const tag = `pmgroup${process.pid}x${Date.now() % 100000}`;
    // Each worker burns a little CPU, then waits on two children; its command line carries the tag, theirs do not.
    const script = `: ${tag}; sleep 1000 & i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1000`;
    const workers: ChildProcess[] = [1, 2, 3].map(() => spawnGroup('sh', ['-c', script]));
    const roots = workers.map((worker) => worker.pid!);
    await waitFor(() => treeOf(roots).length === 9, { what: 'three workers with two children each', timeoutMs: 20_000 });

    const t = tracker();
    await t.track('workers', processGroup({ cmdline: [tag] }));
    t.start();
    await waitFor(() => (t.get('workers')?.processCount === 9 ? true : undefined), { what: 'the group of 9' });
    // Let a tick pass, then hold its figures against /proc read right after it.
    const seen = await new Promise<ReturnType<Tracker['get']>>((resolve) => {
      const subscription = t.subscribe();
      void (async () => {
        for await (const snapshot of subscription) {
          if (snapshot.serviceName === 'workers') {
            subscription.close();
            resolve(snapshot);
            return;
          }
        }
      })();
    });
    const real = truth(treeOf(roots));
    expect(seen?.state).toBe(ProcessState.Running);
    expect(seen?.processCount).toBe(9);
    expect(roots).toContain(seen?.pid);
    const cpu = seen!.cpu.user + seen!.cpu.system;
    expect(real.cpu).toBeGreaterThan(0.05);
    expect(Math.abs(cpu - real.cpu) / real.cpu).toBeLessThan(0.1);
    expect(Math.abs(seen!.memory.rss - real.rss) / real.rss).toBeLessThan(0.1);

    // Workers leaving shrink the group; the CPU counter never goes back.
    const exited = new Promise((resolve) => workers[0]!.once('exit', resolve));
    process.kill(-roots[0]!, 'SIGKILL');
    await exited;
    await waitFor(() => (t.get('workers')?.processCount === 6 ? true : undefined), { what: 'the group of 6' });
    expect(t.get('workers')!.cpu.user + t.get('workers')!.cpu.system).toBeGreaterThanOrEqual(cpu);
    for (const worker of workers.slice(1)) process.kill(-worker.pid!, 'SIGKILL');
    await waitFor(() => (t.get('workers')?.processCount === 0 ? true : undefined), { what: 'an empty group' });
    expect(t.get('workers')?.state).toBe(ProcessState.Stopped);
    expect(t.get('workers')?.restartCount).toBe(0);
  }, 60_000);

  it('refuse a group target without compiled rules, with a typed error naming it', async () => {
    const t = tracker();
    for (const grouping of [null, undefined, {}, { assign: 1, needs: {} }]) {
      await expect(t.track('bad', { group: { grouping, group: 'g' } } as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringContaining('target.group.grouping must be compiled grouping rules'),
      });
    }
    expect(t.get('bad')).toBeUndefined();
  });

  it('track a group with no process yet, stopped, until one appears', async () => {
    const tag = `pmnobody${process.pid}x${Date.now() % 100000}`;
    const t = tracker();
    await t.track('later', processGroup({ cmdline: [tag] }));
    expect(t.get('later')).toMatchObject({ state: ProcessState.Stopped, processCount: 0, pid: 0 });
    t.start();
    const worker = spawnGroup('sh', ['-c', `: ${tag}; sleep 1000`]);
    await waitFor(() => (t.get('later')?.state === ProcessState.Running ? true : undefined), { what: 'the first process' });
    expect(t.get('later')?.pid).toBe(worker.pid);
    expect(t.get('later')?.processCount).toBe(2);
  });
});

describe('discovery', () => {
  it('follows every group a rule set makes, adds new ones, drops emptied ones, and folds the excess into one group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-discover-'));
    dirs.push(dir);
    const stamp = String(Date.now() % 100000).padStart(5, '0');
    const [na, nb, nc, nd] = ['a', 'b', 'c', 'd'].map((letter) => `pmd${stamp}${letter}`) as [string, string, string, string];
    const names = [na, nb, nc, nd];
    for (const name of names) symlinkSync('/bin/sleep', join(dir, name));
    const spawnAs = (name: string): ChildProcess => spawnGroup(join(dir, name), ['1000']);
    const a = [spawnAs(na), spawnAs(na), spawnAs(na)];
    const b = [spawnAs(nb), spawnAs(nb)];
    const c = [spawnAs(nc)];
    const d = [spawnAs(nd)];
    const all = [...a, ...b, ...c, ...d];
    await waitFor(() =>
      all.every((child) =>
        readFileSync(`/proc/${String(child.pid)}/comm`, 'utf8')
          .trim()
          .startsWith('pmd'),
      ),
    );

    const t = tracker();
    const discovery = await t.discover(groupingOf([{ name: '{{.Comm}}', comm: names }], { maxGroups: 3, overflowName: 'pmd-other' }));
    t.start();
    // Four names would make four groups; at most three: the two largest, and the other two summed into one.
    expect(discovery.groups().sort()).toEqual([na, nb, 'pmd-other'].sort());
    expect(discovery.last()).toMatchObject({ groups: 3, overflowed: 2 });
    await waitFor(() => (t.get(na)?.processCount === 3 ? true : undefined), { what: `${na} of 3` });
    expect(t.get(nb)?.processCount).toBe(2);
    expect(t.get('pmd-other')?.processCount).toBe(2);

    // A group that empties leaves the tracker; with room again, the folded groups come back under their own names.
    for (const child of b) await killAndWait(child);
    await waitFor(() => (t.get(nb) === undefined && t.get('pmd-other') === undefined ? true : undefined), {
      what: `${nb} and the overflow group gone`,
    });
    expect(discovery.groups().sort()).toEqual([na, nc, nd].sort());
    await waitFor(() => (t.get(nd)?.processCount === 1 ? true : undefined), { what: `${nd} of 1` });

    discovery.stop();
    expect(t.getAll().filter((snapshot) => snapshot.serviceName.startsWith('pmd'))).toEqual([]);
  }, 60_000);
});

describe('discovery beside services of its own names', () => {
  it('leaves a group named like a service it did not track to that service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'procmetrics-discover-'));
    dirs.push(dir);
    const name = `pmc${String(Date.now() % 100000).padStart(5, '0')}`;
    symlinkSync('/bin/sleep', join(dir, name));
    const member = spawnGroup(join(dir, name), ['1000']);
    const other = spawnGroup('sleep', ['1000']);
    await waitFor(() => readFileSync(`/proc/${String(member.pid)}/comm`, 'utf8').trim() === name);

    const t = tracker();
    await t.track(name, other.pid!);
    const discovery = await t.discover(groupingOf([{ name: '{{.Comm}}', comm: [name] }]));
    expect(discovery.groups()).toEqual([]);
    expect(discovery.last()).toMatchObject({ groups: 1, added: 0, failed: 1 });
    expect(t.get(name)).toMatchObject({ pid: other.pid, restartCount: 0 });
    discovery.stop();
    expect(t.get(name)?.pid).toBe(other.pid);
  });
});
