import { describe, expect, it } from 'vitest';
import { buildCommand, parseCommandLine, type Command } from '../../src/cli/options/args.js';
import { parseConfigFile } from '../../src/cli/options/config-file.js';
import { UsageError } from '../../src/cli/options/errors.js';

function build(argv: string[], configText?: string, env: Record<string, string> = {}): Command {
  const line = parseCommandLine(argv);
  const config = configText === undefined ? undefined : parseConfigFile(configText, 'procmetrics.json');
  return buildCommand(line, config, env);
}

function watchOf(command: Command): Extract<Command, { command: 'watch' }> {
  if (command.command !== 'watch') throw new Error(`expected watch, got ${command.command}`);
  return command;
}

describe('command line', () => {
  it('watch with defaults', () => {
    const command = watchOf(build(['watch', '--service', 'api=42']));
    expect(command.options).toEqual({
      intervalMs: 5000,
      prometheus: { host: '127.0.0.1', port: 9464 },
      otlp: null,
      json: false,
      descendants: true,
      stateLabels: false,
      labels: {},
      serviceLabels: new Map(),
    });
    expect(command.once).toBe(false);
    expect(command.pm2).toBe(false);
    expect(command.services).toEqual([{ name: 'api', target: { kind: 'pid', pid: 42 } }]);
  });

  it('watch --pm2 needs no --service, may have some, and is not for --once or another command', () => {
    expect(watchOf(build(['watch', '--pm2'])).pm2).toBe(true);
    expect(watchOf(build(['watch', '--pm2', '-s', 'api=42'])).services).toEqual([{ name: 'api', target: { kind: 'pid', pid: 42 } }]);
    expect(() => build(['watch', '--pm2', '--once'])).toThrow(
      new UsageError('--once cannot be used with --pm2: PM2 apps are followed, not sampled once'),
    );
    expect(() => build(['run', '--pm2', '--', 'true'])).toThrow(new UsageError('--pm2 is not an option of run'));
    expect(() => build(['watch'])).toThrow(/--discover RULES or --pm2/);
  });

  it('shared options', () => {
    const command = watchOf(
      build([
        'watch',
        '-s',
        'a=1',
        '-s',
        'b=2',
        '-i',
        '500ms',
        '--prometheus',
        '0.0.0.0:9100',
        '--otlp',
        'http://c:4317',
        '--json',
        '--once',
        '--state-labels',
      ]),
    );
    expect(command.options).toEqual({
      intervalMs: 500,
      prometheus: { host: '0.0.0.0', port: 9100 },
      otlp: 'http://c:4317',
      json: true,
      descendants: true,
      stateLabels: true,
      labels: {},
      serviceLabels: new Map(),
    });
    expect(command.once).toBe(true);
    expect(command.services.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('--single-process tracks each service without its descendants, for watch and run only', () => {
    expect(watchOf(build(['watch', '-s', 'a=1', '--single-process'])).options.descendants).toBe(false);
    const run = build(['run', '--single-process', '--', 'sh']);
    expect(run.command === 'run' && run.options.descendants).toBe(false);
    expect(() => build(['demo', '--single-process'])).toThrow(/--single-process is not an option of demo/);
  });

  it('--prometheus PORT keeps the local host; off turns it off; [v6]:port works', () => {
    expect(watchOf(build(['watch', '-s', 'a=1', '--prometheus', '9200'])).options.prometheus).toEqual({ host: '127.0.0.1', port: 9200 });
    expect(watchOf(build(['watch', '-s', 'a=1', '--prometheus', 'off'])).options.prometheus).toBeNull();
    expect(watchOf(build(['watch', '-s', 'a=1', '--prometheus', '[::1]:9200'])).options.prometheus).toEqual({ host: '::1', port: 9200 });
  });

  it('OTLP is on without a flag only when an endpoint variable is set, and --otlp off wins', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' };
    expect(watchOf(build(['watch', '-s', 'a=1'], undefined, env)).options.otlp).toBe('env');
    expect(watchOf(build(['watch', '-s', 'a=1'], undefined, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://x:4317' })).options.otlp).toBe(
      'env',
    );
    expect(watchOf(build(['watch', '-s', 'a=1', '--otlp', 'off'], undefined, env)).options.otlp).toBeNull();
  });

  it('the standard variables apply where no flag or config key says otherwise', () => {
    const options = (argv: string[], env: Record<string, string>, config?: string) =>
      watchOf(build(['watch', '-s', 'a=1', ...argv], config, env)).options;
    const place = { OTEL_EXPORTER_PROMETHEUS_HOST: '0.0.0.0', OTEL_EXPORTER_PROMETHEUS_PORT: '9300' };
    expect(options([], place).prometheus).toEqual({ host: '0.0.0.0', port: 9300 });
    expect(options([], { OTEL_EXPORTER_PROMETHEUS_HOST: '::1' }).prometheus).toEqual({ host: '::1', port: 9464 });
    expect(options(['--prometheus', '9200'], place).prometheus).toEqual({ host: '127.0.0.1', port: 9200 });
    expect(options([], place, '{"prometheus": 9201}').prometheus).toEqual({ host: '127.0.0.1', port: 9201 });
    expect(options([], { OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' })).toMatchObject({
      prometheus: null,
      otlp: null,
    });
    expect(options([], { OTEL_METRICS_EXPORTER: 'otlp' })).toMatchObject({ prometheus: null, otlp: 'env' });
    expect(options([], { OTEL_METRICS_EXPORTER: 'prometheus,otlp' }).otlp).toBe('env');
    expect(options(['--prometheus', '9200', '--otlp', 'off'], { OTEL_METRICS_EXPORTER: 'otlp' })).toMatchObject({
      prometheus: { port: 9200 },
      otlp: null,
    });
  });

  it.each([
    [{ OTEL_EXPORTER_PROMETHEUS_PORT: '99999' }, 'OTEL_EXPORTER_PROMETHEUS_PORT "99999": expected a port 1-65535'],
    [{ OTEL_EXPORTER_PROMETHEUS_PORT: 'http' }, 'OTEL_EXPORTER_PROMETHEUS_PORT "http"'],
    [{ OTEL_EXPORTER_PROMETHEUS_HOST: 'a b' }, 'OTEL_EXPORTER_PROMETHEUS_HOST "a b": expected a host name'],
    [{ OTEL_METRICS_EXPORTER: 'console' }, 'OTEL_METRICS_EXPORTER "console": console is not available here'],
    [{ OTEL_METRICS_EXPORTER: 'statsd' }, 'OTEL_METRICS_EXPORTER'],
  ])('a bad variable %j is a usage error naming it', (env, message) => {
    expect(() => build(['watch', '-s', 'a=1'], undefined, env)).toThrow(UsageError);
    expect(() => build(['watch', '-s', 'a=1'], undefined, env)).toThrow(message);
  });

  it('run: the command after --, policy, health', () => {
    const command = build([
      'run',
      '--name',
      'api',
      '--restart',
      'on-failure',
      '--health-cmd',
      "curl -fsS 'http://localhost/health'",
      '--health-interval',
      '2s',
      '--',
      'node',
      'server.js',
      '--port',
      '8080',
    ]);
    expect(command).toMatchObject({
      command: 'run',
      spec: {
        name: 'api',
        command: 'node',
        args: ['server.js', '--port', '8080'],
        restart: 'on-failure',
        health: { argv: ['curl', '-fsS', 'http://localhost/health'], intervalMs: 2000 },
      },
    });
  });

  it('run: the name defaults to the command basename, health and restart to off', () => {
    expect(build(['run', '--', '/usr/bin/sleep', '10'])).toMatchObject({
      spec: { name: 'sleep', restart: 'never', health: null },
    });
  });

  it('help, version, demo', () => {
    expect(build(['--help'])).toEqual({ command: 'help' });
    expect(build(['watch', '-h'])).toEqual({ command: 'help' });
    expect(build(['help'])).toEqual({ command: 'help' });
    expect(build(['--version'])).toEqual({ command: 'version' });
    expect(build(['demo', '-i', '1s'])).toMatchObject({ command: 'demo', options: { intervalMs: 1000 } });
  });

  it.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['watch', '--bogus'], 'unknown option --bogus'],
    [['watch', '-s'], '--service needs a value'],
    [['watch', '--json=yes', '-s', 'a=1'], '--json takes no value'],
    [['watch'], 'at least one --service'],
    [['watch', '-s', 'a=1', '-s', 'a=2'], 'duplicate service name "a"'],
    [['watch', '-s', 'a=1', '--interval', '5'], '--interval "5": not a duration'],
    [['watch', '-s', 'a=1', '--interval', '0s'], '--interval "0s": must be between 100ms and 24h'],
    [['watch', '-s', 'a=1', '--prometheus', '70000'], '--prometheus "70000"'],
    [['watch', '-s', 'a=1', '--prometheus', 'localhost'], '--prometheus "localhost"'],
    [['watch', '-s', 'a=1', '--otlp', 'nope'], '--otlp "nope": not a URL'],
    [['watch', '-s', 'a=1', '--otlp', 'ftp://x'], '--otlp "ftp://x"'],
    [['watch', '-s', 'a=1', '--restart', 'always'], '--restart is not an option of watch'],
    [['watch', '-s', 'a=1', 'extra'], 'unexpected argument "extra"'],
    [['run', '--once', '--', 'x'], '--once is not an option of run'],
    [['run'], 'run needs a command after --'],
    [['run', 'sleep', '1'], 'put the command after --'],
    [['run', '--restart', 'sometimes', '--', 'x'], '--restart "sometimes"'],
    [['run', '--health-interval', '1s', '--', 'x'], 'needs --health-cmd'],
    [['run', '--health-cmd', "echo 'x", '--', 'x'], "unclosed ' quote"],
    [['run', '--name', 'a b', '--', 'x'], '--name "a b"'],
    [['demo', '-s', 'a=1'], '--service is not an option of demo'],
  ])('%j -> %s', (argv, message) => {
    expect(() => build(argv)).toThrow(UsageError);
    expect(() => build(argv)).toThrow(message);
  });
});

describe('config file', () => {
  const config = JSON.stringify({
    interval: '2s',
    prometheus: 9300,
    json: true,
    'state-labels': true,
    services: { api: 'pidfile:/run/api.pid', db: 4242, worker: 'match:worker\\.js' },
  });

  it('supplies services and options', () => {
    const command = watchOf(build(['watch', '--config', 'x.json'], config));
    expect(command.options).toEqual({
      intervalMs: 2000,
      prometheus: { host: '127.0.0.1', port: 9300 },
      otlp: null,
      json: true,
      descendants: true,
      stateLabels: true,
      labels: {},
      serviceLabels: new Map(),
    });
    expect(command.services.map((s) => s.name)).toEqual(['api', 'db', 'worker']);
  });

  it('gives labels to every service, a service its own over them, and --label wins label by label', () => {
    const file = JSON.stringify({
      labels: { team: 'core', tier: '2' },
      services: { api: { target: 'pidfile:/run/api.pid', labels: { tier: '1' } }, db: 4242 },
    });
    const command = watchOf(build(['watch', '-c', 'x.json', '--label', 'team=payments', '--label', 'zone=a'], file));
    expect(command.options.labels).toEqual({ team: 'payments', tier: '2', zone: 'a' });
    expect(command.options.serviceLabels.get('api')).toEqual({ team: 'payments', tier: '1', zone: 'a' });
    expect(command.options.serviceLabels.get('db')).toBeUndefined();
    expect(command.services.map((s) => s.target)).toEqual([
      { kind: 'pidfile', path: '/run/api.pid' },
      { kind: 'pid', pid: 4242 },
    ]);
  });

  it.each([
    [{ labels: 'team=a' }, /"labels" must be an object/],
    [{ labels: { 'team.x': 'a' } }, /label names must match/],
    [{ labels: { service_name: 'a' } }, /"service_name" is one procmetrics emits itself/],
    [{ services: { api: { target: '1', labels: { team: 1 } } } }, /"services"\.api\.labels\.team must be a string/],
    [{ services: { api: { target: '1', label: {} } } }, /"services"\.api: unknown key "label"/],
  ])('refuses bad labels in the file: %j', (data, message) => {
    expect(() => parseConfigFile(JSON.stringify(data), 'x.json')).toThrow(message);
  });

  it('loses to the flags: options and same-named services', () => {
    const command = watchOf(build(['watch', '-c', 'x.json', '-i', '1s', '--prometheus', 'off', '-s', 'db=99'], config));
    expect(command.options.intervalMs).toBe(1000);
    expect(command.options.prometheus).toBeNull();
    expect(command.options.json).toBe(true);
    expect(command.services).toContainEqual({ name: 'db', target: { kind: 'pid', pid: 99 } });
    expect(command.services.filter((s) => s.name === 'db')).toHaveLength(1);
  });

  it.each([
    ['{', 'not valid JSON'],
    ['[]', 'expected a JSON object'],
    ['{"intervall": "5s"}', 'unknown key "intervall"'],
    ['{"interval": 5}', '"interval": expected a string'],
    ['{"interval": "5"}', 'not a duration'],
    ['{"json": "yes"}', '"json": expected true or false'],
    ['{"state-labels": "on"}', '"state-labels": expected true or false'],
    ['{"prometheus": "x:y"}', '"prometheus"'],
    ['{"services": ["api=1"]}', '"services": expected an object'],
    ['{"services": {"api": "abc"}}', 'pid "abc" is not a process id'],
    ['{"services": {"a b": 1}}', 'service name "a b"'],
    ['{"services": {"api": "match:("}}', 'invalid regular expression'],
  ])('%s -> %s, naming the file', (text, message) => {
    expect(() => build(['watch', '-s', 'x=1', '-c', 'procmetrics.json'], text)).toThrow(message);
    expect(() => build(['watch', '-s', 'x=1', '-c', 'procmetrics.json'], text)).toThrow('--config "procmetrics.json"');
  });

  it('services are for watch only', () => {
    expect(() => build(['run', '-c', 'x.json', '--', 'x'], config)).toThrow('"services" is only used by watch');
  });
});

describe('config file for run', () => {
  const runConfig = JSON.stringify({
    name: 'api',
    restart: 'on-failure',
    'health-cmd': "curl -fsS 'http://x/health'",
    'health-interval': '2s',
  });
  const runOf = (command: Command) => {
    if (command.command !== 'run') throw new Error(`expected run, got ${command.command}`);
    return command.spec;
  };

  it('supplies name, restart policy, health command and interval', () => {
    expect(runOf(build(['run', '-c', 'x.json', '--', 'node', 's.js'], runConfig))).toEqual({
      name: 'api',
      command: 'node',
      args: ['s.js'],
      restart: 'on-failure',
      health: { argv: ['curl', '-fsS', 'http://x/health'], intervalMs: 2000 },
      backoff: { initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 },
    });
  });

  it('loses to the flags, key by key', () => {
    const spec = runOf(build(['run', '-c', 'x.json', '-n', 'web', '--health-interval', '3s', '--', 'node'], runConfig));
    expect(spec).toMatchObject({
      name: 'web',
      restart: 'on-failure',
      health: { argv: ['curl', '-fsS', 'http://x/health'], intervalMs: 3000 },
    });
    const flagCmd = runOf(build(['run', '-c', 'x.json', '--health-cmd', 'true', '--', 'node'], runConfig));
    expect(flagCmd.health).toEqual({ argv: ['true'], intervalMs: 2000 });
  });

  it.each([
    ['{"name": "a b"}', '"name" "a b": service name "a b" must be 1-64 of'],
    ['{"name": 5}', '"name": expected a string'],
    ['{"restart": "maybe"}', '"restart" "maybe": expected never, on-failure or always'],
    ['{"health-cmd": "x \\"unclosed"}', '"health-cmd"'],
    ['{"health-cmd": "x", "health-interval": "50ms"}', '"health-interval" "50ms"'],
    ['{"health-interval": "5s"}', '"health-interval": needs --health-cmd'],
  ])('%s -> %s, checked as the flag is', (text, message) => {
    expect(() => build(['run', '-c', 'procmetrics.json', '--', 'x'], text)).toThrow(message);
    expect(() => build(['run', '-c', 'procmetrics.json', '--', 'x'], text)).toThrow('--config "procmetrics.json"');
  });

  it('the same limits as the flags: a health command over 4096 characters is refused both ways', () => {
    const long = `x ${'a'.repeat(5000)}`;
    const fromFlag = () => build(['run', '--health-cmd', long, '--', 'x']);
    const fromFile = () => build(['run', '-c', 'p.json', '--', 'x'], JSON.stringify({ 'health-cmd': long }));
    expect(fromFlag).toThrow(/4096/);
    expect(fromFile).toThrow(/4096/);
  });

  it('supplies the restart policy, the backoff and the limits, numbers or text alike', () => {
    const text = JSON.stringify({
      restart: 'always',
      'max-restarts': 4,
      'restart-window': '1m',
      'backoff-initial': '1s',
      'backoff-max': '8s',
      'backoff-reset': '30s',
      'health-cmd': 'true',
      'health-failures': 3,
      'memory-max': '64M',
      'cpu-max': 0.5,
    });
    expect(runOf(build(['run', '-c', 'x.json', '--', 'node'], text))).toMatchObject({
      restartLimit: { max: 4, windowMs: 60_000 },
      backoff: { initialMs: 1000, maxMs: 8000, resetAfterMs: 30_000 },
      health: { failuresToRestart: 3 },
      limits: { memoryBytes: 64 * 2 ** 20, cpuCores: 0.5 },
    });
    // Flags still win key by key.
    const spec = runOf(build(['run', '-c', 'x.json', '--max-restarts', '2', '--memory-max', '1G', '--', 'node'], text));
    expect(spec.restartLimit).toEqual({ max: 2, windowMs: 60_000 });
    expect(spec.limits).toEqual({ memoryBytes: 2 ** 30, cpuCores: 0.5 });
  });

  it('run keys are for run only', () => {
    expect(() => build(['watch', '-s', 'a=1', '-c', 'x.json'], '{"max-restarts": 3}')).toThrow('"max-restarts" is only used by run');
    expect(() => build(['watch', '-s', 'a=1', '-c', 'x.json'], '{"restart": "always"}')).toThrow('"restart" is only used by run');
    expect(() => build(['demo', '-c', 'x.json'], '{"health-cmd": "true"}')).toThrow('"health-cmd" is only used by run');
  });
});

describe('run: restart policy, backoff and limits', () => {
  const specOf = (args: string[]) => {
    const command = build(['run', ...args, '--', 'server']);
    if (command.command !== 'run') throw new Error('expected run');
    return command.spec;
  };

  it('has no limit, the usual backoff and no limits by default', () => {
    const spec = specOf([]);
    expect(spec.restartLimit).toBeUndefined();
    expect(spec.limits).toBeUndefined();
    expect(spec.backoff).toEqual({ initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 });
  });

  it('--max-restarts counts within a 5 minute window unless --restart-window says otherwise', () => {
    expect(specOf(['--restart', 'on-failure', '--max-restarts', '3']).restartLimit).toEqual({ max: 3, windowMs: 300_000 });
    expect(specOf(['--restart', 'always', '--max-restarts', '0', '--restart-window', '10s']).restartLimit).toEqual({
      max: 0,
      windowMs: 10_000,
    });
    expect(specOf(['--health-cmd', 'true', '--health-failures', '2', '--max-restarts', '1']).restartLimit?.max).toBe(1);
  });

  it('reads sizes in powers of 1024 and cores as decimals', () => {
    expect(specOf(['--memory-max', '64M']).limits).toEqual({ memoryBytes: 67_108_864, cpuCores: null });
    expect(specOf(['--memory-max', '1.5GiB']).limits?.memoryBytes).toBe(1.5 * 2 ** 30);
    expect(specOf(['--memory-max', '2097152']).limits?.memoryBytes).toBe(2_097_152);
  });

  it.each([
    [['--max-restarts', '3'], '--max-restarts "3": needs something that restarts'],
    [['--restart', 'always', '--max-restarts=-1'], '--max-restarts "-1": must be a whole number from 0 to 1000000'],
    [['--restart', 'always', '--max-restarts', '2.5'], '--max-restarts "2.5": must be a whole number'],
    [['--restart-window', '1m'], '--restart-window "1m": needs --max-restarts'],
    [['--health-failures', '3'], '--health-failures "3": needs --health-cmd'],
    [['--health-cmd', 'true', '--health-failures', '0'], '--health-failures "0": must be a whole number from 1 to 1000'],
    [['--backoff-initial', '40s'], '--backoff-initial "40s": the first delay (40000 ms) exceeds the longest (30000 ms)'],
    [['--backoff-max', '100ms'], '--backoff-max "100ms": the first delay (500 ms) exceeds the longest (100 ms)'],
    [['--backoff-reset', '5'], '--backoff-reset "5": not a duration'],
    [['--memory-max', '512K'], '--memory-max "512K": expected a size of at least 1M'],
    [['--memory-max', 'lots'], '--memory-max "lots": expected a size'],
    [['--cpu-max', '0'], '--cpu-max "0": expected a number of cores from 0.01 to 4096'],
    [['--cpu-max', '50%'], '--cpu-max "50%": expected a number of cores'],
  ])('%j is refused: %s', (args, message) => {
    expect(() => specOf(args)).toThrow(message);
  });

  it("the new flags are run's only", () => {
    expect(() => build(['watch', '-s', 'a=1', '--memory-max', '64M'])).toThrow('--memory-max is not an option of watch');
  });
});
