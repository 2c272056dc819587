/**
 * The flow relay: delivers outcomes of the queue's jobs to their dependants in other queues
 * (the queue's flow outbox, src/queue/flows.ts).
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { flowOutboxKey } from '../../core/keys.js';
import { PeriodicTask } from '../../core/periodic.js';
import { relayFlowOutbox } from '../../queue/flows.js';
import type { Loop, QueueLoopContext } from './loop.js';

/** The flow relay of one queue (not started), run every `intervalMs`. */
export function createFlowRelay(context: QueueLoopContext, o: { intervalMs: number }): Loop {
  const { redis, queue, clock } = context;
  return new PeriodicTask(
    async () => {
      // One XLEN when there is nothing to relay.
      if ((await redis.xlen(flowOutboxKey(queue))) === 0) return undefined;
      return (await relayFlowOutbox(redis, queue, scriptTime(clock))) >= 100 ? 0 : undefined;
    },
    (next) => next ?? o.intervalMs,
    context.onError,
  );
}
