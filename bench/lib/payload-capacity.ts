/**
 * The payload store's own capacity for what one job costs it, measured alone (no Redis, no
 * worker): one payload insert (publish, in batches of {@link BATCH} like publishMany), one point
 * read (the worker's getMany), one result write (the worker's grouped result puts, `concurrency`
 * in flight). Jobs/s of that sequence is the bound a payload-mode drain can reach on this server.
 */
import type { PayloadStore } from '../../src/payloads/store.js';
import { GroupedPut } from '../../src/payloads/grouped-put.js';
import { now } from './clock.js';
import { BATCH } from './measure.js';
import { PAYLOAD_1KIB } from './payload.js';

/** Result of {@link measureStoreCapacity}. */
export interface CapacityResult {
  jobsPerSec: number;
}

/** Inserts, reads and writes a result for `jobs` payloads in `queue`'s collection. */
export async function measureStoreCapacity(store: PayloadStore, queue: string, jobs: number, concurrency: number): Promise<CapacityResult> {
  const results = new GroupedPut(store, queue);
  const t0 = now();
  for (let done = 0; done < jobs; done += BATCH) {
    const count = Math.min(BATCH, jobs - done);
    const refs = await store.put(
      queue,
      Array.from({ length: count }, () => ({ value: PAYLOAD_1KIB })),
    );
    // Claims of `concurrency` jobs (getMany each), all of the batch at once so the server, not
    // our round trips, is the bound; each result is stored when its read is back.
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
  }
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
