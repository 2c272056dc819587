/**
 * Drives a queue through its scripts directly, with an injected clock: claim, complete and fail
 * the way a worker would, without a worker's timers. For tests that need exact control of time.
 */
import type { Redis } from 'ioredis';
import { claimAttempts, completeAttempts, failAttempt, promoteDue } from '../../src/events/commands/index.js';
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
  const outcome = await claimAttempts(redis, toQueueName(queue), now, { id: worker, host: 'test', pid: 1 }, count);
  return outcome.kind === 'jobs' ? outcome.jobs.map((job) => ({ id: job.id, token: job.token })) : [];
}

/** The raw claim reply (to see `paused`, `empty` or `limited` as claim.lua answers them). */
export async function claimReply(redis: Redis, queue: string, now: number, count = 10, worker = 'w1'): Promise<(string | number)[]> {
  return (await runScript(redis, 'claim', toQueueName(queue), now, [worker, count, identity(worker)])) as (string | number)[];
}

/** Completes attempts; returns how many were accepted. */
export async function complete(redis: Redis, queue: string, now: number, attempts: readonly Attempt[]): Promise<number> {
  if (attempts.length === 0) return 0;
  const flags = await completeAttempts(redis, toQueueName(queue), now, attempts.map((a) => ({ jobId: a.id, token: a.token, result: undefined, durationMs: 1 })));
  return flags.filter(Boolean).length;
}

/** Fails one attempt: with `retryAt` it is retried then, without it is dead-lettered. */
export async function fail(redis: Redis, queue: string, now: number, attempt: Attempt, retryAt?: number): Promise<string> {
  return failAttempt(redis, toQueueName(queue), now, { jobId: attempt.id, token: attempt.token }, { name: 'Error', message: 'test failure' }, retryAt);
}

/** Runs the promoter once. */
export async function promote(redis: Redis, queue: string, now: number): Promise<number> {
  return (await promoteDue(redis, toQueueName(queue), now, 1000)).promoted;
}
