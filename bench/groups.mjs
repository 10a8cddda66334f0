// Cost of one grouping pass: 10,000 processes (synthetic facts, as the /proc
// reader would give them) through 10 rules, ten of them process-exporter
// style. Reports the median and worst of 50 passes over the same processes
// (the collector's steady state) and one first pass on fresh rules, ms.
import { assignGroups, compileGroupRules } from '../dist/collectors/groups/index.js';

const COMMS = ['nginx', 'postgres', 'java', 'python3', 'node', 'bash', 'sshd', 'cron', 'systemd', 'containerd', 'kworker', 'sleep'];
const facts = [];
for (let pid = 1; pid <= 10_000; pid++) {
  const comm = COMMS[pid % COMMS.length];
  facts.push({
    pid,
    ppid: pid <= 100 ? 1 : 1 + (pid % 100),
    startTicks: pid,
    comm,
    exe: `/usr/bin/${comm}`,
    argv: [`/usr/bin/${comm}`, '--config', `/etc/${comm}/site-${pid % 200}.conf`, '--workers', '4'],
    uid: pid % 3,
    user: ['root', 'www-data', 'postgres'][pid % 3],
    cgroup: `/system.slice/${comm}-${pid % 200}.service`,
  });
}
const ruleSource = [
  { name: 'web-{{.Matches.site}}', comm: ['nginx'], cmdline: ['site-(?<site>\\d+)'] },
  { name: 'db', exe: ['postgres'] },
  { name: 'jvm:{{.Username}}', exe: ['/usr/bin/java'] },
  { name: 'py-{{.Matches.site}}', comm: ['python3'], cmdline: ['--config', 'site-(?P<site>\\d+)\\.conf'] },
  { name: '{{.Unit}}', cgroup: '^/system\\.slice/node-' },
  { name: 'shells', comm: ['bash', 'zsh', 'sh'] },
  { name: 'ssh', comm: ['sshd'], children: false },
  { name: 'cron', user: ['root'], comm: ['cron'] },
  { name: 'kernel', comm: ['kworker', 'kthreadd'] },
  { name: '{{.Comm}}', cmdline: ['.+'] },
];
const rules = compileGroupRules(ruleSource);

let start = process.hrtime.bigint();
assignGroups(facts, compileGroupRules(ruleSource), { maxGroups: 200 });
const cold = Number(process.hrtime.bigint() - start) / 1e6;
const times = [];
let groups = 0;
for (let run = 0; run < 60; run++) {
  start = process.hrtime.bigint();
  groups = assignGroups(facts, rules, { maxGroups: 200 }).length;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run >= 10) times.push(ms); // the first passes warm the JIT up
}
times.sort((a, b) => a - b);
console.log(
  `assignGroups: ${facts.length} processes, ${rules.rules.length} rules, ${groups} groups: ` +
    `median ${times[times.length >> 1].toFixed(2)} ms, worst ${times[times.length - 1].toFixed(2)} ms (${times.length} passes); first pass on fresh rules (empty cache) ${cold.toFixed(2)} ms`,
);
