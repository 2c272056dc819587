/**
 * The payload store: job payloads and results in MongoDB, referenced from events by
 * {@link PayloadRef} (claim check). See docs/PAYLOADS.md.
 *
 * @packageDocumentation
 */
export type {
  PayloadInput,
  PayloadRef,
  PayloadStore,
  PayloadStoreHealth,
  PayloadValue,
  SweepOrphansOptions,
  SweepResult,
} from './store.js';
export { DEFAULT_COLLECTION_PREFIX, DEFAULT_ORPHAN_GRACE_MS, MAX_PAYLOAD_BYTES, defaultCollectionName } from './store.js';
export { hashBytes } from './encoding.js';
export { DEFAULT_RETRY, isTransientMongoError, retryDelay, type RetryOptions, type RetryPolicy } from './retry.js';
export { DEFAULT_CLIENT_OPTIONS, MongoPayloadStore, type MongoPayloadStoreOptions } from './mongo-store.js';
export { MemoryPayloadStore, type MemoryPayloadStoreOptions } from './memory-store.js';
export { referencedPayloadIds, sweepPayloads, sweepPayloadsOnce, type SweepPayloadsOptions } from './sweep.js';
