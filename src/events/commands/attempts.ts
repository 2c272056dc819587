/**
 * The attempt scripts every consumer shares: claim.lua, complete.lua, fail.lua,
 * extendLeases.lua, progress.lua and release.lua. src/consumers/attempts.ts re-exports them for
 * the Worker and the HTTP consume API.
 */
import type { ScriptTime } from '../../core/clock.js';
import { PRIORITY_LEVELS, type QueueName } from '../../core/keys.js';
import type { RedisClient } from '../../redis/connection.js';
import { parseBackoffField, parseClaimedRef } from '../fields.js';
import { runScript } from '../scripts.js';
import type { BackoffSpec, JsonValue, PayloadRef, RecordedError } from '../types.js';
import { CLAIM_FIELDS, type ClaimField } from '../wire.js';
import { array, badReply, integer, oneOf, text } from './reply.js';

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
  /**
   * Jobs claimed. With fewer than asked for the lanes ran dry, and `drained` holds what an
   * `empty` outcome would: where to block from (no need to claim again to learn it).
   */
  | { kind: 'jobs'; jobs: ClaimedAttempt[]; drained?: { cursor: string[]; retryAfterMs: number } }
  | { kind: 'paused' }
  /** The queue's rate limit allows no claim for `retryAfterMs`. */
  | { kind: 'limited'; retryAfterMs: number }
  /**
   * Nothing to claim: `cursor` lets `waitForWork` block without missing an entry (the newest id
   * of lanes 0..4, then of the wake stream); `retryAfterMs` (or -1) is when a rate-limited group
   * may run again.
   */
  | { kind: 'empty'; cursor: string[]; retryAfterMs: number };

const CLAIM_WIDTH = CLAIM_FIELDS.length;
const at: { readonly [F in ClaimField]: number } = Object.fromEntries(CLAIM_FIELDS.map((f, i) => [f, i])) as { [F in ClaimField]: number };

/** claim.lua: claims up to `count` jobs of `queue` for `consumer` (appends `claimed` for each). */
export async function claimAttempts(redis: RedisClient, queue: QueueName, now: ScriptTime, consumer: ConsumerIdentity, count: number): Promise<ClaimOutcome> {
  const reply = array('claim', await runScript(redis, 'claim', queue, now, [consumer.id, count, JSON.stringify(consumer)]));
  switch (reply[0]) {
    case 'paused':
      return { kind: 'paused' };
    case 'limited':
      return { kind: 'limited', retryAfterMs: integer('claim', reply[1]) };
    case 'empty':
      return { kind: 'empty', ...parseCursor(reply.slice(1)) };
    case 'jobs':
      return { kind: 'jobs', jobs: parseClaims(reply, reply.length) };
    case 'drained': {
      const end = reply.length - CURSOR_WIDTH;
      return { kind: 'jobs', jobs: parseClaims(reply, end), drained: parseCursor(reply.slice(end)) };
    }
    default:
      throw badReply('claim', "'paused' | 'limited' | 'empty' | 'jobs' | 'drained'", reply[0]);
  }
}

/** Values of a cursor in a claim reply: lanes 0..4, the wake stream, retryAfterMs. */
const CURSOR_WIDTH = PRIORITY_LEVELS + 2;

function parseCursor(values: unknown[]): { cursor: string[]; retryAfterMs: number } {
  if (values.length !== CURSOR_WIDTH) throw badReply('claim', `a cursor of ${CURSOR_WIDTH} values`, values.length);
  return { cursor: values.slice(0, PRIORITY_LEVELS + 1).map((id) => text('claim', id)), retryAfterMs: integer('claim', values[PRIORITY_LEVELS + 1]) };
}

/** The jobs of a claim reply, from index 1 up to `end`. */
function parseClaims(reply: unknown[], end: number): ClaimedAttempt[] {
  if (end < 1 || (end - 1) % CLAIM_WIDTH !== 0) throw badReply('claim', `1 + ${CLAIM_WIDTH} values per job`, reply.length);
  const jobs: ClaimedAttempt[] = [];
  for (let i = 1; i < end; i += CLAIM_WIDTH) {
    const f = (field: ClaimField): string => String(reply[i + at[field]]);
    const id = f('jobId');
    const timeoutMs = f('timeoutMs');
    jobs.push({
      id,
      token: f('token'),
      attempt: Number(f('attempt')),
      maxAttempts: Number(f('maxAttempts')),
      name: f('name'),
      payload: parseClaimedRef(f('payload'), `job ${id}`),
      timeoutMs: timeoutMs === '' ? undefined : Number(timeoutMs),
      backoff: parseBackoffField(f('backoff'), `job ${id}`),
      traceparent: f('traceparent'),
      createdAt: Number(f('createdAt')),
    });
  }
  return jobs;
}

/** One attempt to complete. */
export interface Completion {
  jobId: string;
  token: string;
  /** The stored result's reference, when the handler returned a value. */
  result: PayloadRef | undefined;
  durationMs: number;
}

/** complete.lua: completes attempts in one call; `true` for each one still owning its job (else nothing changed for it). */
export async function completeAttempts(redis: RedisClient, queue: QueueName, now: ScriptTime, batch: readonly Completion[]): Promise<boolean[]> {
  const args: (string | number)[] = [batch.length];
  for (const c of batch) args.push(c.jobId, c.token, c.result ? JSON.stringify(c.result) : '', c.durationMs);
  const flags = array('complete', await runScript(redis, 'complete', queue, now, args));
  if (flags.length !== batch.length) throw badReply('complete', `${batch.length} flags`, flags);
  return flags.map((flag) => integer('complete', flag) === 1);
}

/**
 * fail.lua: records a failed attempt: retried at `retryAt` (ms, or `+<delay>` after the script's
 * time) while attempts remain, dead-lettered without one.
 * @throws `StaleAttemptError` when the token no longer owns the job (nothing changed).
 */
export async function failAttempt(
  redis: RedisClient,
  queue: QueueName,
  now: ScriptTime,
  attempt: { jobId: string; token: string },
  error: RecordedError,
  retryAt: number | `+${number}` | undefined,
): Promise<'retry' | 'dead'> {
  const reply = await runScript(redis, 'fail', queue, now, [attempt.jobId, attempt.token, JSON.stringify(error), retryAt ?? '']);
  return oneOf('fail', reply, ['retry', 'dead'] as const);
}

/**
 * extendLeases.lua (heartbeat): extends the leases of `attempts` (jobId, token) held by
 * `consumer`. Returns the ids of jobs whose attempt no longer owns them (cancelled or reclaimed).
 */
export async function extendLeases(redis: RedisClient, queue: QueueName, now: ScriptTime, consumer: string, attempts: readonly (readonly [string, string])[]): Promise<string[]> {
  const reply = array('extendLeases', await runScript(redis, 'extendLeases', queue, now, [consumer, attempts.length, ...attempts.flat()]));
  return reply.map((id) => text('extendLeases', id));
}

/**
 * progress.lua: records progress of an attempt as a `progress` event.
 * @throws `StaleAttemptError` when the token no longer owns the job.
 */
export async function recordProgress(redis: RedisClient, queue: QueueName, now: ScriptTime, attempt: { jobId: string; token: string }, value: JsonValue): Promise<void> {
  await runScript(redis, 'progress', queue, now, [attempt.jobId, attempt.token, JSON.stringify(value)]);
}

/** release.lua: gives attempts back for immediate redelivery (the attempt does not count); returns how many still owned their job. */
export async function releaseAttempts(redis: RedisClient, queue: QueueName, now: ScriptTime, consumer: string, attempts: readonly (readonly [string, string])[]): Promise<number> {
  if (attempts.length === 0) return 0;
  return integer('release', await runScript(redis, 'release', queue, now, [consumer, attempts.length, ...attempts.flat()]));
}
