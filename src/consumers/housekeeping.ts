/**
 * The background tasks that keep one queue healthy, whoever consumes it: the reaper (timeout
 * requeue of attempts whose lease ran out), the promoter (due delayed jobs), the retention
 * sweep, the payload sweep, the flow relay and the repeat scheduler. Every library
 * {@link Worker} runs them; the HTTP service runs them for queues that have HTTP consumers
 * (src/server/consume-service.ts), since nobody else may. All are safe to run in several
 * processes at once.
 *
 * @packageDocumentation
 */
import { scriptTime, type Clock } from '../core/clock.js';
import { promoteDue, reapLeases } from '../events/commands/index.js';
import { relayFlowOutbox } from '../queue/flows.js';
import { flowOutboxKey, type QueueName } from '../core/keys.js';
import type { PayloadStore } from '../payloads/store.js';
import { sweepPayloadsOnce } from '../payloads/sweep.js';
import { applyRetention } from '../projections/retention.js';
import type { RedisClient } from '../redis/connection.js';
import { RepeatScheduler } from '../queue/repeat.js';
import { PeriodicTask } from '../core/periodic.js';

// Small bites: one retention call blocks Redis for its whole batch (≈13 µs a job).
const RETENTION_BATCH = 100;

/** Settings of {@link queueHousekeeping}; intervals of `0` disable their task. */
export interface HousekeepingOptions {
  redis: RedisClient;
  queue: QueueName;
  /** The consumer name the reaper records in `timed-out` events. */
  consumer: string;
  clock: Clock;
  random: () => number;
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
  onError: (error: unknown) => void;
}

/** The queue's housekeeping tasks (not started). */
export function queueHousekeeping(o: HousekeepingOptions): PeriodicTask[] {
  const { redis, queue, clock } = o;
  const jitter = (ms: number): number => Math.round(ms * (0.75 + o.random() * 0.5));
  const tasks = [
    new PeriodicTask(
      async () => {
        await reapLeases(redis, queue, scriptTime(clock), { consumer: o.consumer, leaseMs: o.leaseMs, count: 100, pruneConsumersAfterMs: o.pruneConsumersAfterMs });
        return undefined;
      },
      () => jitter(o.reapIntervalMs),
      o.onError,
    ),
    new PeriodicTask(
      async () => {
        // Promotes due delayed jobs; returns how long to sleep before the next run.
        const limit = 1000;
        const { promoted, nextDueMs: nextDue } = await promoteDue(redis, queue, scriptTime(clock), limit);
        if (promoted >= limit) return 0;
        if (nextDue < 0) return o.promoteIntervalMs;
        return Math.max(0, Math.min(o.promoteIntervalMs, nextDue - clock.now()));
      },
      (next) => next ?? o.promoteIntervalMs,
      o.onError,
    ),
  ];
  if (o.retentionIntervalMs > 0) {
    tasks.push(
      new PeriodicTask(
        async () => {
          const { completed, dead, cancelled } = await applyRetention(redis, queue, scriptTime(clock), RETENTION_BATCH);
          return completed + dead + cancelled >= RETENTION_BATCH ? 0 : undefined; // more to do: go on at once
        },
        (next) => next ?? jitter(o.retentionIntervalMs),
        o.onError,
      ),
    );
  }
  const store = o.payloads;
  if (store && o.payloadSweepIntervalMs > 0) {
    tasks.push(
      new PeriodicTask(
        async () => {
          await sweepPayloadsOnce(redis, queue, store, o.consumer, o.payloadSweepIntervalMs, { olderThanMs: o.payloadSweepGraceMs });
          return undefined;
        },
        () => jitter(Math.min(o.payloadSweepIntervalMs, 60_000)),
        o.onError,
      ),
    );
  }
  if (o.flowRelayIntervalMs > 0) {
    tasks.push(
      new PeriodicTask(
        async () => {
          // One XLEN when there is nothing to relay.
          if ((await redis.xlen(flowOutboxKey(queue))) === 0) return undefined;
          return (await relayFlowOutbox(redis, queue, scriptTime(clock))) >= 100 ? 0 : undefined;
        },
        (next) => next ?? o.flowRelayIntervalMs,
        o.onError,
      ),
    );
  }
  if (o.repeatIntervalMs > 0) {
    const scheduler = new RepeatScheduler({ redis, queue, clock, ...(store ? { payloads: store } : {}) });
    tasks.push(
      new PeriodicTask(
        async () => {
          const { nextDue } = await scheduler.tick();
          return nextDue === undefined ? undefined : Math.max(0, nextDue - clock.now());
        },
        (next) => Math.min(next ?? Number.MAX_SAFE_INTEGER, jitter(o.repeatIntervalMs)),
        o.onError,
      ),
    );
  }
  return tasks;
}
