/**
 * The repeat loop: publishes due occurrences of the queue's repeatable jobs through a
 * {@link RepeatScheduler} (many at once fire each occurrence exactly once), waking earlier when
 * the next occurrence is due sooner than its jittered period.
 *
 * @packageDocumentation
 */
import { PeriodicTask } from '../../core/periodic.js';
import type { PayloadStore } from '../../payloads/store.js';
import { RepeatScheduler } from '../../queue/repeat.js';
import { jittered, type Loop, type QueueLoopContext } from './loop.js';

/** The repeat loop of one queue (not started); `intervalMs` is its mean period (jittered by ±25 %). */
export function createRepeatLoop(context: QueueLoopContext, o: { intervalMs: number; payloads: PayloadStore | undefined }): Loop {
  const { redis, queue, clock } = context;
  const scheduler = new RepeatScheduler({ redis, queue, clock, ...(o.payloads ? { payloads: o.payloads } : {}) });
  return new PeriodicTask(
    async () => {
      const { nextDue } = await scheduler.tick();
      return nextDue === undefined ? undefined : Math.max(0, nextDue - clock.now());
    },
    (next) => Math.min(next ?? Number.MAX_SAFE_INTEGER, jittered(context, o.intervalMs)),
    context.onError,
  );
}
