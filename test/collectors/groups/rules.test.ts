import { describe, expect, it } from 'vitest';
import { compileGroupRules, containerIdOfCgroup, factsNeeded, matchProcess, unitOfCgroup } from '../../../src/collectors/groups/index.js';
import { InvalidArgumentTypeError, InvalidArgumentValueError } from '../../../src/core/errors.js';
import { MAX_GROUP_LABELS } from '../../../src/core/limits.js';
import { proc } from './support.js';

const HEX = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

describe('compileGroupRules', () => {
  it('names the rule and field of a bad pattern', () => {
    expect(() =>
      compileGroupRules([
        { name: 'a', comm: ['x'] },
        { name: 'b', cmdline: ['ok', '(a'] },
      ]),
    ).toThrow(/^rules\[1\]\.cmdline\[1\]: invalid regular expression/);
    expect(() => compileGroupRules([{ name: 'a', cmdline: ['(x)\\1'] }])).toThrow(/rules\[0\]\.cmdline\[0\]: .*backreference \\1/);
    expect(() => compileGroupRules([{ name: 'a', cgroup: '(?=x)' }])).toThrow(/rules\[0\]\.cgroup: .*lookahead/);
  });

  it('refuses unsupported template constructs by name', () => {
    expect(() => compileGroupRules([{ name: '{{.Foo}}', comm: ['x'] }])).toThrow(
      /^rules\[0\]\.name: template field \.Foo is not supported; supported: \.Comm .*\.ContainerId/,
    );
    expect(() => compileGroupRules([{ name: '{{if .Comm}}x{{end}}', comm: ['x'] }])).toThrow(
      /template construct \{\{if \.Comm\}\} is not supported/,
    );
    expect(() => compileGroupRules([{ name: '{{.Comm | printf}}', comm: ['x'] }])).toThrow(InvalidArgumentValueError);
    expect(() => compileGroupRules([{ name: '{{.Comm', comm: ['x'] }])).toThrow(/without '\}\}'/);
    expect(() => compileGroupRules([{ name: '{{.Matches.nope}}', cmdline: ['(?<yes>x)'] }])).toThrow(
      /\.Matches\.nope names no capture group.*yes/,
    );
  });

  it('refuses rules without matchers, unknown fields and bad types', () => {
    expect(() => compileGroupRules([{ name: 'x' }])).toThrow(/rules\[0\] has no matcher/);
    expect(() => compileGroupRules([{ name: 'x', comm: [] }])).toThrow(/rules\[0\]\.comm must not be empty/);
    expect(() => compileGroupRules([{ name: 'x', comm: ['a'], pid: 3 } as never])).toThrow(/rules\[0\]\.pid is not a rule field/);
    expect(() => compileGroupRules([{ name: 'x', comm: 'a' } as never])).toThrow(InvalidArgumentTypeError);
    expect(() => compileGroupRules([{ name: 'x', comm: ['a'], children: 'no' } as never])).toThrow(/children must be a boolean/);
    expect(() => compileGroupRules([])).toThrow(/rules must not be empty/);
  });

  it('validates labels and bounds their number', () => {
    expect(() => compileGroupRules([{ name: 'x', comm: ['a'], labels: { __x: 'v' } }])).toThrow(
      /rules\[0\]\.labels: "__x" is not a label name/,
    );
    expect(() => compileGroupRules([{ name: 'x', comm: ['a'], labels: { '1a': 'v' } }])).toThrow(/not a label name/);
    const many = Object.fromEntries(Array.from({ length: MAX_GROUP_LABELS + 1 }, (_, i) => [`l${i}`, 'v']));
    expect(() => compileGroupRules([{ name: 'x', comm: ['a'], labels: many }])).toThrow(/at most 8/);
    expect(() => compileGroupRules([{ name: 'x', comm: ['a'], labels: { team: '{{.Bar}}' } }])).toThrow(
      /rules\[0\]\.labels\.team: template field \.Bar/,
    );
  });

  it('says which facts the rules read', () => {
    expect(factsNeeded(compileGroupRules([{ name: '{{.Comm}}', comm: ['a'] }]))).toEqual({
      exe: false,
      argv: false,
      user: false,
      cgroup: false,
    });
    expect(factsNeeded(compileGroupRules([{ name: '{{.Unit}}', cmdline: ['.'] }]))).toEqual({
      exe: false,
      argv: true,
      user: false,
      cgroup: true,
    });
    expect(factsNeeded(compileGroupRules([{ name: '{{.Username}}', exe: ['nginx'] }]))).toEqual({
      exe: true,
      argv: true,
      user: true,
      cgroup: false,
    });
    expect(factsNeeded(compileGroupRules([{ name: 'x', user: ['root'], labels: { c: '{{.ContainerId}}' } }]))).toEqual({
      exe: false,
      argv: false,
      user: true,
      cgroup: true,
    });
  });
});

describe('matchProcess', () => {
  it('matches exe by full path with a slash and by base name without', () => {
    const rules = compileGroupRules([
      { name: 'full', exe: ['/usr/sbin/nginx'] },
      { name: 'base', exe: ['nginx'] },
    ]);
    expect(matchProcess(rules, proc(1, 0, { exe: '/usr/sbin/nginx' }))?.name).toBe('full');
    expect(matchProcess(rules, proc(1, 0, { exe: '/opt/nginx' }))?.name).toBe('base');
    expect(matchProcess(rules, proc(1, 0, { exe: null, argv: ['/opt/nginx', '-g'] }))?.name).toBe('base');
    expect(matchProcess(rules, proc(1, 0, { exe: '/opt/nginx-debug' }))).toBeNull();
  });

  it('needs every matcher kind given and every cmdline pattern; first rule wins', () => {
    const rules = compileGroupRules([
      { name: 'both', comm: ['python3'], cmdline: ['manage\\.py', 'runserver'], user: ['www'] },
      { name: 'any-python', comm: ['python3'] },
    ]);
    const argv = ['python3', 'manage.py', 'runserver'];
    expect(matchProcess(rules, proc(1, 0, { comm: 'python3', argv, user: 'www' }))?.name).toBe('both');
    expect(matchProcess(rules, proc(1, 0, { comm: 'python3', argv, user: 'root' }))?.name).toBe('any-python');
    expect(matchProcess(rules, proc(1, 0, { comm: 'python3', argv: ['python3', 'manage.py'], user: 'www' }))?.rule).toBe(1);
    expect(matchProcess(rules, proc(1, 0, { comm: 'python3', argv, user: null, uid: 33 }))?.rule).toBe(1);
  });

  it('renders fields, captures and labels', () => {
    const rules = compileGroupRules([
      {
        name: '{{.Comm}}/{{ .ExeBase }}/{{.ExeFull}}/{{.Username}}/{{.PID}}/{{.StartTime}}/{{.Matches.port}}',
        cmdline: ['--port[= ](?P<port>\\d+)'],
        labels: { unit: '{{.Unit}}', container: '{{.ContainerId}}', cgroup: '{{.Cgroups}}' },
      },
    ]);
    const facts = proc(42, 1, {
      comm: 'srv',
      exe: '/opt/bin/srv',
      argv: ['srv', '--port', '8080'],
      user: 'app',
      startTicks: 777,
      cgroup: `/system.slice/docker-${HEX}.scope`,
    });
    expect(matchProcess(rules, facts)).toEqual({
      rule: 0,
      children: true,
      name: 'srv/srv//opt/bin/srv/app/42/777/8080',
      labels: { unit: `docker-${HEX}.scope`, container: HEX, cgroup: `/system.slice/docker-${HEX}.scope` },
    });
  });

  it('mends names: control characters, length, empty renderings', () => {
    const rules = compileGroupRules([{ name: '{{.Matches.x}}', cmdline: ['^(?<x>.*)$'] }]);
    expect(matchProcess(rules, proc(5, 0, { argv: ['a\u0001b'] }))?.name).toBe('a_b');
    expect(matchProcess(rules, proc(5, 0, { argv: ['é'.repeat(300)] }))?.name).toBe('é'.repeat(256));
    expect(matchProcess(rules, proc(5, 0, { argv: [''], comm: 'worker' }))?.name).toBe('worker');
    expect(matchProcess(rules, proc(5, 0, { argv: [''], comm: '' }))?.name).toBe('pid-5');
    expect(matchProcess(rules, proc(5, 0, { argv: ['\ud800x'] }))?.name).toBe('\ufffdx');
  });
});

describe('cgroup paths', () => {
  it('finds the systemd unit', () => {
    expect(unitOfCgroup('/system.slice/nginx.service')).toBe('nginx.service');
    expect(unitOfCgroup('/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service')).toBe('foo.service');
    expect(unitOfCgroup('/user.slice/user-1000.slice/session-3.scope')).toBe('session-3.scope');
    expect(unitOfCgroup('/system.slice/nginx.service/worker')).toBe('nginx.service');
    expect(unitOfCgroup('/')).toBe('');
    expect(unitOfCgroup(null)).toBe('');
  });

  it('finds container ids in the usual layouts', () => {
    expect(containerIdOfCgroup(`/system.slice/docker-${HEX}.scope`)).toBe(HEX);
    expect(containerIdOfCgroup(`/docker/${HEX}`)).toBe(HEX);
    expect(containerIdOfCgroup(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${HEX}.scope`)).toBe(
      HEX,
    );
    expect(containerIdOfCgroup(`/kubepods.slice/kubepods-pod1.slice/crio-${HEX}.scope`)).toBe(HEX);
    expect(containerIdOfCgroup(`/kubepods/burstable/pod0f1e/${HEX}`)).toBe(HEX);
    expect(containerIdOfCgroup(`/machine.slice/libpod-${HEX}.scope/container`)).toBe(HEX);
    expect(containerIdOfCgroup('/system.slice/nginx.service')).toBe('');
    expect(containerIdOfCgroup(`/docker/${HEX.toUpperCase()}`)).toBe('');
  });
});
