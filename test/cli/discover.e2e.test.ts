import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { missingBinaries } from '../support/prometheus.js';
import { killAll, spawnGroup, waitFor } from '../support/process.js';
import { describeWhere, itWhere } from '../support/requires.js';
import { fetchMetrics, freePort, killAllCli, runCli, startCli, startProcess } from './cli.js';

/**
 * procmetrics and Debian's prometheus-process-exporter on the same processes,
 * reading the same process-exporter config file: the same group names, the
 * same sizes. The rules cover each matcher kind and the ways a process joins
 * a group: by command name, by executable, by a command line with a named
 * capture in the name, and as a child of a matched process.
 */
const PEER = 'prometheus-process-exporter';
let dir = '';
const stamp = `pmx${String(process.pid % 1000).padStart(3, '0')}`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'procmetrics-discover-'));
  symlinkSync('/bin/sleep', join(dir, `${stamp}comm`));
  // /proc/PID/exe names the file run, links resolved: the exe rule needs a file of its own.
  copyFileSync('/bin/sleep', join(dir, `${stamp}exe`));
  chmodSync(join(dir, `${stamp}exe`), 0o755);
  writeFileSync(
    join(dir, 'rules.yml'),
    [
      'process_names:',
      `  - comm: [${stamp}comm]`,
      '    name: "{{.Comm}}"',
      '  - exe:',
      `      - ${join(dir, `${stamp}exe`)}`,
      `    name: "${stamp}-by-exe-{{.ExeBase}}"`,
      '  - cmdline:',
      `      - '${stamp}worker-(?P<index>\\d+)'`,
      `    name: "${stamp}-worker-{{.Matches.index}}"`,
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await killAllCli();
  await killAll();
});

/** Group sizes of this test's groups in process-exporter's exposition. */
function peerGroups(text: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const match of text.matchAll(/^namedprocess_namegroup_num_procs\{groupname="([^"]+)"\} (\d+)$/gm)) {
    if (match[1]!.startsWith(stamp)) sizes.set(match[1]!, Number(match[2]));
  }
  return sizes;
}

describeWhere(missingBinaries([PEER]), 'discovery beside process-exporter, same config file', () => {
  itWhere(
    undefined,
    'makes the same groups with the same sizes',
    async () => {
      const spawnAs = (name: string): void => {
        spawnGroup(join(dir, name), ['1000']);
      };
      for (let i = 0; i < 3; i++) spawnAs(`${stamp}comm`);
      for (let i = 0; i < 2; i++) spawnAs(`${stamp}exe`);
      // Two workers whose children (two sleeps each) match no rule of their own: they join their worker's group.
      for (const index of [1, 2]) spawnGroup('sh', ['-c', `: ${stamp}worker-${index}; sleep 1000 & sleep 1000`]);

      const port = await freePort();
      startProcess(PEER, [`--web.listen-address=127.0.0.1:${port}`, '-config.path', join(dir, 'rules.yml')]);
      const expected = new Map([
        [`${stamp}comm`, 3],
        [`${stamp}-by-exe-${stamp}exe`, 2],
        [`${stamp}-worker-1`, 3],
        [`${stamp}-worker-2`, 3],
      ]);
      const theirs = await waitFor(
        async () => {
          const sizes = peerGroups(await fetchMetrics(port).catch(() => ''));
          return sizes.size === expected.size && [...sizes.values()].every((n) => n > 0) ? sizes : undefined;
        },
        { what: `${PEER} reporting the groups`, timeoutMs: 20_000 },
      );

      const once = await runCli(['watch', '--discover', join(dir, 'rules.yml'), '--once', '--json']);
      expect(once.code, once.stderr).toBe(0);
      const ours = new Map(
        once.stdout
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as { serviceName: string; processCount: number })
          .filter((snapshot) => snapshot.serviceName.startsWith(stamp))
          .map((snapshot) => [snapshot.serviceName, snapshot.processCount] as const),
      );
      expect(ours).toEqual(theirs);
      expect(ours).toEqual(expected);
    },
    60_000,
  );

  itWhere(
    undefined,
    'serves the groups on /metrics while it runs, and refuses what process-exporter would not read',
    async () => {
      for (let i = 0; i < 2; i++) spawnGroup(join(dir, `${stamp}comm`), ['1000']);
      const port = await freePort();
      startCli(['watch', '--discover', join(dir, 'rules.yml'), '--prometheus', `127.0.0.1:${port}`, '-i', '200ms']);
      const text = await waitFor(
        async () => {
          const body = await fetchMetrics(port).catch(() => '');
          return body.includes(`procmetrics_service_processes{service_name="${stamp}comm"} 2`) ? body : undefined;
        },
        { what: 'the group on /metrics' },
      );
      expect(text).toMatch(new RegExp(`process_memory_usage_bytes\\{service_name="${stamp}comm"\\} [1-9]`));

      const bad = join(dir, 'bad.yml');
      writeFileSync(bad, 'process_names:\n  - name: "{{.Comm}}"\n    cmdline: [".+"]\n    children: false\n');
      const refused = await runCli(['watch', '--discover', bad, '--once']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--discover .*bad\.yml.*children/);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    },
    60_000,
  );
});

describe('discovery with our own rules file', () => {
  it('takes every matcher, labels per rule, children: false and the first argument as a name', async () => {
    const rules = join(dir, 'ours.yml');
    writeFileSync(
      rules,
      [
        'groups:',
        `  - name: "${stamp}-{{.Arg1}}"`,
        `    cmdline: ['^sh -c : ${stamp}app']`,
        '    user: [root, "0"]',
        '    children: false',
        '    labels: { team: "payments", unit: "u-{{.Comm}}" }',
        '',
      ].join('\n'),
    );
    // One shell with two children: with children: false they are in no group, so the group is the shell alone.
    spawnGroup('sh', ['-c', `: ${stamp}app; sleep 1000 & sleep 1000`]);
    const once = await waitFor(
      async () => {
        const result = await runCli(['watch', '--discover', rules, '--once', '--json']);
        return result.stdout.includes(`"serviceName":"${stamp}--c"`) ? result : undefined;
      },
      { what: 'the group' },
    );
    const line = once.stdout.split('\n').find((text) => text.includes(`"serviceName":"${stamp}--c"`))!;
    const snapshot = JSON.parse(line) as { processCount: number; labels: Record<string, string> };
    expect(snapshot.processCount).toBe(1);
    expect(snapshot.labels).toEqual({ team: 'payments', unit: 'u-sh' });

    writeFileSync(rules, 'groups:\n  - name: x\n    cmdline: [".+"]\n    colour: blue\n');
    const refused = await runCli(['watch', '--discover', rules, '--once']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/colour/);
  }, 60_000);
});
