/**
 * Series the dashboard and the rules use that the library does not export: they
 * belong to process-tree and cgroup targets, which it does not have.
 * Queries over them are checked for syntax only; every other dashboard query
 * must return data. Empty this list as the metrics land. The procmetrics_cgroup_*
 * queries then need the dashboard test to track a cgroup target that has a
 * memory limit and a CPU quota, or they stay empty.
 */
export const PENDING_METRICS: readonly string[] = [
  'procmetrics_service_processes',
  'procmetrics_cgroup_memory_limit_bytes',
  'procmetrics_cgroup_cpu_throttled_periods_total',
  'procmetrics_cgroup_cpu_periods_total',
];
