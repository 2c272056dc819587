/**
 * Rebuild and verify the read models from the event log.
 *
 * Both replay the whole history — archived events first, then the live stream (see
 * src/history/replay.ts), with no gap and no duplicate at the seam — through the one projection
 * fold (src/projections/lua/fold.lua) into shadow keys (`sluice:{<queue>}:shadow:*`).
 * The last step runs in one script, so events appended meanwhile by publishers and workers are
 * folded in too: `rebuild` then swaps the shadow read model in; `verify` compares it with the
 * live one and reports every difference.
 *
 * The archiver may archive and trim while this runs: the replay holds the trim back to the last
 * event it has folded (`replayHold` in the queue's meta hash, honoured by trimEvents.lua, expiring
 * if the replay dies), so it reads the tail from the stream. The last step checks, atomically,
 * that the stream still holds every entry after the last one replayed (else — an archiver that
 * ignores the hold — the replay reads the archive again and retries) and that the events folded add up to the number the stream has
 * ever had appended (XINFO `entries-added`). A trimmed stream without an archive, or an archive
 * that does not reach the stream's first entry, is refused with `HistoryIncompleteError`
 * before anything is replayed: never a trimmed stream taken for the whole history.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { scanPrefix, unlinkKeys, type RedisClient } from '../redis/connection.js';
import { systemClock, type Clock } from '../core/clock.js';
import { HistoryIncompleteError, InvalidStateError } from '../core/errors.js';
import { replayBatches } from '../history/replay.js';
import { compareIds, type EventArchive } from '../history/archive.js';
import { streamExtent } from '../redis/stream-extent.js';
import type { StoredJobEvent } from '../events/types.js';
import { applyEvents, swapProjection, verifyProjection, type ReplayFinish } from '../events/commands/index.js';
import { eventsKey, legacyActiveStateKey, legacyWaitingStateKey, metaKey, scriptKeyMap, shadowLockKey, shadowPrefix, shadowScriptKeyMap, toQueueName, type QueueName } from '../core/keys.js';

/** Options of {@link rebuild} and {@link verify}. */
export interface ReplayOptions {
  /**
   * The event archive the queue is archived to. Required once the archiver has trimmed the
   * stream (`Queue.stats().stream.trimmed > 0`): without it the replay is refused with
   * `HistoryIncompleteError`.
   * @default none (the stream must hold the whole history)
   */
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
  // On a Redis Cluster only the master of the queue's slot is scanned.
  for await (const keys of scanPrefix(redis, shadowPrefix(queue))) await unlinkKeys(redis, keys.filter((k) => k !== lock));
}

/** Replay passes that chase the stream's end before the final, atomic step. */
const MAX_PASSES = 8;
/** Final steps refused because the archiver trimmed past the replay, before giving up. */
const MAX_FINAL_ATTEMPTS = 25;

/**
 * How long a replay hold lasts unless renewed: a replay that died releases the stream's trim
 * after this long.
 */
const HOLD_MS = 60_000;
/** A running replay renews its hold at least this often. */
const HOLD_RENEW_MS = 5_000;

/** Where a replay stands: the last event folded into the shadow read model, and how many. */
interface Folded {
  lastId: string;
  replayed: number;
  /** When the replay hold was last written. */
  heldAt: number;
}

/**
 * Tells the archiver (src/events/lua/trimEvents.lua) to keep every stream entry after
 * `folded.lastId` — the last event the replay folded — so the replay reads them from the stream,
 * and its final step finds them there, instead of chasing the archive while the archiver trims.
 */
async function hold(redis: RedisClient, queue: QueueName, folded: Folded, clock: Clock): Promise<void> {
  folded.heldAt = clock.now();
  await redis.hset(metaKey(queue), 'replayHold', `${folded.lastId} ${folded.heldAt + HOLD_MS}`);
}

/**
 * Refuses, before replaying anything, a history the replay could not see whole: a stream trimmed
 * after archiving with no archive given, or an archive that does not reach the stream's first
 * entry (the events in between are in neither).
 */
async function checkHistory(redis: RedisClient, queue: QueueName, archive: EventArchive | undefined): Promise<void> {
  const extent = await streamExtent(redis, eventsKey(queue));
  if (extent.trimmed === 0) return;
  const details = { appended: extent.appended, trimmed: extent.trimmed, firstId: extent.firstId };
  if (!archive) {
    throw new HistoryIncompleteError(
      queue,
      `the event stream of queue ${queue} was trimmed after archiving (${extent.trimmed} of ${extent.appended} events are only in the archive; ` +
        `it starts at ${extent.firstId ?? '(empty)'}): pass the archive (library: the archive option; CLI and service: the MongoDB URL the queue is archived to)`,
      details,
    );
  }
  const last = await archive.last(queue);
  if (!last || (extent.firstId !== null && compareIds(last.id, extent.firstId) < 0)) {
    throw new HistoryIncompleteError(
      queue,
      `the archive given ends at ${last?.id ?? '(no event of this queue)'} but the event stream of queue ${queue} starts at ${extent.firstId ?? '(empty)'} ` +
        `after ${extent.trimmed} trimmed events: the events in between are in neither; pass the archive the queue is archived to`,
      { ...details, archiveLastId: last?.id ?? null },
    );
  }
}

/** Id of the stream's last entry, or undefined when it is empty. */
async function newestId(redis: RedisClient, queue: QueueName): Promise<string | undefined> {
  const [newest] = await redis.xrevrange(eventsKey(queue), '+', '-', 'COUNT', 1);
  return newest?.[0];
}

/**
 * Folds the history after `folded.lastId` (archive, then stream, see src/history/replay.ts) up to
 * the stream's end as it is when the pass starts, into the shadow read model.
 * @returns the number of events folded by this pass.
 */
async function replayPass(redis: RedisClient, queue: QueueName, options: ReplayOptions, folded: Folded): Promise<number> {
  const clock = options.clock ?? systemClock;
  const keys = shadowScriptKeyMap(queue);
  // Up to the end as it is now: a producer faster than the replay cannot keep one pass chasing
  // the stream forever.
  const to = await newestId(redis, queue);
  let archive = options.archive;
  if (archive && folded.lastId !== '0-0') {
    // After the first pass the hold keeps every entry after lastId in the stream: read only the
    // stream (archive queries cost far more), unless an archiver that ignores holds trimmed it.
    const extent = await streamExtent(redis, eventsKey(queue));
    if (extent.trimmed === 0 || (extent.firstId !== null && compareIds(extent.firstId, folded.lastId) <= 0)) archive = undefined;
  }
  const batches = replayBatches(
    { redis, queue, ...(archive ? { archive } : {}) },
    {
      batchSize: options.batchSize ?? 500,
      ...(folded.lastId === '0-0' ? {} : { after: folded.lastId }),
      ...(to === undefined ? {} : { to }),
    },
  );
  let count = 0;
  for await (const batch of batches) {
    await applyEvents(redis, queue, clock.now(), keys, batch.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata })));
    count += batch.length;
    folded.replayed += batch.length;
    folded.lastId = (batch[batch.length - 1] as StoredJobEvent).id;
    if (clock.now() - folded.heldAt >= HOLD_RENEW_MS) await hold(redis, queue, folded, clock);
    options.onProgress?.(folded.replayed);
  }
  await hold(redis, queue, folded, clock);
  return count;
}

/**
 * Replays the whole history into the shadow read model, then runs `finish` — the final script,
 * which folds in what was appended since and swaps or compares, atomically. The final script
 * refuses (`behind`) when the archiver trimmed entries after the replay's last one: they are in
 * the archive now, so another pass folds them and the final step is tried again.
 */
async function replayThen<T>(
  redis: RedisClient,
  queue: QueueName,
  options: ReplayOptions,
  finish: (folded: Folded) => Promise<ReplayFinish<T>>,
): Promise<{ folded: Folded; result: T }> {
  const folded: Folded = { lastId: '0-0', replayed: 0, heldAt: 0 };
  // Nothing is trimmed from here on until the replay has folded it.
  await hold(redis, queue, folded, options.clock ?? systemClock);
  try {
    return await replayHeld(redis, queue, options, folded, finish);
  } finally {
    await redis.hdel(metaKey(queue), 'replayHold');
  }
}

/** {@link replayThen} once the hold is set: checks the history, replays it in passes, finishes. */
async function replayHeld<T>(
  redis: RedisClient,
  queue: QueueName,
  options: ReplayOptions,
  folded: Folded,
  finish: (folded: Folded) => Promise<ReplayFinish<T>>,
): Promise<{ folded: Folded; result: T }> {
  await checkHistory(redis, queue, options.archive);
  const batchSize = options.batchSize ?? 500;
  // Chase the end while passes get shorter, so the atomic step has only a short tail to fold.
  // When producers append faster than the replay folds, a pass is no shorter than the one
  // before: stop chasing, and let the atomic step fold that tail.
  let previous = Infinity;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const n = await replayPass(redis, queue, options, folded);
    if (n <= batchSize || n >= previous) break;
    previous = n;
  }
  for (let attempt = 1; ; attempt++) {
    const reply = await finish(folded);
    if (reply.status === 'ok') return { folded, result: reply };
    if (reply.status === 'mismatch') {
      throw new HistoryIncompleteError(
        queue,
        `the history replayed for queue ${queue} holds ${reply.folded} events but its event stream has had ${reply.appended} appended: ` +
          'the archive given is not this queue\'s (or holds events of an earlier queue of that name), or events are missing; nothing was changed',
        { folded: reply.folded, appended: reply.appended },
      );
    }
    if (!options.archive) {
      throw new HistoryIncompleteError(
        queue,
        `the event stream of queue ${queue} was trimmed during the replay (it now starts at ${reply.firstId}, after the last event replayed, ${folded.lastId}): ` +
          'pass the archive the queue is archived to',
        { firstId: reply.firstId, lastReplayed: folded.lastId },
      );
    }
    if (attempt >= MAX_FINAL_ATTEMPTS) {
      throw new HistoryIncompleteError(
        queue,
        `the archiver of queue ${queue} trimmed past the replay ${attempt} times in a row; nothing was changed, try again`,
        { attempts: attempt },
      );
    }
    await replayPass(redis, queue, options, folded);
  }
}

/**
 * Rebuilds the queue's read models from its whole history and swaps them in atomically. Safe
 * while publishers, workers and the archiver run: events they append during the replay are
 * folded in by the final, atomic step, which swaps only a replay that is complete. Also deletes
 * the `state:waiting` index that versions before the priority set served waiting jobs wrote.
 * @throws {@link InvalidStateError} when another rebuild or verify of the queue is running;
 *   {@link HistoryIncompleteError} when the history cannot be replayed whole (trimmed stream
 *   and no archive, or an archive that does not reach the stream; nothing is swapped);
 *   `CorruptEventError` when the log holds an entry that is not a valid event (nothing is swapped).
 */
export async function rebuild(redis: RedisClient, queueName: string, options: ReplayOptions = {}): Promise<RebuildReport> {
  const queue = toQueueName(queueName);
  return withShadow(redis, queue, async () => {
    const { folded, result } = await replayThen(redis, queue, options, async ({ lastId, replayed }) =>
      swapProjection(redis, queue, (options.clock ?? systemClock).now(), { live: scriptKeyMap(queue), shadow: shadowScriptKeyMap(queue) }, { lastId, replayed }),
    );
    // The waiting and active state indexes of older versions: stale, unread (waiting jobs are
    // served by the priority set, active jobs are the lanes' pending entries, src/queue/active.ts).
    await redis.unlink(legacyWaitingStateKey(queue), legacyActiveStateKey(queue));
    return { replayed: folded.replayed, caughtUp: result.caughtUp, jobs: result.jobs };
  });
}

/**
 * Replays the queue's whole history into a shadow read model and reports every difference with
 * the live one. Safe while publishers, workers and the archiver run.
 * @throws {@link InvalidStateError} when another rebuild or verify of the queue is running;
 *   {@link HistoryIncompleteError} when the history cannot be replayed whole.
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
    const { folded, result } = await replayThen(redis, queue, options, async ({ lastId, replayed }) =>
      verifyProjection(
        redis,
        queue,
        (options.clock ?? systemClock).now(),
        { live: scriptKeyMap(queue), shadow: shadowScriptKeyMap(queue) },
        { lastId, replayed, maxDifferences: options.maxDifferences ?? 100 },
      ),
    );
    const { differences } = result;
    return {
      replayed: folded.replayed,
      caughtUp: result.caughtUp,
      jobsCompared: result.jobsCompared,
      differences,
      clean: differences.length === 0,
    };
  });
}
