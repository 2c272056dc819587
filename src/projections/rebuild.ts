/**
 * Rebuild and verify the read models from the event log.
 *
 * Both replay the history — archived events first when an archive is given, then the live
 * stream (see src/audit/replay.ts) — through the one projection fold (src/events/lua/includes/project.lua) into shadow
 * keys (`sluice:{<queue>}:shadow:*`). The last step runs in one script, so events appended
 * meanwhile by publishers and workers are folded in too: `rebuild` then swaps the shadow read
 * model in; `verify` compares it with the live one and reports every difference.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { scanKeys, unlinkKeys, type RedisClient } from '../redis/connection.js';
import { systemClock, type Clock } from '../clock.js';
import { InvalidStateError } from '../errors.js';
import { replayBatches } from '../audit/replay.js';
import type { EventArchive } from '../audit/archive.js';
import type { StoredJobEvent } from '../events/types.js';
import { runScript } from '../events/scripts.js';
import { eventsKey, scriptKeys, shadowLockKey, shadowPrefix, shadowScriptKeys, toQueueName, type QueueName } from '../keys.js';

/** Options of {@link rebuild} and {@link verify}. */
export interface ReplayOptions {
  /** The event archive, when the stream has been trimmed. @default none (the stream holds everything) */
  archive?: EventArchive;
  /**
   * Events folded per script call.
   * @default 500
   */
  batchSize?: number;
  /** Called after each batch with the number of events replayed so far. */
  onProgress?: (replayed: number) => void;
  /** @default the system clock */
  clock?: Clock;
}

/** What {@link rebuild} did. */
export interface RebuildReport {
  /** Events replayed before the final step. */
  replayed: number;
  /** Events appended during the replay and folded in by the final step. */
  caughtUp: number;
  /** Jobs in the rebuilt read model. */
  jobs: number;
}

/** What {@link verify} found. */
export interface VerifyReport {
  replayed: number;
  caughtUp: number;
  /** Jobs compared (live and rebuilt together). */
  jobsCompared: number;
  /** Every difference, `<where> live=<value> rebuilt=<value>`, at most `maxDifferences`. */
  differences: string[];
  /** True when the live read model equals the replay. */
  clean: boolean;
}

const LOCK_TTL_MS = 10 * 60_000;

async function withShadow<T>(redis: RedisClient, queue: QueueName, work: () => Promise<T>): Promise<T> {
  const lock = shadowLockKey(queue);
  const token = randomUUID();
  const ok = await redis.set(lock, token, 'PX', LOCK_TTL_MS, 'NX');
  if (ok !== 'OK') {
    throw new InvalidStateError(`a rebuild or verify of queue ${queue} is already running (lock ${lock}); wait for it to finish`);
  }
  try {
    await dropShadow(redis, queue, lock);
    return await work();
  } finally {
    await dropShadow(redis, queue, lock);
    if ((await redis.get(lock)) === token) await redis.del(lock);
  }
}

/** Deletes the shadow read model (every `sluice:{<queue>}:shadow:*` key but the lock). */
async function dropShadow(redis: RedisClient, queue: QueueName, lock: string): Promise<void> {
  const pattern = `${shadowPrefix(queue).replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`;
  // On a Redis Cluster only the master of the queue's slot is scanned.
  for await (const keys of scanKeys(redis, pattern, { slotKey: shadowPrefix(queue) })) await unlinkKeys(redis, keys.filter((k) => k !== lock));
}

/** Folds the whole history (archive, then stream) into the shadow read model; returns the last id applied. */
async function replay(redis: RedisClient, queue: QueueName, options: ReplayOptions): Promise<{ lastId: string; replayed: number }> {
  const clock = options.clock ?? systemClock;
  const keys = shadowScriptKeys(queue);
  let replayed = 0;
  let lastId = '0-0';
  // Replay up to the log's end as it is now: events appended meanwhile are folded in by the final
  // atomic step, so a producer faster than the replay cannot keep it chasing the stream forever.
  const [newest] = await redis.xrevrange(eventsKey(queue), '+', '-', 'COUNT', 1);
  if (!newest && !options.archive) return { lastId, replayed };
  const batches = replayBatches(
    { redis, queue, ...(options.archive ? { archive: options.archive } : {}) },
    { batchSize: options.batchSize ?? 500, ...(newest ? { to: newest[0] } : {}) },
  );
  for await (const batch of batches) {
    const args: (string | number)[] = [batch.length];
    for (const e of batch) args.push(e.type, JSON.stringify(e.data), JSON.stringify(e.metadata));
    await runScript(redis, 'applyEvents', queue, clock.now(), args, keys);
    replayed += batch.length;
    lastId = (batch[batch.length - 1] as StoredJobEvent).id;
    options.onProgress?.(replayed);
  }
  return { lastId, replayed };
}

/**
 * Rebuilds the queue's read models from its history and swaps them in atomically. Safe while
 * publishers and workers run: events they append during the replay are folded in by the final,
 * atomic step.
 * @throws {@link InvalidStateError} when another rebuild or verify of the queue is running;
 *   `CorruptEventError` when the log holds an entry that is not a valid event (nothing is swapped).
 */
export async function rebuild(redis: RedisClient, queueName: string, options: ReplayOptions = {}): Promise<RebuildReport> {
  const queue = toQueueName(queueName);
  return withShadow(redis, queue, async () => {
    const { lastId, replayed } = await replay(redis, queue, options);
    const [caughtUp, jobs] = (await runScript(redis, 'swapProjection', queue, (options.clock ?? systemClock).now(), [lastId], [
      ...scriptKeys(queue),
      ...shadowScriptKeys(queue),
    ])) as [number, number];
    return { replayed, caughtUp, jobs };
  });
}

/**
 * Replays the queue's history into a shadow read model and reports every difference with the
 * live one. Safe while publishers and workers run.
 */
export async function verify(
  redis: RedisClient,
  queueName: string,
  options: ReplayOptions & {
    /**
     * Most differences reported.
     * @default 100
     */
    maxDifferences?: number;
  } = {},
): Promise<VerifyReport> {
  const queue = toQueueName(queueName);
  return withShadow(redis, queue, async () => {
    const { lastId, replayed } = await replay(redis, queue, options);
    const reply = (await runScript(
      redis,
      'verifyProjection',
      queue,
      (options.clock ?? systemClock).now(),
      [lastId, options.maxDifferences ?? 100],
      [...scriptKeys(queue), ...shadowScriptKeys(queue)],
    )) as (number | string)[];
    const differences = reply.slice(2).map(String);
    return {
      replayed,
      caughtUp: Number(reply[0]),
      jobsCompared: Number(reply[1]),
      differences,
      clean: differences.length === 0,
    };
  });
}
