/** `procmetrics --help`: one screen, 80 columns. The README has the long form. */
export const HELP = `Usage:
  procmetrics watch --service NAME=TARGET... [options]   follow running processes
  procmetrics run [run options] [options] -- COMMAND [ARGS...]   start and supervise
  procmetrics demo [options]                             three sample workloads

TARGET:  PID | pidfile:PATH (re-read every interval) | match:REGEX (the oldest
         process whose command line matches, never procmetrics itself)

Options:
  -s, --service NAME=TARGET  a process to watch (repeatable)
  -i, --interval DURATION    time between samples: 500ms, 5s, 1m (default 5s)
      --prometheus [HOST:]PORT|off  /metrics endpoint (default 127.0.0.1:9464)
      --otlp URL|off         OTLP gRPC push (default: from OTEL_EXPORTER_OTLP_*)
      --json                 one JSON line per snapshot on stdout
      --once                 watch: sample every target once, print, exit
  -c, --config FILE          JSON with services and options; flags win
  -h, --help                 this text
  -V, --version              the version

Run options:
  -n, --name NAME            service name (default: the command's basename)
      --restart POLICY       never | on-failure | always (default never)
      --health-cmd CMD       health check, split into words without a shell
      --health-interval DUR  time between health checks (default 10s)

On a terminal the view is a live table; otherwise one line per snapshot.
Exit: 0 ok or stopped by a signal; 1 a target does not exist; 2 bad input;
run: the command's own code (128+N when signal N ended it, 127 not found).
`;
