/**
 * The reaper: takes back attempts whose lease ran out (timeout requeue, or dead-letter when the
 * attempts are spent, reap.lua) and prunes consumers and worker-list entries gone idle.
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic.js';
import { runScript } from '../../events/scripts.js';
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
      await runScript(redis, 'reap', queue, scriptTime(clock), [o.consumer, o.leaseMs, 100, o.pruneConsumersAfterMs]);
      return undefined;
    },
    () => jittered(context, o.intervalMs),
    context.onError,
  );
}
