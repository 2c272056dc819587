/**
 * Job options (validated at the library boundary), the job read model as callers see it, and
 * backoff arithmetic.
 *
 * @packageDocumentation
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import type { BackoffSpec, PayloadRef } from '../events/types.js';
import type { PublishJobRecord } from '../events/commands/index.js';
import { PRIORITY_LEVELS, toJobId, toQueueName, type JobId } from '../core/keys.js';

/** Default priority lane when a job gives none: the middle one. */
export const DEFAULT_PRIORITY = Math.floor(PRIORITY_LEVELS / 2);
/** Default number of attempts (1 first run + 2 retries). */
export const DEFAULT_ATTEMPTS = 3;
/** Default backoff: exponential from 1 s, capped at 1 h, with 20 % jitter. */
export const DEFAULT_BACKOFF: BackoffSpec = { type: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0.2 };

/** Options of one published job. */
export interface JobOptions {
  /**
   * Job id. Publishing an id that exists already creates nothing and reports a duplicate.
   * @default a random UUID
   */
  jobId?: string;
  /**
   * Priority lane from 0 (lowest) to {@link PRIORITY_LEVELS}-1 (highest). Higher lanes are
   * always served first; jobs of one lane run in publish order.
   * @default 2
   */
  priority?: number;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /** Run no earlier than this time (Date or ms since the epoch). Exclusive with `delayMs`. */
  runAt?: Date | number;
  /**
   * Attempts in total, first run included (1 = never retry).
   * @default 3
   */
  attempts?: number;
  /**
   * Backoff between attempts; `custom` asks the worker's `backoff` function.
   * @default exponential from 1000 ms, max 1 h, jitter 0.2
   */
  backoff?: BackoffSpec;
  /** Per-attempt timeout in ms: the handler's AbortSignal fires and the attempt fails. */
  timeoutMs?: number;
  /** W3C traceparent the job's events carry. @default a new random trace */
  traceparent?: string;
  /** Correlation id every event of the job carries (at most 200 printable characters). */
  correlationId?: string;
  /** Causation id every event of the job carries: what caused the job (at most 200 printable characters). */
  causationId?: string;
  /**
   * Deduplication: while a job published with the same `key` is live (delayed, waiting, active,
   * failed awaiting a retry) — and, with `ttlMs`, until `ttlMs` after that job was published,
   * even once it finished — publishing again creates nothing and reports the holder's id.
   * @default none
   */
  dedupe?: DedupeOptions;
  /**
   * Group key, e.g. a tenant id (1 to 200 printable ASCII characters without spaces). Grouped
   * jobs are dispatched by the group scheduler: round-robin (or weighted) across groups, FIFO
   * within a group, within each group's concurrency and rate limits (`Queue.setGroupLimits`).
   * @default none (the job goes to its priority lane)
   */
  group?: string;
  /**
   * Prerequisites: the job stays `blocked` until every one of them has completed, then goes to
   * its lane (or group). A job id names a job of the same queue; `{ queue, jobId }` one of any
   * queue. A prerequisite not published yet is waited for. Not combinable with a delay.
   * @default none
   */
  dependsOn?: readonly (string | { queue: string; jobId: string })[];
  /**
   * What a prerequisite that ends dead, cancelled or removed does to this job: `fail`
   * dead-letters it (reason `dependency-failed`, which cascades to its own dependants); `ignore`
   * counts the prerequisite as resolved.
   * @default 'fail'
   */
  onDependencyFailure?: 'fail' | 'ignore';
}

/** The dedupe window of a job (see {@link JobOptions.dedupe}). */
export interface DedupeOptions {
  /** Dedupe key: 1 to 200 printable ASCII characters without spaces. */
  key: string;
  /**
   * Keep ignoring duplicates until this long after the first job was published, even when it
   * finished earlier.
   * @default 0 (only while the job is live)
   */
  ttlMs?: number;
}

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
  onDependencyFailure: 'fail' | 'ignore' | undefined;
  hasPayload: boolean;
  payload: unknown;
}

const traceparentPattern = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

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
  const day = 86_400_000 * 365;
  if (spec.type === 'fixed') return { type: 'fixed', delayMs: integerIn(`${field}.delayMs`, spec.delayMs, 0, day) };
  if (spec.type === 'custom') return { type: 'custom' };
  const result: { type: 'exponential'; delayMs: number; maxDelayMs?: number; jitter?: number } = {
    type: 'exponential',
    delayMs: integerIn(`${field}.delayMs`, spec.delayMs, 0, day),
  };
  if (spec.maxDelayMs !== undefined) result.maxDelayMs = integerIn(`${field}.maxDelayMs`, spec.maxDelayMs, 0, day);
  if (spec.jitter !== undefined) {
    if (typeof spec.jitter !== 'number' || !(spec.jitter >= 0 && spec.jitter <= 1)) {
      throw new ValidationError(`${field}.jitter`, `must be a number from 0 to 1, got ${JSON.stringify(spec.jitter)}`);
    }
    result.jitter = spec.jitter;
  }
  return result;
}

const jobOptionKeys = ['jobId', 'priority', 'delayMs', 'runAt', 'attempts', 'backoff', 'timeoutMs', 'traceparent', 'correlationId', 'causationId', 'dedupe', 'group', 'dependsOn', 'onDependencyFailure'];

function optionalId(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 200 || !/^[\x21-\x7e]+$/.test(value)) {
    throw new ValidationError(field, 'must be 1 to 200 printable ASCII characters without spaces');
  }
  return value;
}

/** Validates a job to publish and fills in defaults. `field` prefixes error paths (e.g. `jobs[3]`). */
export function prepareJob(job: NewJob, now: number, defaults: JobDefaults = {}, field = 'job'): PreparedJob {
  if (typeof job !== 'object' || job === null) throw new ValidationError(field, 'must be an object');
  if (typeof job.name !== 'string' || job.name.length === 0 || job.name.length > 200) {
    throw new ValidationError(`${field}.name`, 'must be a string of 1 to 200 characters');
  }
  const opts = job.opts ?? {};
  if (typeof opts !== 'object' || opts === null) throw new ValidationError(`${field}.opts`, 'must be an object');
  for (const key of Object.keys(opts)) {
    if (!jobOptionKeys.includes(key)) throw new ValidationError(`${field}.opts.${key}`, 'is not a job option');
  }
  const id = opts.jobId === undefined ? (randomUUID() as JobId) : toJobId(opts.jobId, `${field}.opts.jobId`);
  const priority = integerIn(`${field}.opts.priority`, opts.priority ?? defaults.priority ?? DEFAULT_PRIORITY, 0, PRIORITY_LEVELS - 1);
  const maxAttempts = integerIn(`${field}.opts.attempts`, opts.attempts ?? defaults.attempts ?? DEFAULT_ATTEMPTS, 1, 1000);
  const backoff = validateBackoff(opts.backoff ?? defaults.backoff ?? DEFAULT_BACKOFF, `${field}.opts.backoff`);
  const timeoutMs =
    opts.timeoutMs === undefined
      ? defaults.timeoutMs
      : integerIn(`${field}.opts.timeoutMs`, opts.timeoutMs, 1, 86_400_000 * 7);
  if (opts.delayMs !== undefined && opts.runAt !== undefined) {
    throw new ValidationError(`${field}.opts.runAt`, 'give either delayMs or runAt, not both');
  }
  let runAt: number | undefined;
  if (opts.delayMs !== undefined) runAt = now + integerIn(`${field}.opts.delayMs`, opts.delayMs, 0, 86_400_000 * 3650);
  if (opts.runAt !== undefined) {
    const at = opts.runAt instanceof Date ? opts.runAt.getTime() : opts.runAt;
    runAt = integerIn(`${field}.opts.runAt`, at, 0, 8_640_000_000_000_000);
  }
  if (runAt !== undefined && runAt <= now) runAt = undefined;
  const traceparent = opts.traceparent ?? newTraceparent();
  if (typeof traceparent !== 'string' || !traceparentPattern.test(traceparent)) {
    throw new ValidationError(`${field}.opts.traceparent`, 'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');
  }
  let dedupeKey: string | undefined;
  let dedupeTtlMs: number | undefined;
  if (opts.dedupe !== undefined) {
    const dedupe: unknown = opts.dedupe;
    if (typeof dedupe !== 'object' || dedupe === null) throw new ValidationError(`${field}.opts.dedupe`, 'must be an object {key, ttlMs?}');
    for (const key of Object.keys(dedupe)) {
      if (key !== 'key' && key !== 'ttlMs') throw new ValidationError(`${field}.opts.dedupe.${key}`, 'is not a dedupe option');
    }
    dedupeKey = optionalId(`${field}.opts.dedupe.key`, opts.dedupe.key);
    if (dedupeKey === undefined) throw new ValidationError(`${field}.opts.dedupe.key`, 'is required');
    if (opts.dedupe.ttlMs !== undefined && opts.dedupe.ttlMs !== 0) {
      dedupeTtlMs = integerIn(`${field}.opts.dedupe.ttlMs`, opts.dedupe.ttlMs, 1, 86_400_000 * 365);
    }
  }
  let dependsOn: PreparedJob['dependsOn'];
  if (opts.dependsOn !== undefined) {
    const list: unknown = opts.dependsOn;
    if (!Array.isArray(list) || list.length === 0 || list.length > 1000) {
      throw new ValidationError(`${field}.opts.dependsOn`, 'must be an array of 1 to 1000 job ids or {queue, jobId}');
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
    if (opts.onDependencyFailure !== 'fail' && opts.onDependencyFailure !== 'ignore') {
      throw new ValidationError(`${field}.opts.onDependencyFailure`, 'must be fail or ignore');
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
