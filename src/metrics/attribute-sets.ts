import type { Attributes } from '@opentelemetry/api';
import type { ProcessMetrics } from '../core/metrics.js';
import type { Identity } from './metric-table.js';
import { ATTR_PROCMETRICS_HEALTHY, ATTR_PROCMETRICS_STATE, ATTR_SERVICE_NAME } from './semconv.js';

/** The attribute objects of one service, and what a user of the cache keeps beside them. */
export interface ServiceSets<Extra> {
  state: string;
  healthy: boolean;
  generation: number;
  /** The snapshot's labels object these sets were built from. */
  labels: Readonly<Record<string, string>>;
  /** service.name and the service's extra labels */
  service: Attributes;
  /** service.name, procmetrics.state, procmetrics.healthy */
  status: Attributes;
  /** `identity|attribute|value` -> base plus that attribute. */
  variants: Map<string, Attributes>;
  readonly extra: Extra;
}

const NONE: Attributes = Object.freeze({});

/**
 * Attribute objects reused from one collection to the next: a collection
 * observes some twenty data points per service, and building their attribute
 * objects anew each time would be most of its garbage. A service's sets are rebuilt
 * only when its state or health changes, and sets of services a collection did
 * not see are let go by `sweep()`, so the cache follows the live set.
 */
export class AttributeSets<Extra = undefined> {
  readonly #services = new Map<string, ServiceSets<Extra>>();
  readonly #trackerVariants = new Map<string, Attributes>();
  #generation = 0;

  constructor(private readonly createExtra: () => Extra) {}

  /** Starts a collection. */
  begin(): void {
    this.#generation += 1;
  }

  /** Lets go of the services the current collection did not see. */
  sweep(): void {
    for (const [name, sets] of this.#services) if (sets.generation !== this.#generation) this.#services.delete(name);
  }

  forService(snapshot: Readonly<ProcessMetrics>): ServiceSets<Extra> {
    const name = snapshot.serviceName;
    let sets = this.#services.get(name);
    if (sets === undefined) {
      const service = serviceAttributes(snapshot);
      sets = {
        state: snapshot.state,
        healthy: snapshot.healthy,
        generation: this.#generation,
        labels: snapshot.labels,
        service,
        status: statusAttributes(service, snapshot),
        variants: new Map(),
        extra: this.createExtra(),
      };
      this.#services.set(name, sets);
    } else if (sets.state !== snapshot.state || sets.healthy !== snapshot.healthy || sets.labels !== snapshot.labels) {
      if (sets.labels !== snapshot.labels) {
        sets.labels = snapshot.labels;
        sets.service = serviceAttributes(snapshot);
      }
      sets.state = snapshot.state;
      sets.healthy = snapshot.healthy;
      sets.status = statusAttributes(sets.service, snapshot);
      sets.variants = new Map();
    }
    sets.generation = this.#generation;
    return sets;
  }

  /** The attributes of one data point of a service: its identity's base, plus the row's dimension if any. */
  pointOf(sets: ServiceSets<Extra>, identity: Identity, dimension: string | undefined, value: string | undefined): Attributes {
    const base = identity === 'status' ? sets.status : identity === 'service' ? sets.service : NONE;
    if (dimension === undefined || value === undefined) return base;
    return variant(sets.variants, `${identity}|${dimension}|${value}`, base, dimension, value);
  }

  /** The attributes of one data point of the tracker's own metrics. */
  trackerPoint(dimension: string | undefined, value: string | undefined): Attributes {
    if (dimension === undefined || value === undefined) return NONE;
    return variant(this.#trackerVariants, `${dimension}|${value}`, NONE, dimension, value);
  }
}

function serviceAttributes(snapshot: Readonly<ProcessMetrics>): Attributes {
  return { ...snapshot.labels, [ATTR_SERVICE_NAME]: snapshot.serviceName };
}

function statusAttributes(service: Attributes, snapshot: Readonly<ProcessMetrics>): Attributes {
  return { ...service, [ATTR_PROCMETRICS_STATE]: snapshot.state, [ATTR_PROCMETRICS_HEALTHY]: snapshot.healthy };
}

function variant(cache: Map<string, Attributes>, key: string, base: Attributes, dimension: string, value: string): Attributes {
  let attributes = cache.get(key);
  if (attributes === undefined) {
    attributes = { ...base, [dimension]: value };
    // Dynamic dimensions (error kinds) are few; the cap keeps a runaway source from growing it.
    if (cache.size < 1024) cache.set(key, attributes);
  }
  return attributes;
}
