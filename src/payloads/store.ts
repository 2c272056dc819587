/**
 * The payload store contract: where job payloads and results live (claim check).
 *
 * A payload is stored first; only then is the `created` (or `completed`) event appended, carrying
 * the {@link PayloadRef} that {@link PayloadStore.put} returned. So an event never points at a
 * payload that was not stored, and a payload whose event was never appended is an orphan that
 * {@link PayloadStore.sweepOrphans} removes after a grace period.
 *
 * Two implementations honour this contract and run the same contract suite
 * (`test/contracts/payloadStore.contract.ts`): `MongoPayloadStore` and `MemoryPayloadStore`.
 *
 * @packageDocumentation
 */
import type { JsonValue, PayloadRef } from '../events/types.js';
import type { QueueName } from '../core/keys.js';

export type { PayloadRef } from '../events/types.js';

/**
 * A value read back from the store: the JSON value that was put (`-0` reads back as `0`, as in
 * JSON), or a fresh `Uint8Array` copy of the bytes that were put.
 */
export type PayloadValue = JsonValue | Uint8Array;

/** One payload to store. */
export interface PayloadInput {
  /**
   * Document id. Same characters as a job id (letters, digits and `._:@/+=-`, at most 200), so a
   * job id can serve as its payload id. Ids are write-once: putting the same content under the same
   * id again succeeds (idempotent retry); different content under an existing id is a conflict.
   * @default a random UUID
   */
  id?: string;
  /**
   * A `Uint8Array` (or `Buffer`) is stored as bytes (`encoding: 'binary'`). Anything else must be a
   * JSON value — `null`, booleans, finite numbers, strings, arrays and plain objects — and is stored
   * as its UTF-8 JSON text (`encoding: 'json'`). Values JSON cannot represent exactly (`undefined`,
   * functions, `NaN`, `Date`, `Map`, class instances, cycles, sparse arrays) are rejected rather than
   * silently changed.
   */
  value: unknown;
  /**
   * The job the payload belongs to. The MongoDB store keeps it (with the payload's search terms,
   * see `terms.ts`) so a search by payload field can name the job.
   */
  jobId?: string;
}

/** Result of {@link PayloadStore.health}. Never throws. */
export interface PayloadStoreHealth {
  /** True when the backing store answered. */
  ok: boolean;
  /** Time the probe took, in milliseconds. */
  latencyMs: number;
  /** Why the probe failed, when it did. */
  error?: string;
}

/** Options of {@link PayloadStore.sweepOrphans}. */
export interface SweepOrphansOptions {
  /**
   * Grace period: only payloads last stored (or re-confirmed by an idempotent put) longer ago than
   * this are candidates. It must exceed the longest time between `put` and the append of the event
   * that references the payload (publish retries included), plus clock skew between publishers and
   * the sweeper; otherwise a payload could be swept just before its job is created.
   * @default 3_600_000 (one hour)
   */
  olderThanMs?: number;
  /**
   * Returns the subset of `ids` that some job or result still references. Whatever it does not
   * return is deleted, so it must be authoritative; if it throws, the sweep stops and rethrows.
   */
  isReferenced: (ids: readonly string[]) => Promise<ReadonlySet<string>> | ReadonlySet<string>;
  /**
   * How many candidate ids are passed to `isReferenced` at a time.
   * @default 1000
   */
  batchSize?: number;
}

/** Result of {@link PayloadStore.sweepOrphans}. */
export interface SweepResult {
  /** Candidates older than the grace period that were checked. */
  examined: number;
  /** Orphans deleted. */
  deleted: number;
}

/**
 * Stores payloads and results per queue and reads them back by reference.
 *
 * Failure semantics, for every implementation:
 * - invalid input throws `ValidationError` before anything is stored;
 * - a `put` resolves only when every payload of the call is stored, and rejects otherwise (some
 *   payloads of a failed batch may be stored; they are orphans until swept or put again);
 * - a store that cannot be reached rejects with the retryable `PayloadStoreUnavailableError`;
 * - after {@link PayloadStore.close}, calls reject with `ClosedError`.
 */
export interface PayloadStore {
  /**
   * Stores one payload.
   * @returns its reference, to be carried by the event.
   * @throws `ValidationError`, `PayloadConflictError`, `PayloadStoreUnavailableError`, `ClosedError`.
   */
  put(queue: string, item: PayloadInput): Promise<PayloadRef>;
  /**
   * Stores a batch in one round trip (MongoDB: one `insertMany`).
   * @returns the references in the order of `items`; `[]` for no items.
   * @throws `ValidationError` (also for an id repeated within `items`), `PayloadConflictError`,
   * `PayloadStoreUnavailableError`, `ClosedError`.
   */
  put(queue: string, items: readonly PayloadInput[]): Promise<PayloadRef[]>;

  /**
   * Reads one payload. With a {@link PayloadRef}, also checks that the stored hash is the one the
   * reference was issued for.
   * @throws `PayloadNotFoundError` when absent, `PayloadConflictError` on a hash mismatch.
   */
  get(queue: string, ref: PayloadRef | string): Promise<PayloadValue>;

  /**
   * Reads many payloads (MongoDB: one `findOne({_id})` per id, in parallel, so that each read is an
   * index lookup on every server, including the embedded FerretDB, which does not push `$in` down).
   * @returns a map from id to value. Ids that are not stored are absent from the map (a batch of
   * jobs should not fail because one payload is missing); use {@link PayloadStore.get} for an error.
   * @throws `PayloadConflictError` when a reference's hash does not match the stored payload.
   */
  getMany(queue: string, refs: readonly (PayloadRef | string)[]): Promise<Map<string, PayloadValue>>;

  /**
   * Deletes payloads; ids that are not stored are ignored, so repeating a delete is safe.
   * @returns how many were deleted (when an attempt was retried, by the last attempt only).
   */
  delete(queue: string, ids: readonly string[]): Promise<number>;

  /**
   * Deletes the queue's payloads that are older than the grace period and that `isReferenced`
   * does not claim. Safe to run while publishing: a payload stored or re-confirmed within the grace
   * period is never deleted.
   */
  sweepOrphans(queue: string, options: SweepOrphansOptions): Promise<SweepResult>;

  /** Probes the backing store once, without retries. Never throws. */
  health(): Promise<PayloadStoreHealth>;

  /** Releases resources the store owns. Idempotent. */
  close(): Promise<void>;
}

/** Prefix of payload collection names. */
export const DEFAULT_COLLECTION_PREFIX = 'sluice_payloads';

/**
 * Largest payload accepted: MongoDB's 16 MiB document limit minus 16 KiB for the other fields of
 * the payload document (id, queue, hash, dates).
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024 - 16 * 1024;

/** Default grace period of the orphan sweep. */
export const DEFAULT_ORPHAN_GRACE_MS = 3_600_000;

/** The default collection naming: `<prefix>_<queue>`. */
export function defaultCollectionName(queue: QueueName, prefix: string = DEFAULT_COLLECTION_PREFIX): string {
  return `${prefix}_${queue}`;
}
