/**
 * Rate limits and group limits: queue configuration kept in the meta hash, read by the claim
 * script (src/events/lua/claim.lua) and the group scheduler (src/events/lua/includes/groups.lua).
 *
 * Configuration is not job state, so changing it appends no event (like the retention policy).
 *
 * @packageDocumentation
 */
import type { RedisClient } from '../redis/connection.js';
import { ValidationError } from '../core/errors.js';
import { metaKey, type QueueName } from '../core/keys.js';

/** At most `max` jobs started in any window of `durationMs`. */
export interface RateLimit {
  /** Jobs (attempts) started per window; a retry counts as a start. */
  max: number;
  /** Window length in ms (sliding: any `durationMs`-long span holds at most `max` starts). */
  durationMs: number;
}

/** Limits of grouped jobs, for one group or as the default of every group. */
export interface GroupLimits {
  /**
   * Most jobs of the group active at once; `null` removes the limit.
   * @default no limit
   */
  concurrency?: number | null;
  /**
   * Rate limit of the group; `null` removes it.
   * @default no limit
   */
  rate?: RateLimit | null;
  /**
   * Share of the workers when groups compete: a group of weight 3 starts three jobs for every
   * one of a group of weight 1 while both have jobs waiting. `null` resets it.
   * @default 1
   */
  weight?: number | null;
}

function positiveInt(field: string, value: unknown, max = 1_000_000_000): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(field, `must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function validateRate(field: string, rate: RateLimit): [string, string] {
  if (typeof rate !== 'object' || rate === null) throw new ValidationError(field, 'must be {max, durationMs} or null');
  for (const key of Object.keys(rate)) {
    if (key !== 'max' && key !== 'durationMs') throw new ValidationError(`${field}.${key}`, 'is not a rate limit option');
  }
  return [String(positiveInt(`${field}.max`, rate.max)), String(positiveInt(`${field}.durationMs`, rate.durationMs, 86_400_000 * 30))];
}

/** Sets (or with `null` removes) the queue's rate limit, shared by every worker. */
export async function setRateLimit(redis: RedisClient, queue: QueueName, rate: RateLimit | null): Promise<void> {
  if (rate === null) {
    await redis.hdel(metaKey(queue), 'rate:max', 'rate:windowMs');
    return;
  }
  const [max, windowMs] = validateRate('rate', rate);
  await redis.hset(metaKey(queue), 'rate:max', max, 'rate:windowMs', windowMs);
}

/** The queue's rate limit, or `null`. */
export async function getRateLimit(redis: RedisClient, queue: QueueName): Promise<RateLimit | null> {
  const [max, windowMs] = await redis.hmget(metaKey(queue), 'rate:max', 'rate:windowMs');
  return max && windowMs ? { max: Number(max), durationMs: Number(windowMs) } : null;
}

const GROUP_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Sets limits of one group, or (without `group`) the defaults of every group. Options left out
 * are unchanged; `null` removes one. A per-group value wins over the default.
 */
export async function setGroupLimits(redis: RedisClient, queue: QueueName, limits: GroupLimits, group?: string): Promise<void> {
  if (typeof limits !== 'object' || limits === null) throw new ValidationError('limits', 'must be an object');
  for (const key of Object.keys(limits)) {
    if (!['concurrency', 'rate', 'weight'].includes(key)) throw new ValidationError(`limits.${key}`, 'is not a group limit');
  }
  if (group !== undefined && (typeof group !== 'string' || !GROUP_ID.test(group))) {
    throw new ValidationError('group', 'must be 1 to 200 printable ASCII characters without spaces');
  }
  const prefix = group === undefined ? 'groups:' : `group:${group}:`;
  const set: string[] = [];
  const del: string[] = [];
  if (limits.concurrency === null) del.push(`${prefix}concurrency`);
  else if (limits.concurrency !== undefined) set.push(`${prefix}concurrency`, String(positiveInt('limits.concurrency', limits.concurrency)));
  if (limits.weight === null) del.push(`${prefix}weight`);
  else if (limits.weight !== undefined) set.push(`${prefix}weight`, String(positiveInt('limits.weight', limits.weight, 1_000_000)));
  if (limits.rate === null) del.push(`${prefix}rate:max`, `${prefix}rate:windowMs`);
  else if (limits.rate !== undefined) {
    const [max, windowMs] = validateRate('limits.rate', limits.rate);
    set.push(`${prefix}rate:max`, max, `${prefix}rate:windowMs`, windowMs);
  }
  const tx = redis.multi();
  if (set.length > 0) tx.hset(metaKey(queue), ...set);
  if (del.length > 0) tx.hdel(metaKey(queue), ...del);
  await tx.exec();
}

/** The limits of one group as configured (per group, falling back to the defaults). */
export async function getGroupLimits(redis: RedisClient, queue: QueueName, group?: string): Promise<GroupLimits> {
  const own = group === undefined ? 'groups:' : `group:${group}:`;
  const fields = ['concurrency', 'rate:max', 'rate:windowMs', 'weight'];
  const [mine, defaults] = await Promise.all([
    redis.hmget(metaKey(queue), ...fields.map((f) => own + f)),
    redis.hmget(metaKey(queue), ...fields.map((f) => `groups:${f}`)),
  ]);
  const pick = (i: number): string | null => mine[i] ?? defaults[i] ?? null;
  const max = mine[1] ? mine[1] : defaults[1];
  const windowMs = mine[1] ? mine[2] : defaults[2];
  return {
    concurrency: pick(0) === null ? null : Number(pick(0)),
    rate: max && windowMs ? { max: Number(max), durationMs: Number(windowMs) } : null,
    weight: Number(pick(3) ?? 1),
  };
}
