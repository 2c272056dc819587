/**
 * The retention sweep: finished jobs leave the read models by the queue's retention policy
 * (src/projections/retention.ts), in small batches, at once again while a batch comes back full.
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic.js';
import { applyRetention } from '../../projections/retention.js';
import { jittered, type Loop, type QueueLoopContext } from './loop.js';

// Small bites: one retention call blocks Redis for its whole batch (≈13 µs a job).
const RETENTION_BATCH = 100;

/** The retention sweep of one queue (not started); `intervalMs` is its mean period (jittered by ±25 %). */
export function createRetentionSweep(context: QueueLoopContext, o: { intervalMs: number }): Loop {
  const { redis, queue, clock } = context;
  return new PeriodicTask(
    async () => {
      const { completed, dead, cancelled } = await applyRetention(redis, queue, scriptTime(clock), RETENTION_BATCH);
      return completed + dead + cancelled >= RETENTION_BATCH ? 0 : undefined; // more to do: go on at once
    },
    (next) => next ?? jittered(context, o.intervalMs),
    context.onError,
  );
}
