/**
 * The publish wire format (PUBLISH_FIELDS in src/events/wire.ts, read by
 * src/events/lua/includes/publishjob.lua) and the two scripts that take it: publish.lua and
 * fireRepeat.lua.
 */
import type { ScriptTime } from '../../core/clock.js';
import type { QueueName } from '../../core/keys.js';
import type { RedisClient } from '../../redis/connection.js';
import { runScript } from '../scripts.js';
import type { BackoffSpec, PayloadRef } from '../types.js';
import { PUBLISH_FIELDS, type PublishField } from '../wire.js';
import { array, badReply, integer, oneOf, text } from './reply.js';

/**
 * One job as the publish scripts take it: validated options already resolved (src/jobs/
 * converts a prepared job into this record).
 */
export interface PublishJobRecord {
  jobId: string;
  name: string;
  /** Priority lane, 0..4. */
  priority: number;
  maxAttempts: number;
  backoff: BackoffSpec;
  timeoutMs?: number | undefined;
  /** The stored payload's reference. */
  payload?: PayloadRef | undefined;
  /** Due time (ms), or `+<delay ms>` measured from the script's own clock. */
  runAt?: number | `+${number}` | undefined;
  /** W3C traceparent, or ''. */
  traceparent: string;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  dedupeKey?: string | undefined;
  dedupeTtlMs?: number | undefined;
  group?: string | undefined;
  /** The repeatable job this is an occurrence of. */
  repeatKey?: string | undefined;
  /** Prerequisites as `<queue>|<jobId>`. */
  dependsOn?: readonly string[] | undefined;
  onDependencyFailure?: 'fail' | 'ignore' | undefined;
}

const optional = (v: string | number | undefined): string | number => v ?? '';

/** How each field of the wire format is written (exhaustive over PUBLISH_FIELDS). */
const ENCODE: { readonly [F in PublishField]: (job: PublishJobRecord) => string | number } = {
  jobId: (j) => j.jobId,
  name: (j) => j.name,
  priority: (j) => j.priority,
  maxAttempts: (j) => j.maxAttempts,
  backoff: (j) => JSON.stringify(j.backoff),
  timeoutMs: (j) => optional(j.timeoutMs),
  payload: (j) => (j.payload ? JSON.stringify(j.payload) : ''),
  runAt: (j) => optional(j.runAt),
  traceparent: (j) => j.traceparent,
  correlationId: (j) => optional(j.correlationId),
  causationId: (j) => optional(j.causationId),
  dedupeKey: (j) => optional(j.dedupeKey),
  dedupeTtlMs: (j) => optional(j.dedupeTtlMs),
  group: (j) => optional(j.group),
  repeatKey: (j) => optional(j.repeatKey),
  dependsOn: (j) => (j.dependsOn ? JSON.stringify(j.dependsOn) : ''),
  onDependencyFailure: (j) => optional(j.onDependencyFailure),
};

function encodeJob(job: PublishJobRecord, out: (string | number)[]): void {
  for (const field of PUBLISH_FIELDS) out.push(ENCODE[field](job));
}

/** What publishing one job did. */
export type PublishJobOutcome =
  | { kind: 'created' }
  /** A job with this id exists: nothing changed. */
  | { kind: 'exists' }
  /** The dedupe key is held by job `holder`: nothing changed. */
  | { kind: 'deduplicated'; holder: string };

/** publish.lua: creates `jobs` in one call (appends `created`, `scheduled`, … per job). */
export async function publishJobs(redis: RedisClient, queue: QueueName, now: ScriptTime, jobs: readonly PublishJobRecord[]): Promise<PublishJobOutcome[]> {
  const args: (string | number)[] = [jobs.length];
  for (const job of jobs) encodeJob(job, args);
  const reply = array('publish', await runScript(redis, 'publish', queue, now, args));
  if (reply.length !== jobs.length) throw badReply('publish', `${jobs.length} flags`, reply);
  return reply.map((flag): PublishJobOutcome => {
    if (typeof flag === 'string') return { kind: 'deduplicated', holder: flag };
    return integer('publish', flag) === 1 ? { kind: 'created' } : { kind: 'exists' };
  });
}

/** Input of {@link fireRepeat}. */
export interface FireRepeatInput {
  /** The repeatable job's key. */
  key: string;
  /** The due time the caller read from the repeat index (ms): the compare-and-set value. */
  dueAt: number;
  /** The next due time (ms), or `undefined` when the schedule has ended. */
  next: number | undefined;
  /** Publish `job` (else only move the schedule on, skipping the missed occurrences). */
  run: boolean;
  /** The occurrence. */
  job: PublishJobRecord;
}

/** What {@link fireRepeat} did; `moved`: another scheduler fired it, or the schedule changed (nothing changed). */
export type FireRepeatOutcome = 'fired' | 'skipped' | 'moved' | 'duplicate';

/** fireRepeat.lua: fires one occurrence of a repeatable job, exactly once however many schedulers run. */
export async function fireRepeat(redis: RedisClient, queue: QueueName, now: ScriptTime, input: FireRepeatInput): Promise<FireRepeatOutcome> {
  const args: (string | number)[] = [input.key, input.dueAt, input.next ?? '', input.run ? '1' : '0'];
  encodeJob(input.job, args);
  return oneOf('fireRepeat', text('fireRepeat', await runScript(redis, 'fireRepeat', queue, now, args)), ['fired', 'skipped', 'moved', 'duplicate'] as const);
}
