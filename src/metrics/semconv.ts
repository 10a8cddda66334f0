/**
 * The OpenTelemetry semantic-convention names we emit (OS process metrics,
 * semconv v1.45). A local copy on purpose: the constants live in the
 * `incubating` entry point of @opentelemetry/semantic-conventions, which the
 * OTel JS docs advise libraries not to import because it changes between
 * minor versions.
 */

export const METRIC_PROCESS_CPU_TIME = 'process.cpu.time';
export const METRIC_PROCESS_CPU_UTILIZATION = 'process.cpu.utilization';
export const METRIC_PROCESS_MEMORY_USAGE = 'process.memory.usage';
export const METRIC_PROCESS_MEMORY_VIRTUAL = 'process.memory.virtual';
export const METRIC_PROCESS_DISK_IO = 'process.disk.io';
export const METRIC_PROCESS_THREAD_COUNT = 'process.thread.count';
export const METRIC_PROCESS_UNIX_FILE_DESCRIPTOR_COUNT = 'process.unix.file_descriptor.count';
export const METRIC_PROCESS_CONTEXT_SWITCHES = 'process.context_switches';
export const METRIC_PROCESS_PAGING_FAULTS = 'process.paging.faults';
export const METRIC_PROCESS_UPTIME = 'process.uptime';

export const ATTR_SERVICE_NAME = 'service.name';
export const ATTR_CPU_MODE = 'cpu.mode';
export const ATTR_DISK_IO_DIRECTION = 'disk.io.direction';
export const ATTR_PROCESS_CONTEXT_SWITCH_TYPE = 'process.context_switch.type';
export const ATTR_SYSTEM_PAGING_FAULT_TYPE = 'system.paging.fault.type';
export const ATTR_ERROR_TYPE = 'error.type';

/**
 * Our own attribute names, under the project's namespace: the supervisor's
 * view of a service, which the conventions have no word for. (The
 * conventions' `process.state` is the OS scheduler state, something else.)
 */
export const ATTR_PROCMETRICS_STATE = 'procmetrics.state';
export const ATTR_PROCMETRICS_HEALTHY = 'procmetrics.healthy';
/** Which exporter of a pipeline: `prometheus`, `otlp`, `console`. */
export const ATTR_PROCMETRICS_EXPORTER = 'procmetrics.exporter';
/** Which stall a pressure figure counts: `some` (a task waited) or `full` (all non-idle tasks waited). */
export const ATTR_PROCMETRICS_PRESSURE_SCOPE = 'procmetrics.pressure.scope';
