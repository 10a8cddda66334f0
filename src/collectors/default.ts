import { accessSync, constants } from 'node:fs';
import type { Collector } from '../core/collector-port.js';
import { validateOptions } from '../core/validate.js';
import { PidusageCollector } from './pidusage.js';
import { ProcfsCollector } from './procfs-collector.js';
import type { ProcfsCollectorOptions } from './procfs-collector.js';
import { HostRoot } from './procfs/host-root.js';

/** Options for the collector `defaultCollector` picks; procfs options apply on Linux only. */
export type DefaultCollectorOptions = ProcfsCollectorOptions;

function procfsReadable(): boolean {
  try {
    accessSync(HostRoot.live.pid('self', 'stat'), constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The best collector for this platform: /proc on Linux (when /proc is mounted
 * and readable, which some sandboxes prevent), pidusage everywhere else.
 * An explicit `procRoot` always selects the /proc collector.
 */
export function defaultCollector(options: DefaultCollectorOptions = {}): Collector {
  validateOptions(options, 'options');
  if (options.procRoot !== undefined || (process.platform === 'linux' && procfsReadable())) {
    return new ProcfsCollector(options);
  }
  return new PidusageCollector();
}
