import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assignGroups, compileGroupRules, parseProcessExporterConfig } from '../../../src/collectors/groups/index.js';
import { InvalidArgumentValueError } from '../../../src/core/errors.js';
import { proc } from './support.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/process-exporter/${name}`, import.meta.url), 'utf8');

describe('parseProcessExporterConfig', () => {
  it('reads the catch-all config', () => {
    const rules = parseProcessExporterConfig(fixture('catch-all.yaml'));
    expect(rules).toEqual([{ name: '{{.Comm}}', cmdline: ['.+'] }]);
    const groups = assignGroups(
      [proc(1, 0, { comm: 'bash' }), proc(2, 1, { comm: 'bash' }), proc(3, 0, { comm: 'cron' })],
      compileGroupRules(rules),
    );
    expect(groups.map((group) => [group.name, group.pids.length])).toEqual([
      ['bash', 2],
      ['cron', 1],
    ]);
  });

  it('reads named groups with exe and comm lists, and names an unnamed entry by its executable', () => {
    const rules = compileGroupRules(parseProcessExporterConfig(fixture('named.yaml')));
    const facts = [
      proc(10, 1, { comm: 'nginx', exe: '/usr/sbin/nginx', user: 'www-data' }),
      proc(11, 1, { comm: 'postgres', exe: '/usr/lib/postgresql/16/bin/postgres', user: 'postgres' }),
      proc(12, 1, { comm: 'zsh', exe: '/bin/zsh' }),
      proc(13, 1, { comm: 'sshd', exe: '/usr/sbin/sshd' }),
    ];
    expect(
      assignGroups(facts, rules)
        .map((group) => group.name)
        .sort(),
    ).toEqual(['/usr/lib/postgresql/16/bin/postgres:postgres', '/usr/sbin/nginx:www-data', 'shells', 'sshd']);
  });

  it('reads Go named captures', () => {
    const rules = compileGroupRules(parseProcessExporterConfig(fixture('captures.yaml')));
    const facts = [
      proc(20, 1, { comm: 'java', exe: '/usr/lib/jvm/bin/java', argv: ['java', '-Xmx1g', '-jar', 'billing.jar'] }),
      proc(21, 1, { comm: 'python3', exe: '/usr/bin/python3.11', argv: ['/usr/bin/python3', 'worker.py', '--queue', 'a'] }),
    ];
    expect(
      assignGroups(facts, rules)
        .map((group) => group.name)
        .sort(),
    ).toEqual(['java-billing', 'worker.py']);
  });

  it('refuses what process-exporter has no meaning for, by name and line', () => {
    expect(() => parseProcessExporterConfig(fixture('unknown-key.yaml'))).toThrow(
      /^line 5: process_names\[0\]\.children is not supported; supported: name, comm, exe, cmdline$/,
    );
    expect(() => parseProcessExporterConfig('process_names: []\nextra: 1\n')).toThrow(
      /line 2: process-exporter config key "extra" is not supported/,
    );
    expect(() => parseProcessExporterConfig('process_names: {a: 1}\n')).toThrow(/line 1: process_names must be a list/);
    expect(() => parseProcessExporterConfig('process_names:\n  - comm: bash\n')).toThrow(
      /line 2: process_names\[0\]\.comm must be a list of strings/,
    );
    expect(() => parseProcessExporterConfig('process_names: [\n')).toThrow(InvalidArgumentValueError);
    expect(() => parseProcessExporterConfig('')).toThrow(/must be a mapping with process_names; got an empty file/);
  });

  it('leaves pattern and template checks to compileGroupRules', () => {
    const rules = parseProcessExporterConfig('process_names:\n  - name: "{{.Foo}}"\n    cmdline: [".+"]\n');
    expect(() => compileGroupRules(rules)).toThrow(/rules\[0\]\.name: template field \.Foo is not supported/);
  });
});
