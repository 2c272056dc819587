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
import type { BackoffSpec, RecordedError } from '../events/types.js';
import { backoffDelay } from '../jobs/options.js';
import { laneKeys, wakeKey, type QueueName } from '../core/keys.js';
import type { RedisClient } from '../redis/connection.js';

export {
  claimAttempts,
  completeAttempts,
  extendLeases,
  failAttempt,
  recordProgress,
  releaseAttempts,
  type ClaimedAttempt,
  type ClaimOutcome,
  type Completion,
  type ConsumerIdentity,
} from '../events/commands/index.js';

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
