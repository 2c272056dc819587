/**
 * `Queue`: the producer and admin side of one Sluice queue — publish, inspect, retry, cancel,
 * remove, pause and resume. Every state change runs one Lua script that appends the job's
 * event and updates dispatch state and projections together.
 *
 * @packageDocumentation
 */
import type { Tracer } from '@opentelemetry/api';
import { scriptTime, systemClock, type Clock } from '../core/clock.js';
import { ClosedError, isRedisDown, JobNotFoundError, ValidationError } from '../core/errors.js';
import type { EventArchive } from '../history/archive.js';
import { cancelJob, promoteJob, removeJob, reprioritizeJob, retryJob } from '../events/commands/index.js';
import type { PayloadRef, StoredJobEvent } from '../events/types.js';
import type { JobDefaults, NewJob } from '../jobs/options.js';
import { flowState, readDependencies, type DependencyInfo, type FlowState } from './flows.js';
import { getGroupLimits, getRateLimit, setGroupLimits, setRateLimit, type GroupLimits, type RateLimit } from './limits.js';
import { publishBatch, type PublishResult } from './publish.js';
import { checkedJobHistory, listJobs, queueStats, queueWorkers, type JobPage, type QueueStats, type WorkerInfo } from './reads.js';
import { parseJobHash, type Job } from '../projections/job.js';
import {
  getRepeatable,
  listRepeatables,
  removeRepeatable,
  upsertRepeatable,
  type RepeatableJob,
  type RepeatSchedule,
  type RepeatTemplate,
} from './repeat.js';
import { applyRetention, getRetention, setRetention, type RetentionPolicy } from '../projections/retention.js';
import {
  jobKey,
  metaKey,
  PRIORITY_LEVELS,
  QUEUES_KEY,
  toJobId,
  toQueueName,
  type JobState,
  type QueueName,
} from '../core/keys.js';
import { tracePublish, type PublishTelemetryOptions } from '../metrics/instrumentation.js';
import { defaultMetrics, type SluiceMetrics } from '../metrics/sluice-metrics.js';
import { redisServerAttributes, sluiceTracer } from '../metrics/tracing.js';
import type { PayloadStore } from '../payloads/store.js';
import type { RedisClient } from '../redis/connection.js';
import { ensureGroups, openRedis, type RedisConnection } from '../redis/open.js';

export type { JobPage, PublishResult, QueueStats, WorkerInfo };


/** Options of {@link Queue}. */
export interface QueueOptions {
  /**
   * Redis URL (`redis://`, `rediss://`, `redis+cluster://h1:p1,h2:p2`) or an ioredis `Redis` or
   * `Cluster` connection the caller keeps ownership of.
   */
  connection: RedisConnection;
  /** Where payloads and results live. Required to publish jobs that carry a payload. */
  payloads?: PayloadStore;
  /** Defaults for job options. */
  defaults?: JobDefaults;
  /** @default the system clock */
  clock?: Clock;
  /**
   * The event archive the queue is archived to. {@link Queue.history} then returns a job's whole
   * history, archived events included.
   * @default none (history reads the stream only, and refuses a job whose early events were trimmed)
   */
  archive?: EventArchive;
  /**
   * OpenTelemetry tracer for the producer span of each publish call.
   * @default the `sluice` tracer of the global tracer provider (a no-op until an SDK is started)
   */
  tracer?: Tracer;
  /**
   * Where publishes are counted (`messaging.client.sent.messages`); `false` for nowhere.
   * @default defaultMetrics(), as for workers
   */
  metrics?: SluiceMetrics | false;
}

/** What {@link Queue.changePriority} did. */
export interface PriorityChange {
  /** The job's state (waiting, delayed or blocked); it does not change. */
  state: JobState;
  /** Priority lane before. */
  from: number;
  /** Priority lane after (equal to `from` when nothing changed). */
  to: number;
}

/**
 * The producer and admin handle of one queue. Create one per queue and reuse it.
 *
 * The type parameters bind a producer to its consumers' contract, like {@link Worker}'s:
 * `Data` is the payload type, `Result` what handlers return (read back with
 * {@link Queue.getResult}), `Name` the job names the queue accepts. A `Queue<Email, void, 'send'>`
 * refuses, at compile time, to publish anything but an `Email` under the name `send`. All three
 * default to the unconstrained types. Supports `await using` (closes on scope exit).
 */
export class Queue<Data = unknown, Result = unknown, Name extends string = string> {
  /** The validated queue name. */
  readonly name: QueueName;
  /** The Redis or Redis Cluster connection (owned when created from a URL). */
  readonly redis: RedisClient;
  private readonly owned: boolean;
  private readonly payloads: PayloadStore | undefined;
  private readonly archive: EventArchive | undefined;
  private readonly defaults: JobDefaults;
  private readonly clock: Clock;
  private readonly tracer: Tracer; // [observability]
  private readonly publishTelemetry: PublishTelemetryOptions; // [observability]
  private ready: Promise<void> | undefined;
  private registered = false;
  private registering: Promise<void> | undefined;
  private nextRegisterAt = 0;
  private closed = false;

  constructor(name: string, options: QueueOptions) {
    this.name = toQueueName(name);
    const { redis, owned } = openRedis(options.connection);
    this.redis = redis;
    this.owned = owned;
    this.payloads = options.payloads;
    this.archive = options.archive;
    this.defaults = options.defaults ?? {};
    this.clock = options.clock ?? systemClock;
    this.tracer = sluiceTracer(options.tracer); // [observability]
    const metrics = options.metrics === false ? undefined : (options.metrics ?? defaultMetrics());
    this.publishTelemetry = { ...(metrics ? { metrics } : {}), attributes: redisServerAttributes(redis) };
  }

  private async init(): Promise<void> {
    if (this.closed) throw new ClosedError(`queue ${this.name}`);
    this.ready ??= ensureGroups(this.redis, this.name);
    try {
      await this.ready;
    } catch (error) {
      this.ready = undefined;
      throw error;
    }
    if (!this.registered && Date.now() >= this.nextRegisterAt) {
      this.registering ??= this.register().finally(() => {
        this.registering = undefined;
      });
      await this.registering;
    }
  }

  /**
   * Adds the queue to the registry of queue names ({@link QUEUES_KEY}), which discovery (metrics,
   * archivers, the service's queue list) reads. That key has no hash tag: on a Redis Cluster it
   * may sit on a master that is down while the queue's own master is up. The queue then works
   * without it, and registration is retried on a later call, at most every 5 s.
   */
  private async register(): Promise<void> {
    try {
      await this.redis.sadd(QUEUES_KEY, this.name);
      this.registered = true;
    } catch (error) {
      if (!isRedisDown(error)) throw error;
      this.nextRegisterAt = Date.now() + 5000;
    }
  }

  /**
   * Publishes one job. Its payload is stored first; then one script appends `created` and
   * puts the job in its lane (or the delayed set).
   */
  async publish<P extends Data = Data>(name: Name, payload?: P, opts?: NewJob['opts']): Promise<PublishResult> {
    const [result] = await this.publishMany([{ name, payload, ...(opts === undefined ? {} : { opts }) }]);
    return result as PublishResult;
  }

  /**
   * Publishes many jobs: payloads in one insertMany, then one script call for the batch.
   * Ids given twice in one batch are rejected; an id that exists already is reported with
   * `created: false` and its new payload is deleted again.
   *
   * Runs inside a producer span `publish <queue>`: jobs without an explicit `traceparent` carry
   * that span's context, so their consumer spans continue the caller's trace.
   * @throws {@link ValidationError} for a bad job (nothing is published),
   *   `PayloadStoreUnavailableError` when payloads cannot be stored (nothing is published).
   */
  publishMany(jobs: readonly NewJob<Data, Name>[]): Promise<PublishResult[]> {
    // [observability] producer span; the body below is unchanged.
    return tracePublish(this.tracer, this.name, jobs, (traced) => this.publishBatch(traced), this.publishTelemetry);
  }

  private async publishBatch(jobs: readonly NewJob[]): Promise<PublishResult[]> {
    return publishBatch(
      { name: this.name, redis: this.redis, clock: this.clock, defaults: this.defaults, payloads: this.payloads, init: () => this.init() },
      jobs,
    );
  }

  /** The job's read model, or `undefined` when no such job exists. */
  async get(jobId: string): Promise<Job | undefined> {
    const id = toJobId(jobId);
    const hash = await this.redis.hgetall(jobKey(this.name, id));
    return parseJobHash(this.name, hash);
  }

  /** Like {@link Queue.get} but throws {@link JobNotFoundError}. */
  async getOrThrow(jobId: string): Promise<Job> {
    const job = await this.get(jobId);
    if (!job) throw new JobNotFoundError(this.name, jobId);
    return job;
  }

  /** The job's payload, read from the payload store. */
  async getPayload(job: Job): Promise<Data | undefined> {
    // The store returns what was published; its type is the queue's contract, not checked at run time.
    return (await this.readRef(job.payload)) as Data | undefined;
  }

  /** The job's result, read from the payload store. */
  async getResult(job: Job): Promise<Result | undefined> {
    // As for getPayload: the handlers' declared return type, not checked at run time.
    return (await this.readRef(job.result)) as Result | undefined;
  }

  private async readRef(ref: PayloadRef | undefined): Promise<unknown> {
    if (!ref) return undefined;
    if (!this.payloads) throw new ValidationError('payloads', 'this queue has no payload store');
    return this.payloads.get(this.name, ref);
  }

  /**
   * Jobs in one state, oldest first (by the time they entered it), a page at a time. Waiting jobs
   * come in dispatch order instead: highest priority first, then arrival (the order workers
   * claim them in, grouped jobs aside).
   * @param cursor - from the previous page's `nextCursor`.
   */
  async list(state: JobState, options: { cursor?: string; limit?: number } = {}): Promise<JobPage> {
    return listJobs(this.redis, this.name, state, options);
  }

  /**
   * Every event of one job, in order: from the archive, then the live stream, when the queue was
   * given its `archive`; else from the stream alone.
   * @throws {@link HistoryIncompleteError} without an archive, when the job's first events were
   *   archived and trimmed from the stream (the answer would be partial).
   */
  async history(jobId: string): Promise<StoredJobEvent[]> {
    return checkedJobHistory(this.redis, this.name, jobId, this.archive);
  }

  /** Cancels a waiting, delayed or active job. @returns the state it was cancelled from. */
  async cancel(jobId: string, reason = ''): Promise<JobState> {
    const id = toJobId(jobId);
    if (typeof reason !== 'string' || reason.length > 1000) throw new ValidationError('reason', 'must be a string of at most 1000 characters');
    return cancelJob(this.redis, this.name, scriptTime(this.clock), id, reason);
  }

  /** Puts a failed, dead or cancelled job back in its lane with a fresh attempt count. */
  async retry(jobId: string, by = ''): Promise<JobState> {
    const id = toJobId(jobId);
    const from = await retryJob(this.redis, this.name, scriptTime(this.clock), id, by);
    // Only after the script accepted the retry: a refused one changes nothing.
    await this.init();
    return from;
  }

  /**
   * Promotes a delayed job (a delay or a retry backoff not yet due) to its lane now: appends
   * `promoted` with reason `manual`. @returns the state it was promoted from (`delayed`).
   * @throws {@link JobNotFoundError}; `InvalidStateError` for a job that is not delayed.
   */
  async promote(jobId: string): Promise<JobState> {
    const id = toJobId(jobId);
    const from = await promoteJob(this.redis, this.name, this.clock.now(), id);
    await this.init();
    return from;
  }

  /**
   * Changes the priority lane of a job that has not started (waiting, delayed or blocked): appends
   * `reprioritized` {from, to}. A waiting job is then claimed from its new lane, after the jobs
   * already waiting there; a delayed or blocked job goes to the new lane when it becomes waiting.
   * Setting the priority the job already has appends nothing.
   * @param priority - the new lane, an integer from 0 (lowest) to `PRIORITY_LEVELS` - 1 (highest).
   * @throws {@link ValidationError} for a priority out of range; {@link JobNotFoundError};
   *   `InvalidStateError` for an active or finished job, or a grouped job (its group dispatches it).
   */
  async changePriority(jobId: string, priority: number): Promise<PriorityChange> {
    const id = toJobId(jobId);
    if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority >= PRIORITY_LEVELS) {
      throw new ValidationError('priority', `must be an integer from 0 to ${PRIORITY_LEVELS - 1}`);
    }
    const { state, from, to } = await reprioritizeJob(this.redis, this.name, scriptTime(this.clock), id, priority);
    return { state, from, to };
  }

  /**
   * Removes a job that is not active from the read models; its events stay in the log.
   * @param reason - recorded in the `removed` event: `manual` (default) or `retention` (a cleanup).
   */
  async remove(jobId: string, reason: 'manual' | 'retention' = 'manual'): Promise<JobState> {
    const id = toJobId(jobId);
    if (reason !== 'manual' && reason !== 'retention') throw new ValidationError('reason', 'must be manual or retention');
    return removeJob(this.redis, this.name, scriptTime(this.clock), id, reason);
  }

  /**
   * Workers stop taking new jobs from this queue; running jobs finish. Like publishing, this and
   * the other settings (retention, rate and group limits, repeatable jobs) create the queue: they
   * add it to the registry of queue names, so the service and the CLI know it.
   */
  async pause(): Promise<void> {
    await this.init();
    await this.redis.hset(metaKey(this.name), 'paused', '1');
  }

  /** Undoes {@link Queue.pause}. */
  async resume(): Promise<void> {
    await this.init();
    await this.redis.hdel(metaKey(this.name), 'paused');
  }

  /** True when the queue is paused. */
  async isPaused(): Promise<boolean> {
    return (await this.redis.hget(metaKey(this.name), 'paused')) === '1';
  }

  /** Jobs per state and events per type. */
  async stats(): Promise<QueueStats> {
    return queueStats(this.redis, this.name);
  }

  /** Workers seen on this queue within `withinMs`, most recent first. */
  async workers(withinMs = 60_000): Promise<WorkerInfo[]> {
    return queueWorkers(this.redis, this.name, this.clock.now() - withinMs);
  }

  /** Refuses unknown job ids early with a typed error. */
  async assertExists(jobId: string): Promise<void> {
    if (!(await this.get(jobId))) throw new JobNotFoundError(this.name, jobId);
  }

  /**
   * Sets the retention policy of finished jobs (completed, dead, cancelled): limits left out return to
   * their defaults, `null` removes a limit. Workers apply it every few seconds.
   */
  async setRetention(policy: RetentionPolicy): Promise<void> {
    // Validated first: a refused setting registers nothing.
    await setRetention(this.redis, this.name, policy);
    await this.init();
  }

  /** The effective retention policy (`null` = no limit). */
  getRetention(): ReturnType<typeof getRetention> {
    return getRetention(this.redis, this.name);
  }

  /** Applies the retention policy now, removing at most `limit` jobs. */
  applyRetention(limit = 1000): Promise<{ completed: number; dead: number; cancelled: number }> {
    return applyRetention(this.redis, this.name, scriptTime(this.clock), limit);
  }

  /**
   * Sets the queue's rate limit (at most `max` jobs started in any `durationMs` window, shared
   * by every worker), or removes it with `null`.
   */
  async setRateLimit(rate: RateLimit | null): Promise<void> {
    // Validated first: a refused setting registers nothing.
    await setRateLimit(this.redis, this.name, rate);
    await this.init();
  }

  /** The queue's rate limit, or `null`. */
  getRateLimit(): Promise<RateLimit | null> {
    return getRateLimit(this.redis, this.name);
  }

  /**
   * Sets concurrency, rate limit and weight of one group (jobs published with `group`), or
   * without `group` the defaults of every group. `null` removes a value.
   */
  async setGroupLimits(limits: GroupLimits, group?: string): Promise<void> {
    // Validated first: a refused setting registers nothing.
    await setGroupLimits(this.redis, this.name, limits, group);
    await this.init();
  }

  /** The effective limits of one group (or the defaults). */
  getGroupLimits(group?: string): Promise<GroupLimits> {
    return getGroupLimits(this.redis, this.name, group);
  }

  /**
   * The prerequisites of a job (`dependsOn`), each with its current state and — once completed —
   * its result from the payload store. Prerequisites in other queues are read there.
   */
  dependencies(jobId: string): Promise<DependencyInfo[]> {
    return readDependencies(this.redis, this.name, toJobId(jobId), this.payloads);
  }

  /**
   * The state of the flow ending in `jobId`: the job and, transitively, all its prerequisites
   * (across queues), counted per state, with `state` completed, failed (a job of it dead or
   * cancelled) or running.
   */
  flow(jobId: string): Promise<FlowState> {
    return flowState(this.redis, this.name, toJobId(jobId));
  }

  /**
   * Creates or replaces the repeatable job `key`: each occurrence of `schedule` (cron with time
   * zone, or a fixed interval) publishes `template` as job `repeat:<key>:<occurrence ms>`.
   * Workers fire occurrences (see {@link RepeatScheduler}); many at once fire each exactly once.
   */
  async upsertRepeatable<P>(key: string, schedule: RepeatSchedule, template: RepeatTemplate<P>): Promise<RepeatableJob> {
    const stored = await upsertRepeatable(this.redis, this.name, key, schedule, template, this.clock.now());
    await this.init();
    return stored;
  }

  /** Removes the repeatable job `key`; occurrences already published stay. */
  removeRepeatable(key: string): Promise<boolean> {
    return removeRepeatable(this.redis, this.name, key);
  }

  /** The repeatable job `key`, or undefined. */
  getRepeatable(key: string): Promise<RepeatableJob | undefined> {
    return getRepeatable(this.redis, this.name, key);
  }

  /** Every scheduled repeatable job, soonest first. */
  listRepeatables(): Promise<RepeatableJob[]> {
    return listRepeatables(this.redis, this.name);
  }

  /** Closes the Redis connection when the queue created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** `await using queue = new Queue(...)`: {@link Queue.close} on scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
