/**
 * Shared helpers of the dispatch tests: a fresh queue name per test (its own hash tag, so tests
 * never collide and never flush), cleanup through the product's keys, and polling waits.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { decodeEvent } from '../../src/events/codec.js';
import type { StoredJobEvent } from '../../src/events/types.js';
import { eventsKey, queuePrefix, toQueueName } from '../../src/core/keys.js';
import { scanKeys, unlinkKeys, type RedisClient } from '../../src/redis/connection.js';

/** A queue name no other test uses. */
export function testQueueName(): string {
  return `t-${randomUUID()}`;
}

/** A connection to the run's shared Redis. */
export function testRedis(): Redis {
  return new Redis(inject('redisUrl'), { maxRetriesPerRequest: 3 });
}

/** Deletes every key of `queue` (SCAN on its prefix; never FLUSHDB). On a Cluster, SCAN of the queue's master only. */
export async function dropQueue(redis: RedisClient, queue: string): Promise<void> {
  const prefix = queuePrefix(toQueueName(queue));
  const pattern = `${prefix.replace(/[{}[\]*?]/g, (c) => `\\${c}`)}*`;
  for await (const keys of scanKeys(redis, pattern, { slotKey: prefix })) await unlinkKeys(redis, keys);
}

/** Every event of the queue's log, decoded. */
export async function allEvents(redis: RedisClient, queue: string): Promise<StoredJobEvent[]> {
  const out: StoredJobEvent[] = [];
  let start = '-';
  for (;;) {
    const batch = await redis.xrange(eventsKey(toQueueName(queue)), start, '+', 'COUNT', 5000);
    for (const [id, fields] of batch) out.push(decodeEvent(id, fields));
    if (batch.length < 5000) return out;
    start = `(${(batch[batch.length - 1] as [string, string[]])[0]}`;
  }
}

/** The event types of one job, in order. */
export function typesOf(events: readonly StoredJobEvent[], jobId: string): string[] {
  return events.filter((e) => e.metadata.jobId === jobId).map((e) => e.type);
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
