/**
 * The promoter: moves due delayed jobs to their lanes (promote.lua), sleeping until the next one
 * is due (at most `intervalMs`).
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic.js';
import { promoteDue } from '../../events/commands/index.js';
import type { Loop, QueueLoopContext } from './loop.js';

/** The promoter of one queue (not started); `intervalMs` is its longest sleep. */
export function createPromoter(context: QueueLoopContext, o: { intervalMs: number }): Loop {
  const { redis, queue, clock } = context;
  return new PeriodicTask(
    async () => {
      // Promotes due delayed jobs; returns how long to sleep before the next run.
      const limit = 1000;
      const { promoted, nextDueMs: nextDue } = await promoteDue(redis, queue, scriptTime(clock), limit);
      if (promoted >= limit) return 0;
      if (nextDue < 0) return o.intervalMs;
      return Math.max(0, Math.min(o.intervalMs, nextDue - clock.now()));
    },
    (next) => next ?? o.intervalMs,
    context.onError,
  );
}
