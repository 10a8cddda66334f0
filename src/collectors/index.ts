export * from './procfs/index.js';
export { ProcfsCollector, DEFAULT_CHUNK_SIZE } from './procfs-collector.js';
export type { ProcfsCollectorOptions, ProcfsFields } from './procfs-collector.js';
export { PidusageCollector } from './pidusage.js';
export type { PidusageCollectorOptions } from './pidusage.js';
export { defaultCollector } from './default.js';
export type { DefaultCollectorOptions } from './default.js';
export { availableCpus } from './cpus.js';
export { HostRoot } from './procfs/host-root.js';
