/**
 * Job search: by id (exact or prefix), name, state, time range, error text and payload fields.
 *
 * How each criterion is served (every query is bounded; see docs/CONSOLE.md):
 * - `id`: one read of the job hash.
 * - `payload`: an equality query per term on the payload collection's multikey index `terms_1`
 *   (see src/payloads/terms.ts), then one read per job found.
 * - otherwise: a walk of the state indexes (`sluice:{q}:state:<state>`, scored by the time the
 *   job entered that state), newest first, restricted to `from`..`to` by score, reading job
 *   hashes in pipelined batches and keeping those that match. Waiting jobs are indexed by the
 *   priority set (`sluice:{q}:priority`, scored by `priorityScore(priority, time)`): it is walked
 *   one priority band at a time, highest priority first, each band newest first with `from`..`to`
 *   shifted into the band's scores. Active jobs have no index: they are read whole from the
 *   lanes' pending entries (src/queue/active.ts, bounded by the workers' concurrency), scored by
 *   claim time, and walked the same way, newest claim first. At most `maxScan` jobs are read per
 *   call; `nextCursor` continues the walk.
 * The other criteria filter what those reads return.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../core/errors.js';
import { JOB_STATES, jobKey, PRIORITY_BAND, PRIORITY_LEVELS, priorityKey, priorityScore, stateKey, toJobId, toQueueName, type JobState, type QueueName } from '../core/keys.js';
import { parseJobHash, type Job } from '../projections/job.js';
import type { RedisClient } from '../redis/connection.js';
import { searchTerms } from '../payloads/terms.js';
import { activeJobs } from './active.js';

/** What to look for. Criteria combine with AND. */
export interface JobSearch {
  /** Exactly this job id. */
  id?: string;
  /** Job ids starting with this text. */
  idPrefix?: string;
  /** Exactly this job name. */
  name?: string;
  /** Only jobs in this state. */
  state?: JobState;
  /** Jobs that entered their current state at or after this time (ms since the epoch). */
  from?: number;
  /** Jobs that entered their current state at or before this time (ms since the epoch). */
  to?: number;
  /** Text in the last error's name, message or stack (case-insensitive). */
  error?: string;
  /** A payload field (dotted path) equal to a value (text, or the number/boolean/null it spells). */
  payload?: { path: string; value: string };
  /** Most jobs returned. @default 50 (1..500) */
  limit?: number;
  /** Jobs read per call before returning. @default 5000 (1..100000) */
  maxScan?: number;
  /** From the previous result's `nextCursor`. */
  cursor?: string;
}

/** Answer of {@link searchJobs}. */
export interface JobSearchResult {
  jobs: Job[];
  /** Jobs read to answer. */
  scanned: number;
  /** How the candidates were found: `id`, `payload` (index `terms_1`) or `state-index`. */
  via: 'id' | 'payload' | 'state-index';
  /** More may match: pass as `cursor` to go on. */
  nextCursor?: string;
}

/** What search needs of the payload store: the term query of `MongoPayloadStore`. */
export interface TermIndex {
  findJobsByTerms(queue: string, terms: readonly string[], options: { limit: number; skip?: number }): Promise<string[]>;
}

const PATH_PATTERN = /^[A-Za-z0-9_$-]{1,100}(?:\.[A-Za-z0-9_$-]{1,100}){0,7}$/;

function int(value: number | undefined, fallback: number, min: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new ValidationError(field, `must be an integer from ${min} to ${max}`);
  return value;
}

/** Validates a search; throws {@link ValidationError} naming the bad field. */
export function checkSearch(search: JobSearch): void {
  if (search.id !== undefined) toJobId(search.id, 'id');
  if (search.idPrefix !== undefined && (search.idPrefix === '' || search.idPrefix.length > 200)) throw new ValidationError('idPrefix', 'must be 1 to 200 characters');
  if (search.name !== undefined && (search.name === '' || search.name.length > 200)) throw new ValidationError('name', 'must be 1 to 200 characters');
  if (search.state !== undefined && !(JOB_STATES as readonly string[]).includes(search.state)) throw new ValidationError('state', `must be one of ${JOB_STATES.join(', ')}`);
  for (const field of ['from', 'to'] as const) {
    const v = search[field];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ValidationError(field, 'must be milliseconds since the epoch');
  }
  if (search.from !== undefined && search.to !== undefined && search.from > search.to) throw new ValidationError('from', 'must not be after to');
  if (search.error !== undefined && (search.error === '' || search.error.length > 500)) throw new ValidationError('error', 'must be 1 to 500 characters');
  if (search.payload !== undefined) {
    if (!PATH_PATTERN.test(search.payload.path)) throw new ValidationError('payload', 'the field must be a dotted path of letters, digits, _, $ and - (at most 8 parts)');
    if (search.payload.value.length > 200) throw new ValidationError('payload', 'the value must be at most 200 characters');
  }
  int(search.limit, 50, 1, 500, 'limit');
  int(search.maxScan, 5000, 1, 100_000, 'maxScan');
}

function matches(job: Job, search: JobSearch, score?: number): boolean {
  if (search.id !== undefined && job.id !== search.id) return false;
  if (search.idPrefix !== undefined && !job.id.startsWith(search.idPrefix)) return false;
  if (search.name !== undefined && job.name !== search.name) return false;
  if (search.state !== undefined && job.state !== search.state) return false;
  const entered = score ?? job.updatedAt;
  if (search.from !== undefined && entered < search.from) return false;
  if (search.to !== undefined && entered > search.to) return false;
  if (search.error !== undefined) {
    const e = job.lastError;
    if (!e) return false;
    const needle = search.error.toLowerCase();
    if (![e.name, e.message, e.stack ?? ''].some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** One sorted set (or one priority band of the priority set) the state-index walk reads. */
interface IndexSegment {
  key: string;
  /** Subtracted from a score to get the time the job entered its state (a band's base). */
  base: number;
  /** Score bounds of `from`..`to`, for ZREVRANGEBYSCORE. */
  max: string;
  min: string;
}

/** The segment of the active jobs, which have no index (read from the lanes' pending entries). */
const ACTIVE = 'active';

/** One step of the state-index walk. */
type Segment = IndexSegment | typeof ACTIVE;

/**
 * The segments of the state-index walk, in walk order: one per state index, for `waiting` one
 * per priority band of the priority set, highest priority first, and for `active` the active
 * jobs.
 */
function segments(queue: QueueName, states: readonly JobState[], from: number | undefined, to: number | undefined): Segment[] {
  const out: Segment[] = [];
  for (const state of states) {
    if (state === 'active') {
      out.push(ACTIVE);
      continue;
    }
    if (state !== 'waiting') {
      out.push({ key: stateKey(queue, state), base: 0, max: to === undefined ? '+inf' : String(to), min: from === undefined ? '-inf' : String(from) });
      continue;
    }
    for (let p = PRIORITY_LEVELS - 1; p >= 0; p--) {
      const base = priorityScore(p, 0);
      // A band's scores are base + time, 0 <= time < PRIORITY_BAND.
      out.push({ key: priorityKey(queue), base, max: String(base + (to ?? PRIORITY_BAND - 1)), min: String(base + (from ?? 0)) });
    }
  }
  return out;
}

async function readJobs(redis: RedisClient, queue: QueueName, ids: readonly string[]): Promise<(Job | undefined)[]> {
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(jobKey(queue, toJobId(id)));
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, hash]) => {
    if (error) throw error;
    return parseJobHash(queue, hash as Record<string, string>);
  });
}

/**
 * Finds jobs of one queue. See the module comment for how each criterion is served.
 * @param terms - the payload store's term index; needed for `payload` searches.
 * @throws {@link ValidationError} for a bad search or cursor.
 */
export async function searchJobs(redis: RedisClient, queueName: string, search: JobSearch, terms?: TermIndex): Promise<JobSearchResult> {
  const queue = toQueueName(queueName);
  checkSearch(search);
  const limit = search.limit ?? 50;
  const maxScan = search.maxScan ?? 5000;

  if (search.id !== undefined) {
    const [job] = await readJobs(redis, queue, [search.id]);
    return { jobs: job && matches(job, search) ? [job] : [], scanned: 1, via: 'id' };
  }

  if (search.payload !== undefined) {
    if (!terms) throw new ValidationError('payload', 'this queue has no payload store to search');
    const skip = search.cursor === undefined ? 0 : Number(/^p:(\d{1,9})$/.exec(search.cursor)?.[1] ?? NaN);
    if (!Number.isInteger(skip)) throw new ValidationError('cursor', 'is not a cursor returned by this search');
    const ids = await terms.findJobsByTerms(queue, searchTerms(search.payload.path, search.payload.value), { limit: Math.min(maxScan, 1000), skip });
    const jobs = (await readJobs(redis, queue, ids)).filter((job): job is Job => job !== undefined && matches(job, search));
    return {
      jobs: jobs.slice(0, limit),
      scanned: ids.length,
      via: 'payload',
      ...(ids.length >= Math.min(maxScan, 1000) ? { nextCursor: `p:${skip + ids.length}` } : {}),
    };
  }

  const walk = segments(queue, search.state === undefined ? JOB_STATES : [search.state], search.from, search.to);
  // The cursor `s:<segment>:<offset>` names a segment of `walk` and an offset in it.
  let stateIndex = 0;
  let offset = 0;
  if (search.cursor !== undefined) {
    const m = /^s:(\d{1,2}):(\d{1,9})$/.exec(search.cursor);
    if (!m || Number(m[1]) >= walk.length) throw new ValidationError('cursor', 'is not a cursor returned by this search');
    stateIndex = Number(m[1]);
    offset = Number(m[2]);
  }
  const jobs: Job[] = [];
  let scanned = 0;
  while (stateIndex < walk.length) {
    const batch = Math.min(500, maxScan - scanned);
    if (batch <= 0 || jobs.length >= limit) return { jobs, scanned, via: 'state-index', nextCursor: `s:${stateIndex}:${offset}` };
    const segment = walk[stateIndex] as Segment;
    const ids: string[] = [];
    const scores: number[] = [];
    let read: (Job | undefined)[];
    if (segment === ACTIVE) {
      // Newest claim first, like ZREVRANGEBYSCORE (ties by id, descending).
      const active = (await activeJobs(redis, queue))
        .filter((a) => (search.from === undefined || a.claimedAt >= search.from) && (search.to === undefined || a.claimedAt <= search.to))
        .reverse()
        .slice(offset, offset + batch);
      for (const a of active) {
        ids.push(a.job.id);
        scores.push(a.claimedAt);
      }
      read = active.map((a) => a.job);
    } else {
      const reply = await redis.zrevrangebyscore(segment.key, segment.max, segment.min, 'WITHSCORES', 'LIMIT', offset, batch);
      for (let i = 0; i + 1 < reply.length; i += 2) {
        ids.push(reply[i] as string);
        scores.push(Number(reply[i + 1]) - segment.base);
      }
      read = await readJobs(redis, queue, ids);
    }
    for (const [i, job] of read.entries()) {
      offset++;
      scanned++;
      if (job && matches(job, search, scores[i])) {
        jobs.push(job);
        if (jobs.length >= limit) break;
      }
    }
    if (jobs.length >= limit) {
      // Continue after the last job returned (the rest of this batch is read again next time).
      return { jobs, scanned, via: 'state-index', nextCursor: `s:${stateIndex}:${offset}` };
    }
    if (ids.length < batch) {
      stateIndex++;
      offset = 0;
    }
  }
  return { jobs, scanned, via: 'state-index' };
}
