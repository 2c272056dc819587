/**
 * The payload sweep: deletes a queue's payloads and results that no job in the read model
 * references any more — those of jobs retention or `remove` took out, and those a publish stored
 * and then never used (it failed, or its process died between the payload write and the script).
 *
 * References are read from the job hashes themselves (`payloadId`, `resultId`), so the check is
 * authoritative without an index kept on the hot path. Payload ids may be shared by jobs with the
 * same content: a payload stays while any job references it.
 *
 * @packageDocumentation
 */
import { jobKeyPrefix, payloadSweepKey, toQueueName, type QueueName } from '../core/keys.js';
import { scanPrefix, type RedisClient } from '../redis/connection.js';
import { toNonNegativeInteger } from './encoding.js';
import { DEFAULT_ORPHAN_GRACE_MS, type PayloadStore, type SweepResult } from './store.js';

/** Job hash fields that can reference a stored payload. */
const REFERENCE_FIELDS = ['payloadId', 'resultId'] as const;


/**
 * Every payload and result id the queue's job hashes reference: one SCAN of the queue's job keys
 * (on its master) and one pipelined HMGET per 1,000 jobs.
 */
export async function referencedPayloadIds(redis: RedisClient, queue: string): Promise<Set<string>> {
  const name = toQueueName(queue);
  const prefix = jobKeyPrefix(name);
  const ids = new Set<string>();
  for await (const keys of scanPrefix(redis, prefix)) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.hmget(key, ...REFERENCE_FIELDS);
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      const [payloadId, resultId] = reply as (string | null)[];
      for (const id of [payloadId, resultId]) {
        if (id) ids.add(id);
      }
    }
  }
  return ids;
}

/** Options of {@link sweepPayloads}. */
export interface SweepPayloadsOptions {
  /**
   * Grace period: payloads stored (or re-confirmed) more recently are kept whatever references
   * them, so a publish between its payload write and its script is never robbed. Must exceed the
   * longest publish, retries included.
   * @default 3_600_000 (one hour)
   */
  olderThanMs?: number;
}

/**
 * Deletes the queue's stored payloads and results that are older than the grace period and that
 * no job hash references. Reads the references first, then pages through the store's candidates
 * (`PayloadStore.sweepOrphans`); a job created after the read can only reference a payload stored
 * within the grace period, which is not a candidate.
 */
export async function sweepPayloads(redis: RedisClient, queue: string, store: PayloadStore, options: SweepPayloadsOptions = {}): Promise<SweepResult> {
  // Checked before the scan of the job hashes, with the store's own check.
  const olderThanMs = toNonNegativeInteger(options.olderThanMs ?? DEFAULT_ORPHAN_GRACE_MS, 'olderThanMs');
  const referenced = await referencedPayloadIds(redis, queue);
  return store.sweepOrphans(queue, { olderThanMs, isReferenced: (ids) => new Set(ids.filter((id) => referenced.has(id))) });
}

/**
 * Takes the queue's sweep lease for `intervalMs` (SET NX PX) and, when this caller got it, runs
 * {@link sweepPayloads}: with many workers on a queue, one of them sweeps per interval.
 * @returns the sweep's result, or `undefined` when another worker holds the lease.
 */
export async function sweepPayloadsOnce(
  redis: RedisClient,
  queue: QueueName,
  store: PayloadStore,
  holder: string,
  intervalMs: number,
  options: SweepPayloadsOptions = {},
): Promise<SweepResult | undefined> {
  const taken = await redis.set(payloadSweepKey(queue), holder, 'PX', intervalMs, 'NX');
  if (taken !== 'OK') return undefined;
  return sweepPayloads(redis, queue, store, options);
}
