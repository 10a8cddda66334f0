/** `procmetrics --help`: one screen, 80 columns. The README has the long form. */
export const HELP = `Usage:
  procmetrics watch -s NAME=TARGET... [options]   follow running processes
  procmetrics watch --discover RULES [options]    every process, in groups
  procmetrics watch --pm2 [options]               every app of a PM2 daemon
  procmetrics run [options] -- COMMAND [ARGS...]  start and supervise a command
  procmetrics demo [options]                      three sample workloads
  procmetrics top URL [--json]                    the live table of another
                                                  procmetrics, from its port

TARGET   PID | pidfile:PATH (re-read every interval) | match:REGEX (the oldest
         process whose command line matches; never procmetrics itself) |
         cgroup:PATH (a cgroup, e.g. cgroup:/system.slice/api.service) |
         group:REGEX (every process whose command line matches, and their
         children, as one service)

Options:
  -s, --service NAME=TARGET   watch: a process to follow (repeatable)
  -i, --interval DURATION     time between samples, e.g. 500ms, 5s, 1m
                              (default 5s; demo 1s)
      --prometheus ADDR|off   /metrics, a live page (/) and its event stream
                              (/events) on [HOST:]PORT (default 127.0.0.1:9464,
                              or OTEL_EXPORTER_PROMETHEUS_HOST/_PORT)
      --otlp URL|off          OTLP push, gRPC or OTEL_EXPORTER_OTLP_PROTOCOL
                              (default: OTEL_EXPORTER_OTLP_*ENDPOINT)
      --json                  one JSON line per snapshot on stdout (top too)
      --state-labels          also label process gauges with state and health
                              (a health flip then restarts for: on them)
      --label KEY=VALUE       an extra label on every series of every service
                              (repeatable; at most 8)
      --discover FILE         watch: group every process on the host by the
                              rules of a process-exporter config (YAML)
      --max-groups N          watch: at most N groups, the rest summed into
                              one named other (default 200)
      --pm2                   watch: every app of the PM2 daemon at PM2_HOME
                              (default ~/.pm2), as PM2 names and counts it
      --once                  watch: sample every target once, print, exit
      --single-process        watch, run: the process alone, not its children
  -c, --config FILE           JSON with services and options; flags win
  -n, --name NAME             run: service name (default: command basename)
      --restart POLICY        run: never | on-failure | always (default never)
      --health-cmd CMD        run: health check, split into words, no shell
      --health-interval DUR   run: time between health checks (default 10s)
      --health-failures N     run: restart after N failed checks in a row
      --max-restarts N        run: after N restarts within the window, stay
                              failed and exit (default: no limit)
      --restart-window DUR    run: the window of --max-restarts (default 5m)
      --backoff-initial DUR   run: first restart delay, doubling (default 500ms)
      --backoff-max DUR       run: longest restart delay (default 30s)
      --backoff-reset DUR     run: uptime that resets the delay (default 10s)
      --memory-max SIZE       run: memory limit of the command's cgroup (64M)
      --cpu-max CORES         run: CPU limit of the command's cgroup (0.5)
  -h, --help                  this text
  -V, --version               the version

Flags win over --config, which wins over OTEL_* variables.
On a terminal the view is a live table; otherwise one line per snapshot.
Exit: 0 done or stopped by a signal, 1 a target does not exist, 2 bad input;
run exits with the command's code (128+N if signal N ended it, 127 not found).
`;
