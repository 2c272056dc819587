/**
 * The payload store's own capacity for what one job costs it, measured alone (no Redis, no
 * worker): one payload insert (publish, in batches of {@link BATCH} like publishMany, with the job
 * id), one read (the worker's getMany of a claim), one result write (the worker's grouped result
 * puts). Jobs/s of that sequence is the bound a payload-mode drain can reach on this server.
 */
import type { PayloadRef, PayloadStore } from '../../src/payloads/store.js';
import { GroupedPut } from '../../src/payloads/grouped-put.js';
import { now } from './clock.js';
import { BATCH } from './measure.js';
import { PAYLOAD_1KIB } from './payload.js';

/** Result of {@link measureStoreCapacity}. */
export interface CapacityResult {
  jobsPerSec: number;
}

/**
 * Inserts, reads and writes a result for `jobs` payloads in `queue`'s collection, doing what
 * Sluice does per job and no more, as fast as the store allows:
 * - the insert is the publisher's: batches of {@link BATCH}, each payload with its job id (so the
 *   document carries `jobId` and the payload's search terms, as `publishMany` stores them);
 * - the reads are the worker's: `getMany` of `concurrency` consecutive payloads (one claim), every
 *   claim of a batch in flight at once, so the server, not our round trips, is the bound;
 * - each result is a small JSON value put through {@link GroupedPut} when its read is back;
 * - the next batch is inserted while the previous one is read and written (the drain overlaps
 *   publishing and consuming the same way).
 */
export async function measureStoreCapacity(store: PayloadStore, queue: string, jobs: number, concurrency: number): Promise<CapacityResult> {
  const results = new GroupedPut(store, queue);
  const consume = async (refs: readonly PayloadRef[]): Promise<void> => {
    const claims: Promise<void>[] = [];
    for (let i = 0; i < refs.length; i += concurrency) {
      const claimed = refs.slice(i, i + concurrency);
      claims.push(
        store.getMany(queue, claimed).then(async (read) => {
          if (read.size !== claimed.length) throw new Error(`capacity: read ${read.size} of ${claimed.length} payloads`);
          await Promise.all(claimed.map(() => results.put({ ok: true })));
        }),
      );
    }
    await Promise.all(claims);
  };
  const t0 = now();
  let consuming: Promise<void> = Promise.resolve();
  for (let done = 0; done < jobs; done += BATCH) {
    const count = Math.min(BATCH, jobs - done);
    const refs = await store.put(
      queue,
      Array.from({ length: count }, (_, k) => ({ value: PAYLOAD_1KIB, jobId: `capacity-${done + k}` })),
    );
    await consuming;
    consuming = consume(refs);
  }
  await consuming;
  return { jobsPerSec: jobs / ((now() - t0) / 1000) };
}

/** Stores `count` 1 KiB payloads in `queue`'s collection in batches (the pre-load). */
export async function preloadPayloads(store: PayloadStore, queue: string, count: number): Promise<void> {
  for (let done = 0; done < count; done += 1000) {
    await store.put(
      queue,
      Array.from({ length: Math.min(1000, count - done) }, () => ({ value: PAYLOAD_1KIB })),
    );
  }
}
