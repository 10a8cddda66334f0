/** Cell formatting shared by the table and the plain lines. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `512 B`, `1.5 KiB`, `148.2 MiB`: binary units, one decimal above bytes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit] ?? ''}`;
}

/** Percent of one core with one decimal: `25.3`. */
export function formatPercent(percent: number): string {
  return Number.isFinite(percent) ? percent.toFixed(1) : '-';
}

/** A count that may be unknown (null) or meaningless (no process). */
export function formatCount(value: number | null, running: boolean): string {
  if (!running) return '-';
  return value === null ? '?' : String(value);
}

export function formatHealth(healthy: boolean, running: boolean): string {
  if (!running) return '-';
  return healthy ? 'ok' : 'unhealthy';
}
