import type { ProcessMetrics } from '../../core/metrics.js';
import { formatDuration } from '../options/duration.js';
import { formatBytes, formatCount, formatHealth, formatPercent } from './format.js';

/** One snapshot as a JSON line, every field as the library reports it (units in ProcessMetrics). */
export function formatJsonLine(snapshot: ProcessMetrics): string {
  return JSON.stringify(snapshot);
}

/**
 * One snapshot as a human-readable line of `key=value` pairs, easy to grep:
 * `2024-05-01T10:00:00.000Z api pid=42 state=running health=ok cpu=25.1% rss=48.0MiB ...`
 */
export function formatPlainLine(snapshot: ProcessMetrics): string {
  const up = snapshot.pid > 0;
  const fields = [
    new Date(snapshot.timestamp).toISOString(),
    snapshot.serviceName,
    `pid=${up ? snapshot.pid : '-'}`,
    `state=${snapshot.state}`,
    `health=${formatHealth(snapshot.healthy, up)}`,
    `cpu=${up ? `${formatPercent(snapshot.cpu.usagePercent)}%` : '-'}`,
    `rss=${up ? formatBytes(snapshot.memory.rss).replace(' ', '') : '-'}`,
    ...(up && snapshot.cgroup?.memoryLimitBytes != null ? [`limit=${formatBytes(snapshot.cgroup.memoryLimitBytes).replace(' ', '')}`] : []),
    `threads=${formatCount(snapshot.numThreads, up)}`,
    `fds=${formatCount(snapshot.numFDs, up)}`,
    `uptime=${up ? formatDuration(snapshot.uptime) : '-'}`,
    `restarts=${snapshot.restartCount}`,
  ];
  if (snapshot.oomKills > 0) fields.push(`oom_kills=${snapshot.oomKills}`);
  if (snapshot.healthRestarts > 0) fields.push(`health_restarts=${snapshot.healthRestarts}`);
  if (snapshot.lastError !== '') fields.push(`error=${JSON.stringify(snapshot.lastError)}`);
  if (snapshot.healthError !== '') fields.push(`health_error=${JSON.stringify(snapshot.healthError)}`);
  return fields.join(' ');
}
