// The example rules: promtool checks them and runs their unit tests, and the
// unit tests cover every rule.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { requireBinaries } from '../support/prometheus.js';
import { exportedSeriesNames, metricNamesIn } from './promql.js';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const rulesFile = `${examples}prometheus/procmetrics.rules.yml`;
const testsFile = `${examples}prometheus/procmetrics.rules.test.yml`;

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTests {
  rule_files: string[];
  tests: Array<{
    name: string;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
    promql_expr_test?: Array<{ expr: string; exp_samples?: unknown[] }>;
  }>;
}

const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);
const records = rules.filter((rule): rule is Rule & { record: string } => rule.record !== undefined);
const unitTests = parse(readFileSync(testsFile, 'utf8')) as RuleTests;

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { cwd: `${examples}prometheus`, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('example rules, as files', () => {
  it('alert on what the README promises: down, crash-looping, OOM-killed, restarted for health, unhealthy, memory, throttling, a tracker behind', () => {
    expect(alerts.map((rule) => rule.alert)).toEqual([
      'ProcmetricsServiceDown',
      'ProcmetricsServiceCrashLooping',
      'ProcmetricsServiceOOMKilled',
      'ProcmetricsServiceHealthRestarted',
      'ProcmetricsServiceUnhealthy',
      'ProcmetricsServiceMemoryNearLimit',
      'ProcmetricsServiceCpuThrottled',
      'ProcmetricsTrackerFallingBehind',
      'ProcmetricsTrackerSampleTimeouts',
      'ProcmetricsTargetDown',
    ]);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const rule of alerts) expect(readme.includes(`\`${rule.alert}\``), `README names ${rule.alert}`).toBe(true);
  });

  it('give every alert a severity and a summary and description; service alerts name the service', () => {
    for (const rule of alerts) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.['severity']);
      expect(rule.annotations?.['summary'], rule.alert).toBeTruthy();
      expect(rule.annotations?.['description'], rule.alert).toBeTruthy();
      if (rule.alert.startsWith('ProcmetricsService')) {
        expect(rule.annotations?.['summary'], rule.alert).toContain('{{ $labels.service_name }}');
        expect(rule.annotations?.['description'], rule.alert).toContain('{{ $labels.service_name }}');
      }
    }
  });

  it('select only series the library exports', () => {
    const exported = exportedSeriesNames();
    for (const rule of rules) {
      for (const name of metricNamesIn(rule.expr)) {
        expect(exported.has(name), `${rule.alert ?? rule.record ?? ''}: ${name}`).toBe(true);
      }
    }
  });

  it('have unit tests where every alert fires once and stays quiet once, and every recording rule is evaluated', () => {
    expect(unitTests.rule_files).toEqual(['procmetrics.rules.yml']);
    const alertCases = unitTests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of alerts) {
      const cases = alertCases.filter((c) => c.alertname === rule.alert);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert} stays quiet in a test`,
      ).toBe(true);
    }
    const exprCases = unitTests.tests.flatMap((test) => test.promql_expr_test ?? []);
    for (const rule of records) {
      expect(
        exprCases.some((c) => c.expr === rule.record && (c.exp_samples ?? []).length > 0),
        `${rule.record} is evaluated`,
      ).toBe(true);
    }
  });
});

describe.skipIf(!requireBinaries(['promtool'], 'example rules under promtool'))('example rules under promtool', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', rulesFile);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their unit tests (promtool test rules)', () => {
    const { status, output } = promtool('test', 'rules', testsFile);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('are loaded by examples/prometheus.yml', () => {
    const { status, output } = promtool('check', 'config', `${examples}prometheus.yml`);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});
