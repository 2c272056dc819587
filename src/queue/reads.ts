/**
 * The read side of a {@link Queue}: job pages by state, a job's history (refusing a partial
 * one), queue stats and live workers. Plain functions over one Redis connection; `Queue` exposes
 * them as methods.
 *
 * @packageDocumentation
 */
import { HistoryIncompleteError, ValidationError } from '../core/errors.js';
import {
  countsKey,
  eventsKey,
  JOB_STATES,
  jobKey,
  metaKey,
  PRIORITY_BAND,
  PRIORITY_LEVELS,
  priorityKey,
  priorityScore,
  stateIndexKey,
  toJobId,
  workersKey,
  type JobState,
  type QueueName,
} from '../core/keys.js';
import type { EventArchive } from '../history/archive.js';
import { jobHistory } from '../history/replay.js';
import type { StoredJobEvent } from '../events/types.js';
import { parseJobHash, type Job } from '../projections/job.js';
import { activeJobs } from './active.js';
import type { RedisClient } from '../redis/connection.js';
import { streamExtent, type StreamExtent } from '../redis/stream-extent.js';

/** Jobs per state plus totals. */
export interface QueueStats {
  queue: string;
  paused: boolean;
  counts: Record<JobState, number>;
  /** Events appended per type since the queue was created. */
  events: Record<string, number>;
  /**
   * How much of the history the event stream still holds: `trimmed` events (appended before
   * `firstId`) were archived and trimmed, and are only in the archive; `verify`, `rebuild` and
   * `history` need the archive once `trimmed` is above 0.
   */
  stream: StreamExtent;
  /**
   * When the job that has waited longest entered the waiting state (ms since the epoch; the least
   * entry time across the priority bands of the priority set). Absent when no job waits.
   */
  oldestWaitingAt?: number;
}

/** One page of {@link Queue.list}. */
export interface JobPage {
  jobs: Job[];
  /** Pass back to get the next page; absent on the last page. */
  nextCursor?: string;
}

/** A worker seen on the queue. */
export interface WorkerInfo {
  id: string;
  lastSeen: number;
}

/**
 * Jobs in one state, a page at a time (see {@link Queue.list}): oldest first (by the time they
 * entered the state), except `waiting`: dispatch order, highest priority first, then arrival,
 * and `active`: oldest claim first. Active jobs have no state index: they are read whole from
 * the lanes' pending entries (src/queue/active.ts, bounded by the workers' concurrency), ordered
 * by claim time, then paged.
 */
export async function listJobs(redis: RedisClient, queue: QueueName, state: JobState, options: { cursor?: string; limit?: number }): Promise<JobPage> {
  if (!(JOB_STATES as readonly string[]).includes(state)) {
    throw new ValidationError('state', `must be one of ${JOB_STATES.join(', ')}`);
  }
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit', 'must be an integer from 1 to 1000');
  const offset = options.cursor === undefined ? 0 : Number(options.cursor);
  if (!Number.isInteger(offset) || offset < 0) throw new ValidationError('cursor', 'is not a cursor returned by list');
  if (state === 'active') {
    const active = await activeJobs(redis, queue);
    const jobs = active.slice(offset, offset + limit).map((a) => a.job);
    return active.length > offset + limit ? { jobs, nextCursor: String(offset + limit) } : { jobs };
  }
  const ids = await redis.zrange(stateIndexKey(queue, state), String(offset), String(offset + limit));
  const page = ids.slice(0, limit);
  const pipeline = redis.pipeline();
  for (const id of page) pipeline.hgetall(jobKey(queue, toJobId(id)));
  const replies = (await pipeline.exec()) ?? [];
  const jobs: Job[] = [];
  for (const [error, hash] of replies) {
    if (error) throw error;
    const job = parseJobHash(queue, hash as Record<string, string>);
    if (job) jobs.push(job);
  }
  return ids.length > limit ? { jobs, nextCursor: String(offset + limit) } : { jobs };
}

/** Every event of one job, archive first when given (see {@link Queue.history}). */
export async function checkedJobHistory(redis: RedisClient, queue: QueueName, jobId: string, archive: EventArchive | undefined): Promise<StoredJobEvent[]> {
  const id = toJobId(jobId);
  const events = await jobHistory({ redis, queue, ...(archive ? { archive } : {}) }, id);
  if (archive) return events;
  // Per-job sequence numbers start at 1 and have no gaps: a history that starts later, or a
  // job the read model knows with no event left in a trimmed stream, lost its head to the trim.
  const first = events[0];
  const headTrimmed = first ? first.metadata.seq > 1 : (await streamExtent(redis, eventsKey(queue))).trimmed > 0 && parseJobHash(queue, await redis.hgetall(jobKey(queue, id))) !== undefined;
  if (headTrimmed) {
    throw new HistoryIncompleteError(
      queue,
      `the first events of job ${id} were archived and trimmed from the event stream of queue ${queue}: give the Queue its archive option for the whole history`,
      { jobId: id },
    );
  }
  return events;
}

/** Jobs per state, events per type, the pause flag and the stream's extent. */
export async function queueStats(redis: RedisClient, queue: QueueName): Promise<QueueStats> {
  const [counts, paused] = await Promise.all([redis.hgetall(countsKey(queue)), redis.hget(metaKey(queue), 'paused').then((v) => v === '1')]);
  const states = Object.fromEntries(JOB_STATES.map((s) => [s, Number(counts[s] ?? 0)])) as Record<JobState, number>;
  const events: Record<string, number> = {};
  for (const [field, value] of Object.entries(counts)) {
    if (field.startsWith('events:')) events[field.slice('events:'.length)] = Number(value);
  }
  const [stream, oldestWaitingAt] = await Promise.all([streamExtent(redis, eventsKey(queue)), oldestWaitingTime(redis, queue)]);
  return { queue, paused, counts: states, events, stream, ...(oldestWaitingAt === undefined ? {} : { oldestWaitingAt }) };
}

/**
 * When the longest-waiting job entered the waiting state (ms), or `undefined` when none waits:
 * the first entry of each priority band of the priority set (score = band base + time), least
 * time of them. One pipelined round trip of PRIORITY_LEVELS ZRANGEBYSCORE … LIMIT 0 1.
 */
export async function oldestWaitingTime(redis: RedisClient, queue: QueueName): Promise<number | undefined> {
  const pipeline = redis.pipeline();
  for (let lane = 0; lane < PRIORITY_LEVELS; lane++) {
    const base = priorityScore(lane, 0);
    pipeline.zrangebyscore(priorityKey(queue), String(base), String(base + PRIORITY_BAND - 1), 'WITHSCORES', 'LIMIT', 0, 1);
  }
  const replies = (await pipeline.exec()) ?? [];
  let oldest: number | undefined;
  for (const [lane, [error, reply]] of replies.entries()) {
    if (error) throw error;
    const range = reply as string[];
    if (range.length < 2) continue;
    const time = Number(range[1]) - priorityScore(lane, 0);
    if (oldest === undefined || time < oldest) oldest = time;
  }
  return oldest;
}

/** Workers whose last heartbeat is at or after `since` (ms), most recent first. */
export async function queueWorkers(redis: RedisClient, queue: QueueName, since: number): Promise<WorkerInfo[]> {
  const reply = await redis.zrevrangebyscore(workersKey(queue), '+inf', String(since), 'WITHSCORES');
  const out: WorkerInfo[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push({ id: reply[i] as string, lastSeen: Number(reply[i + 1]) });
  return out;
}
