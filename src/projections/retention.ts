/**
 * Retention of finished jobs in the read models (like BullMQ's removeOnComplete/removeOnFail):
 * completed, dead and cancelled jobs leave the read models by age and by count, through `removed` events
 * (reason `retention`). Their events stay in the log and the archive, and the payload references
 * in those events stay auditable.
 *
 * @packageDocumentation
 */
import type { RedisClient } from '../redis/connection.js';
import { ValidationError } from '../core/errors.js';
import { removeExpired } from '../events/commands/index.js';
import { metaKey, toQueueName } from '../core/keys.js';
import type { ScriptTime } from '../core/clock.js';

/** Limits for one finished state. `null` means no limit. */
export interface RetentionLimits {
  /** Remove jobs that finished longer ago than this. */
  maxAgeMs?: number | null;
  /** Keep at most this many (the newest). */
  maxCount?: number | null;
}

/** A queue's retention policy. */
export interface RetentionPolicy {
  completed?: RetentionLimits;
  dead?: RetentionLimits;
  cancelled?: RetentionLimits;
}

/** Defaults: completed jobs for 1 day / 10,000 jobs; dead and cancelled jobs for 7 days / 100,000 jobs. */
export const DEFAULT_RETENTION = {
  completed: { maxAgeMs: 86_400_000, maxCount: 10_000 },
  dead: { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
  cancelled: { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
} as const satisfies Required<{ [S in keyof RetentionPolicy]: { maxAgeMs: number | null; maxCount: number | null } }>;

type Field = `retention:${'completed' | 'dead' | 'cancelled'}:${'maxAgeMs' | 'maxCount'}`;

function validate(field: string, value: unknown): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, `must be a non-negative integer or null (no limit), got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Stores a queue's policy. A limit left out returns to its default; `null` removes the limit.
 */
export async function setRetention(redis: RedisClient, queueName: string, policy: RetentionPolicy): Promise<void> {
  const queue = toQueueName(queueName);
  const set: string[] = [];
  const reset: string[] = [];
  for (const state of ['completed', 'dead', 'cancelled'] as const) {
    const limits = policy[state];
    if (limits !== undefined && (typeof limits !== 'object' || limits === null)) throw new ValidationError(`retention.${state}`, 'must be an object');
    for (const limit of ['maxAgeMs', 'maxCount'] as const) {
      const value = validate(`retention.${state}.${limit}`, limits?.[limit]);
      const field: Field = `retention:${state}:${limit}`;
      if (value === undefined) reset.push(field);
      else set.push(field, String(value ?? -1));
    }
  }
  const tx = redis.multi();
  if (reset.length > 0) tx.hdel(metaKey(queue), ...reset);
  if (set.length > 0) tx.hset(metaKey(queue), ...set);
  await tx.exec();
}

/** The queue's effective policy (defaults filled in; `null` = no limit). */
export async function getRetention(redis: RedisClient, queueName: string): Promise<Required<{ [S in keyof RetentionPolicy]: { maxAgeMs: number | null; maxCount: number | null } }>> {
  const queue = toQueueName(queueName);
  const [ca, cc, da, dc, xa, xc] = await redis.hmget(
    metaKey(queue),
    'retention:completed:maxAgeMs',
    'retention:completed:maxCount',
    'retention:dead:maxAgeMs',
    'retention:dead:maxCount',
    'retention:cancelled:maxAgeMs',
    'retention:cancelled:maxCount',
  );
  const read = (text: string | null | undefined, fallback: number): number | null => {
    if (text === null || text === undefined) return fallback;
    const value = Number(text);
    return value < 0 ? null : value;
  };
  return {
    completed: { maxAgeMs: read(ca, DEFAULT_RETENTION.completed.maxAgeMs), maxCount: read(cc, DEFAULT_RETENTION.completed.maxCount) },
    dead: { maxAgeMs: read(da, DEFAULT_RETENTION.dead.maxAgeMs), maxCount: read(dc, DEFAULT_RETENTION.dead.maxCount) },
    cancelled: { maxAgeMs: read(xa, DEFAULT_RETENTION.cancelled.maxAgeMs), maxCount: read(xc, DEFAULT_RETENTION.cancelled.maxCount) },
  };
}

/**
 * Applies the policy once, removing at most `limit` jobs. `now` is the time ages are measured
 * against: the Redis server's clock or an injected clock's reading (see `ScriptTime`).
 */
export async function applyRetention(
  redis: RedisClient,
  queueName: string,
  now: ScriptTime,
  limit = 1000,
): Promise<{ completed: number; dead: number; cancelled: number }> {
  const queue = toQueueName(queueName);
  return removeExpired(redis, queue, now, limit, DEFAULT_RETENTION);
}
