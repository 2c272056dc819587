/**
 * The lease keeper (heartbeat): every `heartbeatMs` it extends the leases of the attempts a
 * consumer holds, and reports the jobs its attempts no longer own (cancelled, or reclaimed by a
 * reaper after a missed heartbeat) so their handlers can be aborted.
 *
 * @packageDocumentation
 */
import { scriptTime } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic.js';
import { extendLeases } from '../attempts.js';
import type { Loop, QueueLoopContext } from './loop.js';

/** Settings of {@link createLeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** The consumer holding the leases. */
  consumer: string;
  heartbeatMs: number;
  /** The attempts to keep, as (jobId, token) pairs, read at each heartbeat. */
  held: () => [string, string][];
  /** Called for each job whose attempt no longer owns it. */
  onLost: (jobId: string) => void;
}

/** The lease keeper of one consumer (not started). */
export function createLeaseKeeper(context: QueueLoopContext, o: LeaseKeeperOptions): Loop {
  const { redis, queue, clock } = context;
  return new PeriodicTask(
    async () => {
      const lost = await extendLeases(redis, queue, scriptTime(clock), o.consumer, o.held());
      for (const jobId of lost) o.onLost(jobId);
      return undefined;
    },
    () => o.heartbeatMs,
    context.onError,
  );
}
