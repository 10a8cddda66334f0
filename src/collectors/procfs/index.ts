export { ProcfsCollector, DEFAULT_CHUNK_SIZE } from './collector.js';
export type { ProcfsCollectorOptions, ProcfsFields } from './collector.js';
export { ProcParseError } from './parseError.js';
export { parseStat, parseStatm } from './parseStat.js';
export type { ProcStat, ProcStatm } from './parseStat.js';
export { parseStatus, parseIo, parseBootTime, parseMemTotal, parseOpenFilesLimit } from './parseKeyValue.js';
export type { ProcStatus, ProcIo } from './parseKeyValue.js';
export { parseCpuListCount, parseCgroupFile, parseCpuMax, parseCfsQuota, parseMountInfo } from './parseCgroup.js';
export type { CgroupMembership, MountInfo } from './parseCgroup.js';
