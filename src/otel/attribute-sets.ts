import type { Attributes } from '@opentelemetry/api';
import type { ProcessMetrics } from '../domain/metrics.js';
import { isTerminal } from '../domain/state.js';
import { ATTR_PROCESS_HEALTHY, ATTR_PROCESS_PID, ATTR_PROCESS_STATE, ATTR_SERVICE_NAME } from './semconv.js';

/** The attributes of one service's data points while its pid, state and health stay the same. */
interface ServiceSets {
  pid: number;
  state: string;
  healthy: boolean;
  /** service.name, process.pid, process.state, process.healthy; undefined without a live process. */
  perProcess: Attributes | undefined;
  /** service.name alone. */
  perService: Attributes;
}

/**
 * Attribute objects reused from one collection to the next. A scrape observes
 * some twenty data points per service; building their attribute objects anew
 * each time was a good part of a scrape's garbage. A service's sets are
 * rebuilt only when its pid, state or health changes, and sets of services no
 * longer seen are let go at the end of the collection.
 */
export class AttributeSets {
  #previous = new Map<string, ServiceSets>();
  #current = new Map<string, ServiceSets>();
  /** base object -> "attribute\0value" -> base plus that attribute. */
  readonly #variants = new WeakMap<Attributes, Map<string, Attributes>>();
  /** The base of data points with no identifying attribute (the tracker's own). */
  readonly none: Attributes = {};

  begin(): void {
    this.#current = new Map();
  }

  /** Lets go of the sets of services not seen in this collection. */
  commit(): void {
    this.#previous = this.#current;
  }

  forService(snapshot: Readonly<ProcessMetrics>): ServiceSets {
    const name = snapshot.serviceName;
    let sets = this.#current.get(name) ?? this.#previous.get(name);
    if (!sets || sets.pid !== snapshot.pid || sets.state !== snapshot.state || sets.healthy !== snapshot.healthy) {
      sets = {
        pid: snapshot.pid,
        state: snapshot.state,
        healthy: snapshot.healthy,
        perProcess: hasLiveProcess(snapshot)
          ? {
              [ATTR_SERVICE_NAME]: name,
              [ATTR_PROCESS_PID]: snapshot.pid,
              [ATTR_PROCESS_STATE]: snapshot.state,
              [ATTR_PROCESS_HEALTHY]: snapshot.healthy,
            }
          : undefined,
        perService: sets?.perService ?? { [ATTR_SERVICE_NAME]: name },
      };
    }
    this.#current.set(name, sets);
    return sets;
  }

  /** `base` plus `attribute: value`, the same object every time for the same three. */
  variant(base: Attributes, attribute: string, value: string): Attributes {
    let byValue = this.#variants.get(base);
    if (!byValue) {
      byValue = new Map();
      this.#variants.set(base, byValue);
    }
    const key = `${attribute}\u0000${value}`;
    let attributes = byValue.get(key);
    if (!attributes) {
      attributes = { ...base, [attribute]: value };
      byValue.set(key, attributes);
    }
    return attributes;
  }
}

/** A live process: its process.* series exist. Stopped, failed and pid-less services have none. */
export function hasLiveProcess(snapshot: Readonly<ProcessMetrics>): boolean {
  return snapshot.pid > 0 && !isTerminal(snapshot.state);
}
