/**
 * Time travel: the queue as it was at a past moment — jobs per state and the jobs that were
 * waiting and active — computed by replaying the history (archive, then stream; see replay.ts)
 * up to that moment through the one projection fold (`applyEvents`, the script rebuild uses) into
 * a private read model (`sluice:{<queue>}:asof:<run>:*`), which is read and then deleted.
 *
 * The cost is the replay: every event up to the moment is read and folded once (see
 * docs/CONSOLE.md for the measured time per million events). `maxEvents` bounds it: a moment
 * further into the history than that is refused before more work is done. The private keys
 * carry a TTL, so a process that dies mid-replay leaves nothing behind for long.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { applyEvents } from '../events/commands/index.js';
import { asOfPrefix, asOfScriptKeyMap, JOB_STATES, toJobId, toQueueName, type JobState } from '../core/keys.js';
import { parseJobHash, type Job } from '../projections/job.js';
import { replayBatches, type ReplaySource } from '../history/replay.js';

/** Options of {@link queueAsOf}. */
export interface AsOfOptions {
  /** Most events replayed; a moment that needs more is refused. @default 250,000 (DEFAULT_AS_OF_MAX_EVENTS) */
  maxEvents?: number;
  /** Most waiting and active jobs listed (each). @default 100 */
  listLimit?: number;
  /** Events folded per script call. @default 1000 */
  batchSize?: number;
  /** @default the system clock */
  clock?: Clock;
}

/** The queue at a past moment. */
export interface QueueAsOf {
  queue: string;
  /** The moment (ms since the epoch): every event at or before it was replayed. */
  at: number;
  /** Events replayed. */
  events: number;
  /** Stream id of the last event replayed (absent when none was). */
  lastEventId?: string;
  counts: Record<JobState, number>;
  /** Jobs waiting at that moment, by priority then arrival (at most `listLimit`). */
  waiting: Job[];
  /** Jobs active at that moment (at most `listLimit`). */
  active: Job[];
  /** Milliseconds the replay took. */
  tookMs: number;
}

/** Default of {@link AsOfOptions.maxEvents}. */
export const DEFAULT_AS_OF_MAX_EVENTS = 250_000;
const KEY_TTL_MS = 10 * 60_000;

/**
 * Replays the queue's history up to `at` and reports its state then.
 * @throws {@link ValidationError} for a bad moment or option, or when more than `maxEvents`
 *   events precede the moment.
 */
export async function queueAsOf(source: ReplaySource, at: number, options: AsOfOptions = {}): Promise<QueueAsOf> {
  const queue = toQueueName(source.queue);
  if (!Number.isSafeInteger(at) || at < 0) throw new ValidationError('at', 'must be milliseconds since the epoch');
  const maxEvents = options.maxEvents ?? DEFAULT_AS_OF_MAX_EVENTS;
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) throw new ValidationError('maxEvents', 'must be a positive integer');
  const listLimit = options.listLimit ?? 100;
  if (!Number.isInteger(listLimit) || listLimit < 1 || listLimit > 1000) throw new ValidationError('listLimit', 'must be an integer from 1 to 1000');
  const clock = options.clock ?? systemClock;
  const { redis } = source;
  const run = randomUUID();
  const prefix = asOfPrefix(queue, run);
  const keys = asOfScriptKeyMap(queue, run);
  const fixedKeys = [`${prefix}counts`, `${prefix}priority`, ...keys.states];
  const jobIds = new Set<string>();
  const started = performance.now();
  let events = 0;
  let lastEventId: string | undefined;
  try {
    for await (const batch of replayBatches(source, { to: at, batchSize: options.batchSize ?? 1000 })) {
      events += batch.length;
      if (events > maxEvents) {
        throw new ValidationError('at', `more than ${maxEvents} events precede this moment; time travel replays at most ${maxEvents}`);
      }
      const fresh: string[] = [];
      for (const e of batch) {
        if (!jobIds.has(e.metadata.jobId)) {
          jobIds.add(e.metadata.jobId);
          fresh.push(e.metadata.jobId);
        }
      }
      await applyEvents(redis, queue, clock.now(), keys, batch.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata })));
      lastEventId = batch[batch.length - 1]?.id;
      const expire = redis.pipeline();
      for (const key of events === batch.length ? fixedKeys : []) expire.pexpire(key, KEY_TTL_MS);
      for (const id of fresh) expire.pexpire(`${prefix}job:${id}`, KEY_TTL_MS);
      await expire.exec();
    }
    const [counts, waitingIds, activeIds] = await Promise.all([
      redis.hgetall(`${prefix}counts`),
      redis.zrange(`${prefix}priority`, '0', String(listLimit - 1)),
      redis.zrange(`${prefix}state:active`, '0', String(listLimit - 1)),
    ]);
    const read = async (ids: string[]): Promise<Job[]> => {
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(`${prefix}job:${toJobId(id)}`);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([, hash]) => parseJobHash(queue, hash as Record<string, string>)).filter((job): job is Job => job !== undefined);
    };
    return {
      queue,
      at,
      events,
      ...(lastEventId === undefined ? {} : { lastEventId }),
      counts: Object.fromEntries(JOB_STATES.map((s) => [s, Number(counts[s] ?? 0)])) as Record<JobState, number>,
      waiting: await read(waitingIds),
      active: await read(activeIds),
      tookMs: Math.round(performance.now() - started),
    };
  } finally {
    const all = [...fixedKeys, ...[...jobIds].map((id) => `${prefix}job:${id}`)];
    for (let i = 0; i < all.length; i += 1000) await redis.unlink(...all.slice(i, i + 1000)).catch(() => undefined);
  }
}
