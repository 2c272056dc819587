/**
 * The payload sweep: deletes the queue's payloads and results that no job references any more
 * (src/payloads/sweep.ts). Consumers try at most every minute; a lease in Redis lets one of them
 * sweep per interval.
 *
 * @packageDocumentation
 */
import { PeriodicTask } from '../../core/periodic.js';
import type { PayloadStore } from '../../payloads/store.js';
import { sweepPayloadsOnce } from '../../payloads/sweep.js';
import { jittered, type Loop, type QueueLoopContext } from './loop.js';

/** Settings of {@link createPayloadSweep}. */
export interface PayloadSweepOptions {
  store: PayloadStore;
  /** Who holds the sweep lease. */
  consumer: string;
  /** One sweep per interval among all consumers. */
  intervalMs: number;
  /** Payloads stored more recently are kept. */
  graceMs: number;
}

/** The payload sweep of one queue (not started). */
export function createPayloadSweep(context: QueueLoopContext, o: PayloadSweepOptions): Loop {
  const { redis, queue } = context;
  return new PeriodicTask(
    async () => {
      await sweepPayloadsOnce(redis, queue, o.store, o.consumer, o.intervalMs, { olderThanMs: o.graceMs });
      return undefined;
    },
    () => jittered(context, Math.min(o.intervalMs, 60_000)),
    context.onError,
  );
}
