/**
 * Sluice: an event-sourced job queue on Redis Streams, with payloads in MongoDB.
 *
 * The root entry point `sluice` is the library core: queues, workers, events, projections,
 * audit, payload stores. It loads no HTTP server and no OpenTelemetry SDK (only
 * `@opentelemetry/api`, a no-op until an application registers an SDK). The rest is in subpath
 * entry points (see docs/PACKAGE.md): `sluice/metrics` (src/metrics/index.ts), `sluice/server`
 * (src/server/index.ts), `sluice/otel` (src/otel.ts), `sluice/testing` (src/testing.ts).
 *
 * @packageDocumentation
 */
export * from './core/errors.js';
export * from './core/keys.js';
export { systemClock, type Clock } from './core/clock.js';
export {
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF,
  DEFAULT_PRIORITY,
  backoffDelay,
  newTraceparent,
  type JobDefaults,
  type DedupeOptions,
  type JobOptions,
  type NewJob,
} from './jobs/options.js';
export { type GroupLimits, type RateLimit } from './queue/limits.js';
export { flowState, readDependencies, relayFlowOutbox, type DependencyInfo, type FlowState } from './queue/flows.js';
export {
  RepeatScheduler,
  nextOccurrence,
  type RepeatableJob,
  type RepeatSchedule,
  type RepeatSchedulerOptions,
  type RepeatTemplate,
  type RepeatTickReport,
} from './queue/repeat.js';
export {
  closeRedis,
  createCluster,
  createRedis,
  createRedisClient,
  duplicateClient,
  isCluster,
  isClusterUrl,
  keySlot,
  parseClusterUrl,
  scanKeys,
  unlinkKeys,
  type CreateRedisOptions,
  type DuplicateOptions,
  type ScanOptions,
  type RedisClient,
} from './redis/connection.js';
export { Queue, type JobPage, type PublishResult, type QueueOptions, type QueueStats, type WorkerInfo } from './queue/queue.js';
export type { RedisConnection } from './redis/open.js';
export type { PriorityChange } from './queue/queue.js';
export { Worker, type ActiveJob, type BackoffFunction, type Handler, type WorkerEvents, type WorkerOptions } from './consumers/worker.js';
export { MultiQueueWorker, type MultiQueueWorkerOptions, type QueueRoute } from './consumers/multi-worker.js';
export { SlotPool } from './consumers/slot-pool.js';
/**
 * Partitioned queues: one logical queue spread over N physical queues `<queue>#0 … #N-1` (one hash
 * tag, hence one Redis Cluster slot, each), routed by a stable hash of a partition key.
 * See docs/FEATURES.md, "Partitioned queues".
 */
export {
  MAX_PARTITION_KEY_LENGTH,
  PartitionedQueue,
  PartitionedWorker,
  claimPartitionCount,
  partitionOf,
  toPartitionCount,
  type PartitionedJobOptions,
  type PartitionedNewJob,
  type PartitionedPublishResult,
  type PartitionedQueueOptions,
  type PartitionedQueueStats,
  type PartitionedWorkerOptions,
} from './consumers/partitioned.js';
export { BatchWorker, type BatchHandler, type BatchOutcome, type BatchWorkerOptions } from './consumers/batch-worker.js';
export * from './events/index.js';
export { type Job } from './projections/job.js';
export { rebuild, verify, type RebuildReport, type ReplayOptions, type VerifyReport } from './projections/rebuild.js';
export { streamExtent, type StreamExtent } from './redis/stream-extent.js';
export { DEFAULT_RETENTION, applyRetention, getRetention, setRetention, type RetentionLimits, type RetentionPolicy } from './projections/retention.js';
export { ProjectionRunner, type Checkpoint, type Projection, type ProjectionRunnerOptions } from './projections/subscriber.js';
export { Archiver, type ArchiverOptions } from './audit/archiver.js';
export { EventArchive, GENESIS_HASH, recordHash, type ArchiveRecord, type EventArchiveOptions } from './history/archive.js';
export { exportNdjson, jobHistory, replay$, replayBatches, type ReplayQuery, type ReplaySource } from './history/replay.js';
export { verifyAudit, type AuditReport, type VerifyAuditOptions } from './audit/verify-audit.js';
export { DEFAULT_AS_OF_MAX_EVENTS, queueAsOf, type AsOfOptions, type QueueAsOf } from './audit/as-of.js';
export { searchJobs, type JobSearch, type JobSearchResult, type TermIndex } from './queue/search.js';
export {
  DEFAULT_COLLECTION_PREFIX,
  MemoryPayloadStore,
  MongoPayloadStore,
  referencedPayloadIds,
  sweepPayloads,
  type MemoryPayloadStoreOptions,
  type MongoPayloadStoreOptions,
  type SweepPayloadsOptions,
} from './payloads/index.js';
export type { PayloadInput, PayloadStore, PayloadValue } from './payloads/store.js';
// Metrics, the HTTP service, the OpenTelemetry SDK and test servers: see the subpath entry points above.
