/**
 * The attempt operations every consumer shares: claim, complete, fail, heartbeat (lease
 * extension), progress, release and the blocking wait for new work. The library {@link Worker}
 * and the HTTP consume API (src/server/routes/consume.ts) both call these, so a job claimed over
 * HTTP goes through the same Lua scripts, fencing and events as one claimed by a Node worker.
 *
 * @packageDocumentation
 */
import type { ScriptTime } from '../core/clock.js';
import { StaleAttemptError } from '../core/errors.js';
import { runScript } from '../events/scripts.js';
import type { BackoffSpec, JsonValue, PayloadRef, RecordedError } from '../events/types.js';
import { backoffDelay } from '../jobs/options.js';
import { laneKeys, wakeKey, type QueueName } from '../core/keys.js';
import { parseBackoffField, parseClaimedRef } from '../projections/job.js';
import type { RedisClient } from '../redis/connection.js';

/** One job claimed by an attempt, as claim.lua answers it. */
export interface ClaimedAttempt {
  id: string;
  /** The attempt's fencing token: every outcome call must carry it. */
  token: string;
  attempt: number;
  maxAttempts: number;
  name: string;
  payload: PayloadRef | undefined;
  timeoutMs: number | undefined;
  backoff: BackoffSpec;
  traceparent: string;
  createdAt: number;
}

/** Who claims: the consumer name in the lanes' group and the identity recorded in `claimed`. */
export interface ConsumerIdentity {
  id: string;
  host: string;
  pid: number;
  /** Set for consumers of the HTTP consume API. */
  via?: 'http';
}

/** What a claim found. */
export type ClaimOutcome =
  | { kind: 'jobs'; jobs: ClaimedAttempt[] }
  | { kind: 'paused' }
  /** The queue's rate limit allows no claim for `retryAfterMs`. */
  | { kind: 'limited'; retryAfterMs: number }
  /**
   * Nothing to claim: `cursor` lets {@link waitForWork} block without missing an entry;
   * `retryAfterMs` (or -1) is when a rate-limited group may run again.
   */
  | { kind: 'empty'; cursor: string[]; retryAfterMs: number };

const CLAIM_FIELDS = 10;

/** Claims up to `count` jobs of `queue` for `consumer` (claim.lua: appends `claimed` for each). */
export async function claimAttempts(redis: RedisClient, queue: QueueName, now: ScriptTime, consumer: ConsumerIdentity, count: number): Promise<ClaimOutcome> {
  const reply = (await runScript(redis, 'claim', queue, now, [consumer.id, count, JSON.stringify(consumer)])) as (string | number)[];
  switch (reply[0]) {
    case 'paused':
      return { kind: 'paused' };
    case 'limited':
      return { kind: 'limited', retryAfterMs: Number(reply[1]) };
    case 'empty':
      return { kind: 'empty', cursor: reply.slice(1, 7).map(String), retryAfterMs: Number(reply[7] ?? -1) };
    default:
      return { kind: 'jobs', jobs: parseClaims(reply) };
  }
}

function parseClaims(reply: (string | number)[]): ClaimedAttempt[] {
  const jobs: ClaimedAttempt[] = [];
  for (let i = 1; i + CLAIM_FIELDS - 1 < reply.length; i += CLAIM_FIELDS) {
    const f = (k: number): string => String(reply[i + k]);
    jobs.push({
      id: f(0),
      token: f(1),
      attempt: Number(f(2)),
      maxAttempts: Number(f(3)),
      name: f(4),
      payload: parseClaimedRef(f(5), `job ${f(0)}`),
      timeoutMs: f(6) === '' ? undefined : Number(f(6)),
      backoff: parseBackoffField(f(7), `job ${f(0)}`),
      traceparent: f(8),
      createdAt: Number(f(9)),
    });
  }
  return jobs;
}

/**
 * Blocks on every lane and the wake stream of `queue` until an entry newer than `cursor` (from
 * an `empty` claim) arrives or `blockMs` passes. `blocker` is a connection of its own: the read
 * holds it for the whole wait.
 */
export async function waitForWork(blocker: RedisClient, queue: QueueName, cursor: readonly string[], blockMs: number): Promise<void> {
  const lanes = laneKeys(queue); // highest lane first; the cursor is lane 0..4, then the wake stream
  const ids = lanes.map((_, i) => cursor[lanes.length - 1 - i] ?? '0-0');
  await blocker.xread('COUNT', 1, 'BLOCK', Math.max(1, Math.round(blockMs)), 'STREAMS', ...lanes, wakeKey(queue), ...ids, cursor[5] ?? '0-0');
}

/** One attempt to complete. */
export interface Completion {
  jobId: string;
  token: string;
  /** The stored result's reference, when the handler returned a value. */
  result: PayloadRef | undefined;
  durationMs: number;
}

/** Completes attempts in one script call; `true` for each one still owning its job (else nothing changed for it). */
export async function completeAttempts(redis: RedisClient, queue: QueueName, now: ScriptTime, batch: readonly Completion[]): Promise<boolean[]> {
  const args: (string | number)[] = [batch.length];
  for (const c of batch) args.push(c.jobId, c.token, c.result ? JSON.stringify(c.result) : '', c.durationMs);
  const flags = (await runScript(redis, 'complete', queue, now, args)) as number[];
  return batch.map((_, i) => flags[i] === 1);
}

/**
 * Records a failed attempt: retried at `retryAt` (ms, or `+<delay>` after the script's time on
 * the server clock, see {@link retryTime}) while attempts remain, dead-lettered without one.
 * @throws {@link StaleAttemptError} when the token no longer owns the job (nothing changed).
 */
export async function failAttempt(
  redis: RedisClient,
  queue: QueueName,
  now: ScriptTime,
  attempt: { jobId: string; token: string },
  error: RecordedError,
  retryAt: number | `+${number}` | undefined,
): Promise<'retry' | 'dead'> {
  return (await runScript(redis, 'fail', queue, now, [attempt.jobId, attempt.token, JSON.stringify(error), retryAt ?? ''])) as 'retry' | 'dead';
}

/**
 * When a failed attempt is retried under the job's backoff (`undefined`: no retry, attempts
 * are spent or the error is unrecoverable). `customDelayMs` serves `backoff: {type: 'custom'}`.
 */
export function retryTime(
  job: { attempt: number; maxAttempts: number; backoff: BackoffSpec },
  now: ScriptTime,
  options: { unrecoverable: boolean; random: number; customDelayMs?: number },
): number | `+${number}` | undefined {
  if (options.unrecoverable || job.attempt >= job.maxAttempts) return undefined;
  let delay = job.backoff.type === 'custom' ? (options.customDelayMs ?? 0) : backoffDelay(job.backoff, job.attempt, options.random);
  if (!Number.isFinite(delay) || delay < 0) delay = 0;
  // On the server clock the fail script adds the delay to its own time.
  return typeof now === 'string' ? `+${Math.round(delay)}` : now + Math.round(delay);
}

/**
 * Heartbeat: extends the leases of `attempts` (jobId, token) held by `consumer`. Returns the
 * ids of jobs whose attempt no longer owns them (cancelled or reclaimed).
 */
export async function extendLeases(redis: RedisClient, queue: QueueName, now: ScriptTime, consumer: string, attempts: readonly (readonly [string, string])[]): Promise<string[]> {
  return (await runScript(redis, 'extendLeases', queue, now, [consumer, attempts.length, ...attempts.flat()])) as string[];
}

/**
 * Records progress of an attempt as a `progress` event.
 * @throws {@link StaleAttemptError} when the token no longer owns the job.
 */
export async function recordProgress(redis: RedisClient, queue: QueueName, now: ScriptTime, attempt: { jobId: string; token: string }, value: JsonValue): Promise<void> {
  await runScript(redis, 'progress', queue, now, [attempt.jobId, attempt.token, JSON.stringify(value)]);
}

/** Gives attempts back for immediate redelivery (the attempt does not count); returns how many still owned their job. */
export async function releaseAttempts(redis: RedisClient, queue: QueueName, now: ScriptTime, consumer: string, attempts: readonly (readonly [string, string])[]): Promise<number> {
  if (attempts.length === 0) return 0;
  return (await runScript(redis, 'release', queue, now, [consumer, attempts.length, ...attempts.flat()])) as number;
}

/** The error as a `failed` event records it. */
export function recordError(error: unknown): RecordedError {
  if (error instanceof Error) {
    const recorded: { name: string; message: string; stack?: string } = {
      name: error.name.slice(0, 200),
      message: error.message.slice(0, 10_000),
    };
    if (error.stack) recorded.stack = error.stack.slice(0, 20_000);
    return recorded;
  }
  return { name: 'Error', message: String(error).slice(0, 10_000) };
}

/** A {@link StaleAttemptError} for an attempt that no longer owns its job. */
export function staleAttempt(jobId: string, token: string): StaleAttemptError {
  return new StaleAttemptError(`attempt ${token} of job ${jobId} no longer owns it (lease expired and reclaimed, cancelled or finished)`);
}
