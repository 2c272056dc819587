/**
 * Repeatable jobs: cron expressions (with a time zone) and fixed intervals, stored per queue and
 * fired by {@link RepeatScheduler}s (every worker runs one by default).
 *
 * A schedule is dispatch state, not a read model: `sluice:{q}:repeat` (ZSET key → next due time)
 * and `sluice:{q}:repeat:<key>` (HASH: spec and job template). Each occurrence is an ordinary job
 * with the id `repeat:<key>:<occurrence ms>` whose `created` event carries `repeatKey`. The
 * fireRepeat script publishes an occurrence only for the caller that read the current due time
 * (compare-and-set), so several schedulers at once fire each occurrence exactly once.
 *
 * Missed runs (all schedulers down past one or more occurrences): by default (`missed:
 * 'run-once'`) the missed occurrences collapse into one run, for the latest of them, and the
 * schedule goes on from now; never a burst. With `missed: 'skip'` an occurrence more than
 * `graceMs` late is not run at all.
 *
 * @packageDocumentation
 */
import { Cron } from 'croner';
import type { RedisClient } from '../redis/connection.js';
import { scriptTime, systemClock, type Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { fireRepeat } from '../events/commands/index.js';
import type { PayloadRef } from '../events/types.js';
import { prepareJob, publishRecord, type JobOptions } from '../jobs/options.js';
import { PER_JOB_OPTIONS, type PerJobOption } from '../jobs/schema.js';
import { repeatKey, repeatPrefix, type QueueName } from '../core/keys.js';
import type { PayloadStore } from '../payloads/store.js';

/** When a repeatable job runs. Give exactly one of `cron` and `everyMs`. */
export interface RepeatSchedule {
  /** Cron expression: 5 fields (minute resolution) or 6 (seconds first), as croner reads them. */
  cron?: string;
  /**
   * IANA time zone the cron expression is read in (e.g. `Europe/Paris`).
   * @default UTC
   */
  tz?: string;
  /** Fixed interval in ms (at least 1000): runs at startAt, startAt + everyMs, … */
  everyMs?: number;
  /**
   * No run before this time.
   * @default now (cron: the first matching time after now; everyMs: now + everyMs)
   */
  startAt?: Date | number;
  /** No run after this time; then the schedule ends. @default never */
  endAt?: Date | number;
  /**
   * After downtime: `run-once` runs the latest missed occurrence once (never a burst); `skip`
   * drops occurrences more than `graceMs` late.
   * @default 'run-once'
   */
  missed?: 'run-once' | 'skip';
  /**
   * How late an occurrence may fire and still count as on time (for `missed: 'skip'`).
   * @default 60000
   */
  graceMs?: number;
}

/** A validated schedule as stored: times in ms. */
export type StoredSchedule = Omit<RepeatSchedule, 'startAt' | 'endAt'> & { startAt?: number; endAt?: number };

/** The job each occurrence publishes. */
export interface RepeatTemplate<P = unknown> {
  name: string;
  /** JSON payload (stored in the payload store for each occurrence). */
  payload?: P;
  /** Job options; those placing one job ({@link PER_JOB_OPTIONS}: id, time, dedupe, prerequisites) are set by the schedule and not allowed. */
  opts?: Omit<JobOptions, PerJobOption>;
}

/** A stored repeatable job. */
export interface RepeatableJob {
  key: string;
  schedule: StoredSchedule;
  template: RepeatTemplate;
  /** Next due time (ms); absent once the schedule ended. */
  nextRunAt?: number;
  /** Occurrences published so far. */
  runs: number;
  lastRunAt?: number;
  lastJobId?: string;
}

const KEY_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,150}$/;

function toMs(value: Date | number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) throw new ValidationError(field, 'must be a Date or ms since the epoch');
  return ms;
}

/** Validates a schedule and returns it normalised (times in ms). */
export function validateSchedule(schedule: RepeatSchedule): StoredSchedule {
  if (typeof schedule !== 'object' || schedule === null) throw new ValidationError('schedule', 'must be an object');
  for (const key of Object.keys(schedule)) {
    if (!['cron', 'tz', 'everyMs', 'startAt', 'endAt', 'missed', 'graceMs'].includes(key)) {
      throw new ValidationError(`schedule.${key}`, 'is not a schedule option');
    }
  }
  if ((schedule.cron === undefined) === (schedule.everyMs === undefined)) {
    throw new ValidationError('schedule', 'give exactly one of cron and everyMs');
  }
  const out: StoredSchedule = {};
  if (schedule.cron !== undefined) {
    if (typeof schedule.cron !== 'string' || schedule.cron.length > 200) throw new ValidationError('schedule.cron', 'must be a cron expression');
    try {
      // Computing a run also checks the time zone, which the constructor accepts unchecked.
      new Cron(schedule.cron, { timezone: schedule.tz ?? 'UTC', paused: true }).nextRun(new Date(0));
    } catch (error) {
      throw new ValidationError(schedule.tz === undefined ? 'schedule.cron' : 'schedule.cron/tz', `is not valid: ${(error as Error).message}`);
    }
    out.cron = schedule.cron;
    if (schedule.tz !== undefined) out.tz = schedule.tz;
  } else {
    const every = schedule.everyMs;
    if (typeof every !== 'number' || !Number.isInteger(every) || every < 1000) throw new ValidationError('schedule.everyMs', 'must be an integer of at least 1000');
    out.everyMs = every;
    if (schedule.tz !== undefined) throw new ValidationError('schedule.tz', 'applies to cron schedules only');
  }
  const startAt = toMs(schedule.startAt, 'schedule.startAt');
  const endAt = toMs(schedule.endAt, 'schedule.endAt');
  if (startAt !== undefined) out.startAt = startAt;
  if (endAt !== undefined) out.endAt = endAt;
  if (schedule.missed !== undefined) {
    if (schedule.missed !== 'run-once' && schedule.missed !== 'skip') throw new ValidationError('schedule.missed', 'must be run-once or skip');
    out.missed = schedule.missed;
  }
  if (schedule.graceMs !== undefined) {
    if (!Number.isInteger(schedule.graceMs) || schedule.graceMs < 0) throw new ValidationError('schedule.graceMs', 'must be an integer >= 0');
    out.graceMs = schedule.graceMs;
  }
  return out;
}

/** The first occurrence strictly after `after`, or undefined when the schedule has ended. */
export function nextOccurrence(schedule: StoredSchedule, after: number, anchor: number): number | undefined {
  let next: number | undefined;
  const from = Math.max(after, (schedule.startAt ?? Number.MIN_SAFE_INTEGER) - 1);
  if (schedule.cron !== undefined) {
    const cron = new Cron(schedule.cron, { timezone: schedule.tz ?? 'UTC', paused: true });
    next = cron.nextRun(new Date(from))?.getTime();
  } else {
    const every = schedule.everyMs as number;
    const first = schedule.startAt ?? anchor + every;
    next = from < first ? first : first + (Math.floor((from - first) / every) + 1) * every;
  }
  if (next === undefined || (schedule.endAt !== undefined && next > schedule.endAt)) return undefined;
  return next;
}

/** The latest occurrence at or before `now` (at least `notBefore`), or undefined. */
function latestOccurrence(schedule: StoredSchedule, now: number, notBefore: number, anchor: number): number {
  if (schedule.cron !== undefined) {
    const cron = new Cron(schedule.cron, { timezone: schedule.tz ?? 'UTC', paused: true });
    // previousRuns is strict and works in whole seconds: start one second past `now`.
    const [latest] = cron.previousRuns(1, new Date(Math.floor(now / 1000) * 1000 + 1000));
    const at = latest?.getTime();
    return at !== undefined && at >= notBefore && at <= now ? at : notBefore;
  }
  const every = schedule.everyMs as number;
  const first = schedule.startAt ?? anchor + every;
  if (now < first) return notBefore;
  return Math.max(notBefore, first + Math.floor((now - first) / every) * every);
}

/** Stores (or replaces) a repeatable job; its next run is computed from `now`. */
export async function upsertRepeatable(
  redis: RedisClient,
  queue: QueueName,
  key: string,
  schedule: RepeatSchedule,
  template: RepeatTemplate,
  now: number,
): Promise<RepeatableJob> {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) throw new ValidationError('key', 'must be 1 to 150 characters: letters, digits and ._:@/+=-');
  const spec = validateSchedule(schedule);
  if (typeof template !== 'object' || template === null) throw new ValidationError('template', 'must be {name, payload?, opts?}');
  for (const field of PER_JOB_OPTIONS) {
    if (template.opts && field in template.opts) throw new ValidationError(`template.opts.${field}`, 'is set by the schedule');
  }
  // Validates the template exactly as a publish would.
  prepareJob({ name: template.name, payload: template.payload, ...(template.opts ? { opts: template.opts } : {}) }, now, {}, 'template');
  const payloadJson = template.payload === undefined ? undefined : JSON.stringify(template.payload);
  if (payloadJson !== undefined && payloadJson.length > 64 * 1024) throw new ValidationError('template.payload', 'must be JSON of at most 64 KiB');
  const stored: RepeatTemplate = { name: template.name, ...(template.payload === undefined ? {} : { payload: template.payload }), ...(template.opts ? { opts: template.opts } : {}) };
  const next = nextOccurrence(spec, now, now);
  const tx = redis.multi();
  tx.del(repeatPrefix(queue) + key);
  tx.hset(repeatPrefix(queue) + key, 'schedule', JSON.stringify(spec), 'template', JSON.stringify(stored), 'anchor', String(now), 'runs', '0');
  if (next === undefined) tx.zrem(repeatKey(queue), key).hset(repeatPrefix(queue) + key, 'ended', '1');
  else tx.zadd(repeatKey(queue), next, key);
  await tx.exec();
  return { key, schedule: spec, template: stored, ...(next === undefined ? {} : { nextRunAt: next }), runs: 0 };
}

/** Removes a repeatable job (occurrences already published stay). @returns false when there was none. */
export async function removeRepeatable(redis: RedisClient, queue: QueueName, key: string): Promise<boolean> {
  const [[, removed]] = (await redis.multi().del(repeatPrefix(queue) + key).zrem(repeatKey(queue), key).exec()) as [[unknown, number]];
  return removed === 1;
}

function parseRepeatable(key: string, hash: Record<string, string>, next: string | null): RepeatableJob | undefined {
  if (!hash.schedule || !hash.template) return undefined;
  return {
    key,
    schedule: JSON.parse(hash.schedule) as StoredSchedule,
    template: JSON.parse(hash.template) as RepeatTemplate,
    ...(next === null ? {} : { nextRunAt: Number(next) }),
    runs: Number(hash.runs ?? 0),
    ...(hash.lastRunAt ? { lastRunAt: Number(hash.lastRunAt) } : {}),
    ...(hash.lastJobId ? { lastJobId: hash.lastJobId } : {}),
  };
}

/** One repeatable job, or undefined. */
export async function getRepeatable(redis: RedisClient, queue: QueueName, key: string): Promise<RepeatableJob | undefined> {
  const [hash, next] = await Promise.all([redis.hgetall(repeatPrefix(queue) + key), redis.zscore(repeatKey(queue), key)]);
  return parseRepeatable(key, hash, next);
}

/** Every scheduled repeatable job, soonest first (ended ones are not listed). */
export async function listRepeatables(redis: RedisClient, queue: QueueName): Promise<RepeatableJob[]> {
  const entries = await redis.zrange(repeatKey(queue), '0', '-1', 'WITHSCORES');
  const out: RepeatableJob[] = [];
  for (let i = 0; i < entries.length; i += 2) {
    const key = entries[i] as string;
    const job = parseRepeatable(key, await redis.hgetall(repeatPrefix(queue) + key), entries[i + 1] as string);
    if (job) out.push(job);
  }
  return out;
}

/** Options of {@link RepeatScheduler}. */
export interface RepeatSchedulerOptions {
  redis: RedisClient;
  queue: QueueName;
  /** Where occurrence payloads are stored (needed when templates carry a payload). */
  payloads?: PayloadStore;
  /** @default the system clock */
  clock?: Clock;
  /**
   * Most occurrences fired per tick.
   * @default 100
   */
  batch?: number;
}

/** What one {@link RepeatScheduler.tick} did. */
export interface RepeatTickReport {
  fired: number;
  skipped: number;
  /** Occurrences another scheduler got to first. */
  moved: number;
  /** Time of the earliest next occurrence (ms), or undefined when none is scheduled. */
  nextDue: number | undefined;
}

/** Fires due occurrences of a queue's repeatable jobs. Safe to run in many processes at once. */
export class RepeatScheduler {
  private readonly clock: Clock;

  constructor(private readonly options: RepeatSchedulerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Fires every occurrence due now (at most `batch`). */
  async tick(): Promise<RepeatTickReport> {
    const { redis, queue } = this.options;
    const now = this.clock.now();
    const report: RepeatTickReport = { fired: 0, skipped: 0, moved: 0, nextDue: undefined };
    const due = await redis.zrangebyscore(repeatKey(queue), '-inf', String(now), 'WITHSCORES', 'LIMIT', '0', String(this.options.batch ?? 100));
    for (let i = 0; i < due.length; i += 2) {
      const key = due[i] as string;
      const dueAt = Number(due[i + 1]);
      const hash = await redis.hgetall(repeatPrefix(queue) + key);
      if (!hash.schedule || !hash.template) continue;
      const outcome = await this.fire(key, dueAt, hash, now);
      report[outcome === 'fired' || outcome === 'duplicate' ? 'fired' : outcome === 'skipped' ? 'skipped' : 'moved']++;
    }
    const first = await redis.zrange(repeatKey(queue), '0', '0', 'WITHSCORES');
    if (first[1] !== undefined) report.nextDue = Number(first[1]);
    return report;
  }

  private async fire(key: string, dueAt: number, hash: Record<string, string>, now: number): Promise<string> {
    const { redis, queue, payloads } = this.options;
    const schedule = JSON.parse(hash.schedule as string) as StoredSchedule;
    const template = JSON.parse(hash.template as string) as RepeatTemplate;
    const anchor = Number(hash.anchor ?? now);
    // The occurrence to run: the due one, or after downtime the latest one missed.
    const occurrence = latestOccurrence(schedule, now, dueAt, anchor);
    const late = now - occurrence;
    const run = !(schedule.missed === 'skip' && late > (schedule.graceMs ?? 60_000));
    const next = nextOccurrence(schedule, Math.max(now, occurrence), anchor);
    const jobId = `repeat:${key}:${occurrence}`;
    const job = prepareJob({ name: template.name, opts: { ...template.opts, jobId } }, now, {}, 'template');
    let ref: PayloadRef | undefined;
    if (run && template.payload !== undefined) {
      if (!payloads) throw new ValidationError('payloads', `repeatable job ${key} has a payload but the scheduler has no payload store`);
      [ref] = await payloads.put(queue, [{ value: template.payload }]);
    }
    let outcome: string;
    try {
      outcome = await fireRepeat(redis, queue, scriptTime(this.clock), { key, dueAt, next, run, job: publishRecord(job, ref, queue, key) });
    } catch (error) {
      if (ref) await payloads?.delete(queue, [ref.id]).catch(() => undefined);
      throw error;
    }
    if (ref && outcome !== 'fired') await payloads?.delete(queue, [ref.id]).catch(() => undefined);
    return outcome;
  }
}
