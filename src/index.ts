export * from './core/index.js';
export type { Collector, PerPidCollector, ProcessSample, SampleOutcome, SampleTarget } from './core/collector-port.js';
export type {
  CgroupTarget,
  Discovery,
  DiscoveryPass,
  GroupTargetSpec,
  ProcessTracker,
  SubscribeOptions,
  Subscription,
  TrackOptions,
  TrackerOptions,
  TrackerStats,
} from './tracker/types.js';
export { Tracker } from './tracker/tracker.js';
export { MAX_SERVICE_NAME_LENGTH } from './core/limits.js';
export * from './collectors/index.js';
export type { GroupTarget, ProcessGrouping, ProcessFacts, FactNeeds, GroupAssignment } from './core/groups.js';
export {
  followPm2,
  pm2ServiceNames,
  pm2State,
  Pm2NotInstalledError,
  Pm2UnreachableError,
  type FollowPm2Options,
  type Pm2Api,
  type Pm2Follow,
  type Pm2ProcessDescription,
} from './integrations/pm2.js';
export { trackClusterWorkers, type ClusterPrimary, type ClusterTracking, type TrackClusterOptions } from './integrations/cluster.js';
export {
  snapshotStream,
  type SnapshotStreamHandler,
  type SnapshotStreamOptions,
  type StreamSource,
  type StreamStats,
  type StreamStatsEvent,
} from './tracker/stream.js';
export { STREAM_LIMITS } from './core/limits.js';
export { LIVE_PAGE_BUDGET_BYTES, LIVE_PAGE_CSP, livePage, type LivePageOptions } from './tracker/page.js';
