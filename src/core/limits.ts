/**
 * Every bound and default a caller can meet, in one place. The library's
 * validators (validate.ts), the command's flags, its config file and the
 * telemetry options all read them from here, so a rule changes once.
 *
 * Where the library and the command differ, both rules are named here and the
 * reason is given: the library is called by code, which may have its own
 * naming and pacing; the command is typed by people into a shell.
 *
 * Tuning constants that no caller sees (cache sizes, chunk sizes) stay beside
 * the code they tune.
 */

// Service names.

/** Longest service name the library accepts, in characters (code points). */
export const MAX_SERVICE_NAME_LENGTH = 256;

/** Most extra labels one service carries (`TrackOptions.labels`, `--label`). */
export const MAX_SERVICE_LABELS = 8;

/** Longest label value, in characters (code points); the same bound as a service name. */
export const MAX_LABEL_VALUE_LENGTH = 256;

/**
 * Service names given to the command (`--service NAME=...`, `--name`, the
 * config file). Narrower than the library's rule on purpose: such a name is
 * typed in a shell, becomes part of the directory name of `run`'s cgroup and
 * of a terminal column, so it is kept to characters that need no quoting
 * anywhere. Every name it accepts is also a valid library name.
 */
export const COMMAND_SERVICE_NAME = {
  pattern: /^[A-Za-z0-9_.-]{1,64}$/,
  describe: '1-64 of A-Z a-z 0-9 _ . -',
} as const;

// Intervals and durations, ms.

/** Time between samples when none is given, library and command alike. */
export const DEFAULT_INTERVAL_MS = 5000;

/** The command's demo is watched by a person: a livelier default. */
export const DEMO_INTERVAL_MS = 1000;

/** Time between health checks of `run --health-cmd` when none is given. */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;

/** The longest delay Node's timers honour (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Durations typed for the command (`--interval`, `--health-interval`, the
 * config file's `interval`): 100 ms to 24 h. Narrower than the library's
 * (0, MAX_TIMER_MS] on purpose: below 100 ms a sample costs more than it tells
 * and a slip (`1ms` for `1m`) would keep a core busy; above a day a timer is
 * no longer a schedule. Code that paces the tracker itself (tests, embedders)
 * keeps the full range.
 */
export const COMMAND_DURATION_MS = { min: 100, max: 24 * 3_600_000 } as const;

// Subscribers.

/** Snapshots a subscription buffers before it drops the oldest, by default. */
export const DEFAULT_SUBSCRIPTION_BUFFER = 64;

/** Subscriptions open at once on one tracker, by default. */
export const DEFAULT_MAX_SUBSCRIBERS = 64;

// Targets.

/** Longest cgroup path accepted, characters (PATH_MAX). */
export const MAX_CGROUP_PATH_LENGTH = 4096;

/** Longest `match:` regular expression, characters. */
export const MAX_PATTERN_LENGTH = 1024;

/** Largest count in a `match:` pattern's `{n,m}`, which the linear-time engine unrolls. */
export const MAX_PATTERN_REPEAT = 16;

/** Longest `run` command (and `--health-cmd`) given as one string, characters. */
export const MAX_COMMAND_LENGTH = 4096;

// Files the command reads.

/** A config file larger than this is refused unread. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

/** A pid file holds a number; more than this is not one. */
export const PID_FILE_MAX_BYTES = 64;

/** A process's command line is read up to this many bytes for `match:`. */
export const COMMAND_LINE_MAX_BYTES = 4096;

// Telemetry.

/** Longest OTLP endpoint URL accepted by the command. */
export const MAX_URL_LENGTH = 2048;

/** What the Prometheus endpoint holds for its clients; the timeouts are the defaults of `prometheus.*TimeoutMs`. */
export const ENDPOINT_LIMITS = {
  /**
   * Connections held at once; past it the oldest one with no request in flight
   * is closed, if it is older than `graceMs`, else the new one.
   */
  maxConnections: 256,
  /** A connection this new is never closed to make room: its request may be on its way, ms. */
  graceMs: 250,
  /** A connection with no request in flight is closed after this long, ms. */
  idleTimeoutMs: 15_000,
  /** Time to receive a request's headers, ms. */
  headersTimeoutMs: 5_000,
  /** Time to receive a whole request, ms. */
  requestTimeoutMs: 10_000,
} as const;

/** OTLP export interval and timeout when neither an option nor OTEL_METRIC_EXPORT_* gives one, ms (the OTel defaults). */
export const DEFAULT_OTLP_EXPORT = { intervalMs: 60_000, timeoutMs: 30_000 } as const;

// Process groups (discovery rules).

/** Groups a discovery pass reports at most, by default; the rest are summed into the overflow group. */
export const DEFAULT_MAX_GROUPS = 200;

/** Name of the group that sums the groups beyond the bound, by default. */
export const DEFAULT_OVERFLOW_GROUP_NAME = 'other';

/** Rules in one rule set. */
export const MAX_GROUP_RULES = 256;

/** Longest name or label template, characters. */
export const MAX_GROUP_TEMPLATE_LENGTH = 1024;

/** Extra labels one rule may carry: each one multiplies nothing but adds to every series of its groups. */
export const MAX_GROUP_LABELS = 8;

/** Longest rendered label value, characters (code points); longer values are cut. */
export const MAX_GROUP_LABEL_VALUE_LENGTH = 256;

/** The most groups `--max-groups` (and `maxGroups`) may ask for: each group is a service, and its series cost. */
export const MAX_GROUPS_LIMIT = 100_000;

// The snapshot stream and the live page (`snapshotStream`, GET /events and / of the metrics port).

/** What the snapshot stream holds for its clients, by default. */
export const STREAM_LIMITS = {
  /**
   * Stream clients at once; past it a 503. Half the endpoint's connections, so
   * that scrapes always find room beside a full house of streams.
   */
  maxClients: 128,
  /** Events held for one client that reads slower than they come, before the oldest is dropped. */
  bufferSize: 1024,
  /** A comment line is sent this often, ms: well inside the endpoint's idle timeout. */
  heartbeatMs: 5_000,
  /** A client whose connection has taken nothing for this long is closed, ms. */
  stallTimeoutMs: 30_000,
  /**
   * The least time between two writes of events to a client, ms: a write costs
   * far more than its bytes, and two seconds still reads as live on a page.
   */
  flushIntervalMs: 2_000,
} as const;
