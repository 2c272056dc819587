/**
 * Drives a queue through its scripts directly, with an injected clock: claim, complete and fail
 * the way a worker would, without a worker's timers. For tests that need exact control of time.
 */
import type { Redis } from 'ioredis';
import { runScript } from '../../src/events/scripts.js';
import { toQueueName } from '../../src/core/keys.js';

/** One claimed attempt. */
export interface Attempt {
  id: string;
  token: string;
}

const identity = (worker: string): string => JSON.stringify({ id: worker, host: 'test', pid: 1 });

/** Claims up to `count` jobs; returns the claimed attempts ([] when empty, paused or rate-limited). */
export async function claim(redis: Redis, queue: string, now: number, count = 10, worker = 'w1'): Promise<Attempt[]> {
  const reply = (await runScript(redis, 'claim', toQueueName(queue), now, [worker, count, identity(worker)])) as (string | number)[];
  const out: Attempt[] = [];
  if (reply[0] !== 'jobs') return out;
  for (let i = 1; i < reply.length; i += 10) out.push({ id: String(reply[i]), token: String(reply[i + 1]) });
  return out;
}

/** The raw claim reply (to see `paused`, `empty` or `limited`). */
export async function claimReply(redis: Redis, queue: string, now: number, count = 10, worker = 'w1'): Promise<(string | number)[]> {
  return (await runScript(redis, 'claim', toQueueName(queue), now, [worker, count, identity(worker)])) as (string | number)[];
}

/** Completes attempts; returns how many were accepted. */
export async function complete(redis: Redis, queue: string, now: number, attempts: readonly Attempt[]): Promise<number> {
  if (attempts.length === 0) return 0;
  const flags = (await runScript(redis, 'complete', toQueueName(queue), now, [
    attempts.length,
    ...attempts.flatMap((a) => [a.id, a.token, '', 1]),
  ])) as number[];
  return flags.filter((f) => f === 1).length;
}

/** Fails one attempt: with `retryAt` it is retried then, without it is dead-lettered. */
export async function fail(redis: Redis, queue: string, now: number, attempt: Attempt, retryAt?: number): Promise<string> {
  return (await runScript(redis, 'fail', toQueueName(queue), now, [
    attempt.id,
    attempt.token,
    JSON.stringify({ name: 'Error', message: 'test failure' }),
    retryAt ?? '',
  ])) as string;
}

/** Runs the promoter once. */
export async function promote(redis: Redis, queue: string, now: number): Promise<number> {
  const [promoted] = (await runScript(redis, 'promote', toQueueName(queue), now, [1000])) as [number, number];
  return promoted;
}
