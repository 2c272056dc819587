/**
 * The reaper: takes back attempts whose lease ran out (timeout requeue, or dead-letter when the
 * attempts are spent, reap.lua) and prunes consumers and worker-list entries gone idle.
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic.js';
import { reapLeases } from '../../events/commands/index.js';
import { jittered, type Loop, type QueueLoopContext } from './loop.js';

/** Settings of {@link createReaper}. */
export interface ReaperOptions {
  /** The consumer name recorded in `timed-out` events. */
  consumer: string;
  /** Visibility timeout: attempts idle this long are taken back. */
  leaseMs: number;
  /** Mean period (jittered by ±25 %). */
  intervalMs: number;
  pruneConsumersAfterMs: number;
}

/** The reaper of one queue (not started). */
export function createReaper(context: QueueLoopContext, o: ReaperOptions): Loop {
  const { redis, queue, clock } = context;
  return new PeriodicTask(
    async () => {
      await reapLeases(redis, queue, scriptTime(clock), { consumer: o.consumer, leaseMs: o.leaseMs, count: 100, pruneConsumersAfterMs: o.pruneConsumersAfterMs });
      return undefined;
    },
    () => jittered(context, o.intervalMs),
    context.onError,
  );
}
