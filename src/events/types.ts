/**
 * The job event vocabulary: every transition of a job is one of these events, appended to the
 * queue's event log (`sluice:{<queue>}:events`) in the same Lua call that changes dispatch state.
 *
 * An event is `{ type, v, data, metadata }`: `type` discriminates the union, `v` is the schema
 * version of `data`, and `metadata` is common to every type (queue, job id, time, per-job
 * sequence number, W3C traceparent, correlation and causation ids).
 *
 * @packageDocumentation
 */

/** Every event type, in life-cycle order. */
export const EVENT_TYPES = [
  'created',
  'dependency-resolved',
  'scheduled',
  'promoted',
  'reprioritized',
  'claimed',
  'progress',
  'completed',
  'failed',
  'timed-out',
  'lost',
  'dead-lettered',
  'retried',
  'cancelled',
  'removed',
] as const;

/** An event type name. */
export type EventType = (typeof EVENT_TYPES)[number];

/** The schema version this code writes, per event type. Decoding accepts versions 1..current. */
export const EVENT_VERSIONS: { readonly [T in EventType]: number } = {
  created: 1,
  'dependency-resolved': 1,
  scheduled: 1,
  promoted: 1,
  reprioritized: 1,
  claimed: 1,
  progress: 1,
  completed: 1,
  failed: 1,
  'timed-out': 1,
  lost: 1,
  'dead-lettered': 1,
  retried: 1,
  cancelled: 1,
  removed: 1,
};

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Reference to a payload or result held by the payload store (claim check). */
export interface PayloadRef {
  /** Document id in the payload store. */
  readonly id: string;
  /** How the bytes are to be read back. */
  readonly encoding: 'json' | 'binary';
  /** Size of the stored bytes. */
  readonly size: number;
  /** `sha256:<hex>` of the stored bytes, so the payload can be erased without breaking the audit chain. */
  readonly hash: string;
}

/** Retry backoff policy. `custom` is computed by the worker's `backoff` function. */
export type BackoffSpec =
  | { readonly type: 'fixed'; readonly delayMs: number }
  | { readonly type: 'exponential'; readonly delayMs: number; readonly maxDelayMs?: number; readonly jitter?: number }
  | { readonly type: 'custom' };

/** A job of some queue (prerequisites may live in other queues). */
export interface JobRef {
  readonly queue: string;
  readonly jobId: string;
}

/** Final outcome of a prerequisite as its dependants see it. */
export type DependencyOutcome = 'completed' | 'dead' | 'cancelled' | 'removed';

/** Who claimed a job. */
export interface WorkerIdentity {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** `http` when the consumer claimed through the HTTP consume API (docs/HTTP-WORKERS.md); absent for library workers. */
  readonly via?: 'http';
}

/** Error as recorded in a `failed` event. */
export interface RecordedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Data of each event type. */
export interface EventDataMap {
  created: {
    readonly name: string;
    /** Priority lane, 0 (lowest) .. PRIORITY_LEVELS-1 (highest). */
    readonly priority: number;
    /** Attempts allowed in total (1 = no retry). */
    readonly maxAttempts: number;
    readonly backoff: BackoffSpec;
    /** Per-attempt timeout; absent means none. */
    readonly timeoutMs?: number;
    readonly payload?: PayloadRef;
    /** Due time when the job starts delayed. */
    readonly runAt?: number;
    /** Publishes with this key are ignored while this job is live (and within `dedupeTtlMs`). */
    readonly dedupeKey?: string;
    /** The dedupe window: the key is held until at least `createdAt + dedupeTtlMs`. */
    readonly dedupeTtlMs?: number;
    /** Group key (tenant): the job is dispatched by the fair group scheduler. */
    readonly group?: string;
    /** The repeatable job this job is an occurrence of. */
    readonly repeatKey?: string;
    /** Prerequisite jobs: the job is `blocked` until each has completed (or failed, by policy). */
    readonly dependsOn?: readonly JobRef[];
    /** What a failed prerequisite (dead, cancelled, removed) does: dead-letter the job, or count as resolved. */
    readonly onDependencyFailure?: 'fail' | 'ignore';
    /** Prerequisites not yet completed when the job was created; above 0 the job starts `blocked`. */
    readonly pendingDependencies?: number;
  };
  'dependency-resolved': {
    /** The prerequisite that reached a final outcome. */
    readonly dependency: JobRef;
    readonly outcome: DependencyOutcome;
    /** Prerequisites still unresolved after this one. */
    readonly remaining: number;
  };
  scheduled: { readonly runAt: number; readonly reason: 'delay' | 'retry' };
  promoted: {
    readonly lane: number;
    /**
     * `dependencies` when the last prerequisite resolved; `manual` when promoted by hand before
     * its time (`Queue.promote`); absent when a delay or backoff ended.
     */
    readonly reason?: 'dependencies' | 'manual';
  };
  /** The priority of a job that has not started changed (`Queue.changePriority`). */
  reprioritized: {
    /** Priority lane before. */
    readonly from: number;
    /** Priority lane after; a waiting job is claimed from this lane, after the jobs already waiting in it. */
    readonly to: number;
  };
  claimed: {
    readonly attempt: number;
    readonly worker: WorkerIdentity;
    /** Fencing token: the lane entry id this attempt was claimed through. */
    readonly token: string;
  };
  progress: { readonly attempt: number; readonly progress: JsonValue };
  completed: { readonly attempt: number; readonly result?: PayloadRef; readonly durationMs?: number };
  failed: {
    readonly attempt: number;
    readonly error: RecordedError;
    /** Due time of the next attempt; absent when `final`. */
    readonly retryAt?: number;
    /** True when no attempt is left (a `dead-lettered` event follows). */
    readonly final: boolean;
  };
  'timed-out': {
    readonly attempt: number;
    readonly worker?: string;
    /** Least idle time of the entry when it was taken (the lease); 0 when released. */
    readonly idleMs: number;
    /**
     * `released` when the worker gave the job back on shutdown (the attempt does not count);
     * absent when the lease expired.
     */
    readonly reason?: 'released';
  };
  lost: { readonly entryId: string; readonly reason: string };
  'dead-lettered': {
    readonly reason: 'attempts-exhausted' | 'unrecoverable' | 'lost' | 'timed-out' | 'dependency-failed';
    readonly attempt: number;
  };
  retried: { readonly fromState: string; readonly by?: string };
  cancelled: { readonly fromState: string; readonly reason?: string };
  removed: { readonly fromState: string; readonly reason: 'manual' | 'retention' };
}

/** Metadata common to every event. */
export interface EventMetadata {
  readonly queue: string;
  readonly jobId: string;
  /**
   * Milliseconds since the epoch, from the Redis server clock of the appending script (`TIME`):
   * the ms of the event's stream id, so event times never go backwards in stream order. Only
   * a queue or worker given an injected `Clock` (tests) writes that clock's time instead.
   */
  readonly time: number;
  /** Per-job sequence number: 1 for `created`, then gapless. */
  readonly seq: number;
  /** W3C trace context of the job (`00-<trace>-<span>-<flags>`). */
  readonly traceparent?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

/** One event of type `T`. */
export interface JobEventOf<T extends EventType> {
  readonly type: T;
  readonly v: number;
  readonly data: EventDataMap[T];
  readonly metadata: EventMetadata;
}

/** Any job event (a discriminated union on `type`). */
export type JobEvent = { [T in EventType]: JobEventOf<T> }[EventType];

/** An event read back from a stream, with its stream entry id. */
export type StoredJobEvent = JobEvent & { readonly id: string };
