/**
 * The public types of {@link Worker} (its options, the job a handler sees, its events) and the
 * resolution of its options to validated settings with their defaults.
 *
 * @packageDocumentation
 */
import type { Tracer } from '@opentelemetry/api';
import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { JsonValue } from '../events/types.js';
import type { SluiceMetrics } from '../metrics/sluice-metrics.js';
import { DEFAULT_ORPHAN_GRACE_MS, type PayloadStore } from '../payloads/store.js';
import type { DependencyInfo } from '../queue/flows.js';
import type { RedisConnection } from '../redis/open.js';
import type { SlotPool } from './slot-pool.js';

/** A claimed job as the handler sees it. */
export interface ActiveJob<P = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  /** The payload, fetched from the payload store (undefined when the job has none). */
  readonly payload: P;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** W3C traceparent of the job. */
  readonly traceparent: string;
  /** When the job was published (ms). */
  readonly createdAt: number;
  /** Fires on per-job timeout, lost lease (reclaimed or cancelled) and forced shutdown. */
  readonly signal: AbortSignal;
  /** Records progress (any JSON value) as a `progress` event. */
  progress(value: JsonValue): Promise<void>;
  /**
   * The job's prerequisites (`dependsOn`) with their state and, once completed, their results
   * (read from the payload store): how a parent reads its children's results.
   */
  dependencies(): Promise<DependencyInfo[]>;
}

/** The function that does a job's work. Its return value is stored as the job's result. */
export type Handler<P = unknown, R = unknown> = (job: ActiveJob<P>) => Promise<R> | R;

/** Custom backoff: the delay in ms before the next attempt. */
export type BackoffFunction = (attempt: number, error: unknown, job: ActiveJob) => number;

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** Redis URL or an ioredis connection the caller keeps ownership of. */
  connection: RedisConnection;
  /** Payload store to fetch payloads from and store results in. */
  payloads?: PayloadStore;
  /**
   * Handlers running at once.
   * @default 10
   */
  concurrency?: number;
  /**
   * Visibility timeout: an attempt whose worker has not sent a heartbeat for this long is
   * taken back by a reaper and re-dispatched (or dead-lettered when attempts are spent).
   * @default 30000
   */
  leaseMs?: number;
  /**
   * Heartbeat period; must be well below `leaseMs`.
   * @default leaseMs / 3
   */
  heartbeatMs?: number;
  /**
   * Mean period of the reaper; each run is jittered by ±25 %.
   * @default leaseMs / 2
   */
  reapIntervalMs?: number;
  /**
   * The reaper deletes consumers of the lanes' group that hold no pending entry and have been
   * idle this long (workers that died or left), and drops worker-list entries not seen for as
   * long. A live worker idle that long loses nothing: its consumer is recreated by its next read.
   * @default max(10 × leaseMs, 10 minutes)
   */
  pruneConsumersAfterMs?: number;
  /**
   * Longest sleep of the promoter (it wakes earlier when the next delayed job is due).
   * @default 1000
   */
  promoteIntervalMs?: number;
  /**
   * Mean period of the retention sweep (finished jobs leave the read models by the queue's
   * retention policy); each run is jittered by ±25 %. `0` disables it in this worker.
   * @default 5000
   */
  retentionIntervalMs?: number;
  /**
   * With a payload store: how often the queue's payloads and results that no job references any
   * more (retention and `remove` took their jobs out, or their publish failed) are deleted
   * (src/payloads/sweep.ts). Workers try at most every minute; a lease in Redis lets one of them
   * sweep per interval. `0` disables it in this worker.
   * @default 3_600_000 (one hour)
   */
  payloadSweepIntervalMs?: number;
  /**
   * Grace period of the payload sweep: payloads stored more recently are kept. Must exceed the
   * longest publish (payload write to job creation), retries included.
   * @default 3_600_000 (one hour)
   */
  payloadSweepGraceMs?: number;
  /**
   * Mean period of this worker's repeat scheduler, which publishes due occurrences of the queue's
   * repeatable jobs (many schedulers at once fire each occurrence exactly once); jittered by
   * ±25 %, and earlier when the next occurrence is due sooner. `0` disables it in this worker.
   * @default 1000
   */
  repeatIntervalMs?: number;
  /**
   * Period of the flow relay, which delivers outcomes of this queue's jobs to their dependants in
   * other queues (`0` disables it in this worker).
   * @default 500
   */
  flowRelayIntervalMs?: number;
  /**
   * How long one blocking read waits for new work before polling again.
   * @default 2000
   */
  blockMs?: number;
  /**
   * Most jobs claimed per read (one claim script call). Without a payload store the default,
   * half the concurrency, keeps two claims in turn: while the handlers of one run, the next is
   * claimed and the last one's outcomes are committed, so Redis and the worker process work at
   * the same time (a claim of the whole concurrency leaves one idle while the other works: ≈ 1.3×
   * the drain rate with half). With a payload store every claim also reads its payloads, and
   * claims of the whole concurrency read them in fewer, larger queries (≈ 1.3× the payload drain
   * rate on the embedded store). {@link BatchWorker} claims whole batches: its default is the
   * concurrency.
   * @default ceil(concurrency / 2) without `payloads`, concurrency with them
   */
  batchSize?: number;
  /** Backoff for jobs published with `backoff: {type: 'custom'}`. */
  backoff?: BackoffFunction;
  /**
   * How long {@link Worker.close} waits for running handlers before giving their jobs back.
   * @default 10000
   */
  graceMs?: number;
  /** Worker id (consumer name). @default `<host>:<pid>:<random>` */
  id?: string;
  /**
   * Handler slots shared with other workers (set by `MultiQueueWorker`): this worker runs
   * a handler only while it holds a slot of the pool, and `concurrency` caps it on top.
   * @default none (its own `concurrency` slots)
   */
  slots?: SlotPool;
  /**
   * This worker's share of `slots` while other workers of the pool wait for slots too.
   * @default 1
   */
  weight?: number;
  /** @default the system clock */
  clock?: Clock;
  /** Source of randomness in [0, 1) for jitter. @default Math.random */
  random?: () => number;
  /**
   * Start fetching in the constructor.
   * @default true
   */
  autorun?: boolean;
  /**
   * Where the wait and run time histograms are recorded; `false` records none.
   * @default defaultMetrics() (prom-client's global registry and the global meter)
   */
  metrics?: SluiceMetrics | false;
  /**
   * OpenTelemetry tracer for the consumer span of each attempt.
   * @default the `sluice` tracer of the global tracer provider (a no-op until an SDK is started)
   */
  tracer?: Tracer;
}

/** Events a {@link Worker} emits. */
export interface WorkerEvents {
  completed: [job: ActiveJob, result: unknown];
  failed: [job: ActiveJob, error: unknown, willRetry: boolean];
  /** An outcome was refused because the attempt no longer owned its job. */
  stale: [jobId: string];
  /** A background error (Redis or payload store trouble); the worker keeps going. */
  error: [error: unknown];
  closed: [];
}

/** {@link WorkerOptions} validated, with their defaults. */
export interface WorkerSettings {
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  reapIntervalMs: number;
  pruneConsumersAfterMs: number;
  promoteIntervalMs: number;
  blockMs: number;
  batchSize: number;
  graceMs: number;
  weight: number;
  retentionIntervalMs: number;
  /** 0 without a payload store. */
  payloadSweepIntervalMs: number;
  payloadSweepGraceMs: number;
  repeatIntervalMs: number;
  flowRelayIntervalMs: number;
}

/** Handlers a worker runs at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 10;

/**
 * Validates `options` and fills in the defaults.
 * @throws {@link ValidationError} naming the first option out of range.
 */
export function workerSettings(options: WorkerOptions): WorkerSettings {
  const positive = (field: keyof WorkerOptions, value: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (!Number.isInteger(value) || value < 1 || value > max) throw new ValidationError(field, `must be an integer from 1 to ${max}, got ${value}`);
    return value;
  };
  const nonNegative = (field: keyof WorkerOptions, value: number): number => {
    if (!Number.isInteger(value) || value < 0) throw new ValidationError(field, `must be an integer >= 0, got ${value}`);
    return value;
  };
  const concurrency = positive('concurrency', options.concurrency ?? DEFAULT_CONCURRENCY, 10_000);
  const leaseMs = positive('leaseMs', options.leaseMs ?? 30_000);
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 3)));
  if (heartbeatMs >= leaseMs) throw new ValidationError('heartbeatMs', `must be below leaseMs (${leaseMs}), got ${heartbeatMs}`);
  const settings = {
    concurrency,
    leaseMs,
    heartbeatMs,
    reapIntervalMs: positive('reapIntervalMs', options.reapIntervalMs ?? Math.max(1, Math.floor(leaseMs / 2))),
    pruneConsumersAfterMs: positive('pruneConsumersAfterMs', options.pruneConsumersAfterMs ?? Math.max(10 * leaseMs, 600_000)),
    promoteIntervalMs: positive('promoteIntervalMs', options.promoteIntervalMs ?? 1000),
    blockMs: positive('blockMs', options.blockMs ?? 2000),
    batchSize: positive('batchSize', options.batchSize ?? (options.payloads ? concurrency : Math.ceil(concurrency / 2)), 10_000),
    graceMs: options.graceMs ?? 10_000,
    weight: options.weight ?? 1,
  };
  if (!Number.isInteger(settings.weight) || settings.weight < 1) throw new ValidationError('weight', `must be an integer >= 1, got ${settings.weight}`);
  return {
    ...settings,
    retentionIntervalMs: nonNegative('retentionIntervalMs', options.retentionIntervalMs ?? 5000),
    payloadSweepIntervalMs: options.payloads ? nonNegative('payloadSweepIntervalMs', options.payloadSweepIntervalMs ?? 3_600_000) : 0,
    payloadSweepGraceMs: nonNegative('payloadSweepGraceMs', options.payloadSweepGraceMs ?? DEFAULT_ORPHAN_GRACE_MS),
    repeatIntervalMs: nonNegative('repeatIntervalMs', options.repeatIntervalMs ?? 1000),
    flowRelayIntervalMs: nonNegative('flowRelayIntervalMs', options.flowRelayIntervalMs ?? 500),
  };
}
