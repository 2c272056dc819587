/**
 * Validation of jobs to publish (the one validator of the options {@link JobOptionsSchema}
 * defines: bounds, option names and values are read from it), their normalised form, and backoff
 * arithmetic.
 *
 * @packageDocumentation
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import { isTraceparent } from '../events/traceparent.js';
import type { BackoffSpec, PayloadRef } from '../events/types.js';
import type { PublishJobRecord } from '../events/commands/index.js';
import { toJobId, toQueueName, type JobId } from '../core/keys.js';
import {
  BackoffSchema,
  boundsOf,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF,
  DEFAULT_PRIORITY,
  DedupeSchema,
  JOB_OPTION_NAMES,
  JobNameSchema,
  JobOptionsSchema,
  PRINTABLE_ID,
  PRINTABLE_ID_RULE,
  type JobOptions,
} from './schema.js';

export {
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF,
  DEFAULT_PRIORITY,
  JobOptionsSchema,
  type DedupeOptions,
  type JobOptions,
} from './schema.js';

/** A job to publish. */
export interface NewJob<P = unknown, N extends string = string> {
  /** Job name / type, e.g. `send-email`. */
  name: N;
  /** Payload: any JSON value, or binary (Uint8Array / Buffer). Stored in the payload store. */
  payload?: P;
  /** Options. */
  opts?: JobOptions;
}

/** Validated, normalised form of a {@link NewJob}. */
export interface PreparedJob {
  id: JobId;
  name: string;
  priority: number;
  maxAttempts: number;
  backoff: BackoffSpec;
  timeoutMs: number | undefined;
  runAt: number | undefined;
  /** `opts.delayMs` when the job is delayed by it: the script measures it from its own clock. */
  delayMs: number | undefined;
  traceparent: string;
  correlationId: string | undefined;
  causationId: string | undefined;
  dedupeKey: string | undefined;
  dedupeTtlMs: number | undefined;
  group: string | undefined;
  /** Prerequisites; `queue` undefined means the publishing queue. */
  dependsOn: { queue: string | undefined; jobId: string }[] | undefined;
  onDependencyFailure: JobOptions['onDependencyFailure'];
  hasPayload: boolean;
  payload: unknown;
}

/** A fresh W3C traceparent with random trace and span ids, sampled. */
export function newTraceparent(): string {
  // Random bytes come from a pool refilled 1,000 ids at a time: two OpenSSL calls per job were a
  // quarter of the publisher's CPU (docs/BENCHMARKS.md, P7).
  if (traceparentPoolOffset + 24 > traceparentPool.length) {
    traceparentPool = randomBytes(24 * 1024);
    traceparentPoolOffset = 0;
  }
  const trace = traceparentPool.toString('hex', traceparentPoolOffset, traceparentPoolOffset + 16);
  const span = traceparentPool.toString('hex', traceparentPoolOffset + 16, traceparentPoolOffset + 24);
  traceparentPoolOffset += 24;
  return `00-${trace}-${span}-01`;
}

let traceparentPool = Buffer.alloc(0);
let traceparentPoolOffset = 0;

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An integer within the bounds of `schema`. */
function integerOf(field: string, value: unknown, schema: unknown): number {
  const { min, max } = boundsOf(schema);
  return integerIn(field, value, min, max);
}

const options = JobOptionsSchema.properties;
const backoffFields = (BackoffSchema as unknown as { properties: Record<'delayMs' | 'maxDelayMs' | 'jitter', unknown> }).properties;
const { min: minJitter, max: maxJitter } = boundsOf(backoffFields.jitter);
const dependsOnSchema = options.dependsOn as unknown as { minItems: number; maxItems: number };
const onDependencyFailureValues = (options.onDependencyFailure as unknown as { enum: readonly string[] }).enum;
const printableId = new RegExp(PRINTABLE_ID.pattern);
const jobName = JobNameSchema as unknown as { minLength: number; maxLength: number };

/** Validates a backoff spec. */
export function validateBackoff(value: unknown, field = 'backoff'): BackoffSpec {
  if (typeof value !== 'object' || value === null) throw new ValidationError(field, 'must be an object');
  const spec = value as Record<string, unknown>;
  const allowed: Record<string, string[]> = {
    fixed: ['type', 'delayMs'],
    exponential: ['type', 'delayMs', 'maxDelayMs', 'jitter'],
    custom: ['type'],
  };
  const keys = allowed[String(spec.type)];
  if (!keys) throw new ValidationError(`${field}.type`, `must be fixed, exponential or custom, got ${JSON.stringify(spec.type)}`);
  for (const key of Object.keys(spec)) {
    if (!keys.includes(key)) throw new ValidationError(`${field}.${key}`, `is not an option of ${String(spec.type)} backoff`);
  }
  if (spec.type === 'fixed') return { type: 'fixed', delayMs: integerOf(`${field}.delayMs`, spec.delayMs, backoffFields.delayMs) };
  if (spec.type === 'custom') return { type: 'custom' };
  const result: { type: 'exponential'; delayMs: number; maxDelayMs?: number; jitter?: number } = {
    type: 'exponential',
    delayMs: integerOf(`${field}.delayMs`, spec.delayMs, backoffFields.delayMs),
  };
  if (spec.maxDelayMs !== undefined) result.maxDelayMs = integerOf(`${field}.maxDelayMs`, spec.maxDelayMs, backoffFields.maxDelayMs);
  if (spec.jitter !== undefined) {
    if (typeof spec.jitter !== 'number' || !(spec.jitter >= minJitter && spec.jitter <= maxJitter)) {
      throw new ValidationError(`${field}.jitter`, `must be a number from ${minJitter} to ${maxJitter}, got ${JSON.stringify(spec.jitter)}`);
    }
    result.jitter = spec.jitter;
  }
  return result;
}

function optionalId(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < PRINTABLE_ID.minLength || value.length > PRINTABLE_ID.maxLength || !printableId.test(value)) {
    throw new ValidationError(field, `must be ${PRINTABLE_ID_RULE}`);
  }
  return value;
}

/** Validates a job to publish and fills in defaults. `field` prefixes error paths (e.g. `jobs[3]`). */
export function prepareJob(job: NewJob, now: number, defaults: JobDefaults = {}, field = 'job'): PreparedJob {
  if (typeof job !== 'object' || job === null) throw new ValidationError(field, 'must be an object');
  if (typeof job.name !== 'string' || job.name.length < jobName.minLength || job.name.length > jobName.maxLength) {
    throw new ValidationError(`${field}.name`, `must be a string of ${jobName.minLength} to ${jobName.maxLength} characters`);
  }
  const opts = job.opts ?? {};
  if (typeof opts !== 'object' || opts === null) throw new ValidationError(`${field}.opts`, 'must be an object');
  for (const key of Object.keys(opts)) {
    if (!(JOB_OPTION_NAMES as string[]).includes(key)) throw new ValidationError(`${field}.opts.${key}`, 'is not a job option');
  }
  const id = opts.jobId === undefined ? (randomUUID() as JobId) : toJobId(opts.jobId, `${field}.opts.jobId`);
  const priority = integerOf(`${field}.opts.priority`, opts.priority ?? defaults.priority ?? DEFAULT_PRIORITY, options.priority);
  const maxAttempts = integerOf(`${field}.opts.attempts`, opts.attempts ?? defaults.attempts ?? DEFAULT_ATTEMPTS, options.attempts);
  const backoff = validateBackoff(opts.backoff ?? defaults.backoff ?? DEFAULT_BACKOFF, `${field}.opts.backoff`);
  const timeoutMs =
    opts.timeoutMs === undefined
      ? defaults.timeoutMs
      : integerOf(`${field}.opts.timeoutMs`, opts.timeoutMs, options.timeoutMs);
  if (opts.delayMs !== undefined && opts.runAt !== undefined) {
    throw new ValidationError(`${field}.opts.runAt`, 'give either delayMs or runAt, not both');
  }
  let runAt: number | undefined;
  if (opts.delayMs !== undefined) runAt = now + integerOf(`${field}.opts.delayMs`, opts.delayMs, options.delayMs);
  if (opts.runAt !== undefined) {
    const at = opts.runAt instanceof Date ? opts.runAt.getTime() : opts.runAt;
    runAt = integerOf(`${field}.opts.runAt`, at, options.runAt.anyOf[0]);
  }
  if (runAt !== undefined && runAt <= now) runAt = undefined;
  const traceparent = opts.traceparent ?? newTraceparent();
  if (!isTraceparent(traceparent)) {
    throw new ValidationError(`${field}.opts.traceparent`, 'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');
  }
  let dedupeKey: string | undefined;
  let dedupeTtlMs: number | undefined;
  if (opts.dedupe !== undefined) {
    const dedupe: unknown = opts.dedupe;
    if (typeof dedupe !== 'object' || dedupe === null) throw new ValidationError(`${field}.opts.dedupe`, 'must be an object {key, ttlMs?}');
    for (const key of Object.keys(dedupe)) {
      if (!(key in DedupeSchema.properties)) throw new ValidationError(`${field}.opts.dedupe.${key}`, 'is not a dedupe option');
    }
    dedupeKey = optionalId(`${field}.opts.dedupe.key`, opts.dedupe.key);
    if (dedupeKey === undefined) throw new ValidationError(`${field}.opts.dedupe.key`, 'is required');
    if (opts.dedupe.ttlMs !== undefined && opts.dedupe.ttlMs !== 0) {
      dedupeTtlMs = integerIn(`${field}.opts.dedupe.ttlMs`, opts.dedupe.ttlMs, 1, boundsOf(DedupeSchema.properties.ttlMs).max);
    }
  }
  let dependsOn: PreparedJob['dependsOn'];
  if (opts.dependsOn !== undefined) {
    const list: unknown = opts.dependsOn;
    if (!Array.isArray(list) || list.length < dependsOnSchema.minItems || list.length > dependsOnSchema.maxItems) {
      throw new ValidationError(`${field}.opts.dependsOn`, `must be an array of ${dependsOnSchema.minItems} to ${dependsOnSchema.maxItems} job ids or {queue, jobId}`);
    }
    dependsOn = list.map((ref: unknown, i) => {
      const where = `${field}.opts.dependsOn[${i}]`;
      if (typeof ref === 'string') return { queue: undefined, jobId: toJobId(ref, where) };
      if (typeof ref !== 'object' || ref === null) throw new ValidationError(where, 'must be a job id or {queue, jobId}');
      const r = ref as Record<string, unknown>;
      for (const key of Object.keys(r)) if (key !== 'queue' && key !== 'jobId') throw new ValidationError(`${where}.${key}`, 'is not a job reference field');
      return { queue: toQueueName(r.queue, `${where}.queue`), jobId: toJobId(r.jobId, `${where}.jobId`) };
    });
    if (dependsOn.some((d) => d.queue === undefined && d.jobId === id)) throw new ValidationError(`${field}.opts.dependsOn`, `job ${id} cannot depend on itself`);
    if (runAt !== undefined) throw new ValidationError(`${field}.opts.dependsOn`, 'a job with prerequisites cannot also be delayed');
  }
  if (opts.onDependencyFailure !== undefined) {
    if (!onDependencyFailureValues.includes(opts.onDependencyFailure)) {
      throw new ValidationError(`${field}.opts.onDependencyFailure`, `must be ${onDependencyFailureValues.join(' or ')}`);
    }
    if (dependsOn === undefined) throw new ValidationError(`${field}.opts.onDependencyFailure`, 'applies to jobs with dependsOn only');
  }
  return {
    id,
    name: job.name,
    priority,
    maxAttempts,
    backoff,
    timeoutMs,
    runAt,
    delayMs: runAt !== undefined && opts.delayMs !== undefined ? runAt - now : undefined,
    traceparent,
    correlationId: optionalId(`${field}.opts.correlationId`, opts.correlationId),
    causationId: optionalId(`${field}.opts.causationId`, opts.causationId),
    dedupeKey,
    dedupeTtlMs,
    group: optionalId(`${field}.opts.group`, opts.group),
    dependsOn,
    onDependencyFailure: opts.onDependencyFailure,
    hasPayload: job.payload !== undefined,
    payload: job.payload,
  };
}

/**
 * A prepared job as the publish scripts take it (the wire format is the business of
 * src/events/commands/publish.ts).
 * @param queue - the publishing queue (prerequisites without a queue are in it).
 * @param repeatKey - the repeatable job the job is an occurrence of.
 */
export function publishRecord(job: PreparedJob, payload: PayloadRef | undefined, queue: string, repeatKey?: string): PublishJobRecord {
  return {
    jobId: job.id,
    name: job.name,
    priority: job.priority,
    maxAttempts: job.maxAttempts,
    backoff: job.backoff,
    timeoutMs: job.timeoutMs,
    payload,
    runAt: job.delayMs !== undefined ? `+${job.delayMs}` : job.runAt,
    traceparent: job.traceparent,
    correlationId: job.correlationId,
    causationId: job.causationId,
    dedupeKey: job.dedupeKey,
    dedupeTtlMs: job.dedupeTtlMs,
    group: job.group,
    repeatKey,
    dependsOn: job.dependsOn?.map((d) => `${d.queue ?? queue}|${d.jobId}`),
    onDependencyFailure: job.onDependencyFailure,
  };
}

/** Queue-wide defaults for job options. */
export interface JobDefaults {
  /** @default 2 */
  priority?: number;
  /** @default 3 */
  attempts?: number;
  /** @default exponential from 1000 ms, max 1 h, jitter 0.2 */
  backoff?: BackoffSpec;
  /** @default none */
  timeoutMs?: number;
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed, for built-in policies.
 * `random` is in [0, 1). Exponential: `delayMs * 2^(attempt-1)`, capped at `maxDelayMs`, then
 * reduced by up to `jitter` of itself.
 */
export function backoffDelay(spec: BackoffSpec, attempt: number, random: number): number {
  switch (spec.type) {
    case 'fixed':
      return spec.delayMs;
    case 'exponential': {
      const raw = spec.delayMs * 2 ** Math.max(0, attempt - 1);
      const capped = Math.min(raw, spec.maxDelayMs ?? Number.MAX_SAFE_INTEGER);
      return Math.round(capped * (1 - (spec.jitter ?? 0) * random));
    }
    case 'custom':
      throw new ValidationError('backoff', 'custom backoff needs the worker option `backoff`');
  }
}
