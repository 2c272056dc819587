/**
 * The reaper: takes back attempts whose lease ran out (timeout requeue, or dead-letter when the
 * attempts are spent, reap.lua), prunes consumers and worker-list entries gone idle, and settles
 * attempts whose lane entry was deleted while pending as `lost` (src/consumers/lost-entries.ts).
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic.js';
import { reapLeases } from '../../events/commands/index.js';
import { settleLostEntries } from '../lost-entries.js';
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
      const reaped = await reapLeases(redis, queue, scriptTime(clock), { consumer: o.consumer, leaseMs: o.leaseMs, count: 100, pruneConsumersAfterMs: o.pruneConsumersAfterMs });
      // Rare (a lane entry deleted while pending): the jobs are found by a scan, outside reap.lua.
      if (reaped.lostTokens.length > 0) await settleLostEntries(redis, queue, clock, reaped.lostTokens);
      return undefined;
    },
    () => jittered(context, o.intervalMs),
    context.onError,
  );
}
