/**
 * The background loops that keep one queue healthy, whoever consumes it: the reaper (timeout
 * requeue of attempts whose lease ran out), the promoter (due delayed jobs), the retention
 * sweep, the payload sweep, the flow relay and the repeat scheduler. Every library
 * {@link Worker} runs them; the HTTP service runs them for queues that have HTTP consumers
 * (src/server/consume-service.ts), since nobody else may. All are safe to run in several
 * processes at once.
 *
 * @packageDocumentation
 */
import type { PayloadStore } from '../../payloads/store.js';
import { createFlowRelay } from './flow-relay.js';
import { LoopGroup, type Loop, type QueueLoopContext } from './loop.js';
import { createPayloadSweep } from './payload-sweep.js';
import { createPromoter } from './promoter.js';
import { createReaper } from './reaper.js';
import { createRepeatLoop } from './repeat.js';
import { createRetentionSweep } from './retention.js';

/** Settings of {@link queueHousekeeping}; intervals of `0` disable their loop. */
export interface HousekeepingOptions extends QueueLoopContext {
  /** The consumer name the reaper records in `timed-out` events (and the payload sweep's lease holder). */
  consumer: string;
  payloads: PayloadStore | undefined;
  /** Visibility timeout: the reaper takes back attempts idle this long. */
  leaseMs: number;
  reapIntervalMs: number;
  pruneConsumersAfterMs: number;
  promoteIntervalMs: number;
  retentionIntervalMs: number;
  payloadSweepIntervalMs: number;
  payloadSweepGraceMs: number;
  repeatIntervalMs: number;
  flowRelayIntervalMs: number;
}

/** The queue's housekeeping loops as one (not started). */
export function queueHousekeeping(o: HousekeepingOptions): LoopGroup {
  const context: QueueLoopContext = { redis: o.redis, queue: o.queue, clock: o.clock, random: o.random, onError: o.onError };
  const loops: Loop[] = [
    createReaper(context, { consumer: o.consumer, leaseMs: o.leaseMs, intervalMs: o.reapIntervalMs, pruneConsumersAfterMs: o.pruneConsumersAfterMs }),
    createPromoter(context, { intervalMs: o.promoteIntervalMs }),
  ];
  if (o.retentionIntervalMs > 0) loops.push(createRetentionSweep(context, { intervalMs: o.retentionIntervalMs }));
  if (o.payloads && o.payloadSweepIntervalMs > 0) {
    loops.push(createPayloadSweep(context, { store: o.payloads, consumer: o.consumer, intervalMs: o.payloadSweepIntervalMs, graceMs: o.payloadSweepGraceMs }));
  }
  if (o.flowRelayIntervalMs > 0) loops.push(createFlowRelay(context, { intervalMs: o.flowRelayIntervalMs }));
  if (o.repeatIntervalMs > 0) loops.push(createRepeatLoop(context, { intervalMs: o.repeatIntervalMs, payloads: o.payloads }));
  return new LoopGroup(loops);
}
