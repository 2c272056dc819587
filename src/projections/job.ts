/**
 * The job read model: the job hash the projection fold (src/projections/lua/fold.lua)
 * maintains, turned into a typed {@link Job}.
 *
 * @packageDocumentation
 */
import { CorruptEventError } from '../core/errors.js';
import { parseBackoffField, toRef } from '../events/fields.js';
import type { BackoffSpec, JobRef, JsonValue, PayloadRef, RecordedError } from '../events/types.js';
import { DEFAULT_BACKOFF, DEFAULT_PRIORITY, type JobOptions } from '../jobs/options.js';
import { JOB_STATES, type JobState } from '../core/keys.js';

export { parseBackoffField } from '../events/fields.js';

/** A job as the read model holds it. */
export interface Job {
  id: string;
  queue: string;
  name: string;
  state: JobState;
  priority: number;
  /** Attempts started so far. */
  attempt: number;
  maxAttempts: number;
  backoff: BackoffSpec;
  timeoutMs?: number;
  payload?: PayloadRef;
  result?: PayloadRef;
  traceparent?: string;
  correlationId?: string;
  causationId?: string;
  createdAt: number;
  updatedAt: number;
  runAt?: number;
  claimedAt?: number;
  finishedAt?: number;
  failedAt?: number;
  worker?: string;
  lastError?: RecordedError;
  progress?: JsonValue;
  deadReason?: string;
  cancelReason?: string;
  /** Dedupe key the job was published with. */
  dedupeKey?: string;
  /** Its dedupe window after publish (ms). */
  dedupeTtlMs?: number;
  /** Group key (tenant) the job is dispatched under. */
  group?: string;
  /** The repeatable job this job is an occurrence of. */
  repeatKey?: string;
  /** Prerequisites the job waits for (see `JobOptions.dependsOn`). */
  dependsOn?: JobRef[];
  /** Prerequisites not resolved yet (0 once it may run). */
  pendingDependencies?: number;
  /** What a failed prerequisite does to the job (the publish option), when it has prerequisites. */
  onDependencyFailure?: JobOptions['onDependencyFailure'];
  /** Number of events appended for this job. */
  seq: number;
}

function num(hash: Record<string, string>, field: string): number | undefined {
  const text = hash[field];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function json<T>(hash: Record<string, string>, field: string, where: string): T | undefined {
  const text = hash[field];
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new CorruptEventError(where, `job field ${field} is not JSON`, { cause: error });
  }
}

/**
 * Reads a payload or result reference the fold stored as four fields named after `prefix`
 * (`<prefix>Id`, `<prefix>Encoding`, `<prefix>Size`, `<prefix>Hash` holding the sha256 hex).
 */
function refField(hash: Record<string, string>, prefix: 'payload' | 'result', where: string): PayloadRef | undefined {
  const id = hash[`${prefix}Id`];
  if (id === undefined) return undefined;
  return toRef(where, prefix, id, hash[`${prefix}Encoding`], hash[`${prefix}Size`], hash[`${prefix}Hash`]);
}

/** Turns a job hash (HGETALL) into a {@link Job}; `undefined` for an empty hash. */
export function parseJobHash(queue: string, hash: Record<string, string>): Job | undefined {
  if (hash.state === undefined || hash.id === undefined) return undefined;
  const where = `job ${hash.id}`;
  const state = hash.state as JobState;
  if (!(JOB_STATES as readonly string[]).includes(state)) throw new CorruptEventError(where, `unknown state ${hash.state}`);
  const job: Job = {
    id: hash.id,
    queue,
    name: hash.name ?? '',
    state,
    priority: num(hash, 'priority') ?? DEFAULT_PRIORITY,
    attempt: num(hash, 'attempt') ?? 0,
    maxAttempts: num(hash, 'maxAttempts') ?? 1,
    backoff: hash.backoff ? parseBackoffField(hash.backoff, where) : DEFAULT_BACKOFF,
    createdAt: num(hash, 'createdAt') ?? 0,
    updatedAt: num(hash, 'updatedAt') ?? 0,
    seq: num(hash, 'seq') ?? 0,
  };
  const optional = {
    timeoutMs: num(hash, 'timeoutMs'),
    payload: refField(hash, 'payload', where),
    result: refField(hash, 'result', where),
    traceparent: hash.traceparent,
    correlationId: hash.correlationId,
    causationId: hash.causationId,
    runAt: num(hash, 'runAt'),
    claimedAt: num(hash, 'claimedAt'),
    finishedAt: num(hash, 'finishedAt'),
    failedAt: num(hash, 'failedAt'),
    worker: hash.worker || undefined,
    lastError: json<RecordedError>(hash, 'lastError', where),
    progress: json<JsonValue>(hash, 'progress', where),
    deadReason: hash.deadReason,
    cancelReason: hash.cancelReason,
    dedupeKey: hash.dedupeKey,
    dedupeTtlMs: num(hash, 'dedupeTtlMs'),
    group: hash.group,
    repeatKey: hash.repeatKey,
    dependsOn: json<JobRef[]>(hash, 'dependsOn', where),
    pendingDependencies: num(hash, 'pendingDependencies'),
    onDependencyFailure: hash.onDependencyFailure as Job['onDependencyFailure'],
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (job as unknown as Record<string, unknown>)[key] = value;
  }
  return job;
}
