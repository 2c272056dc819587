/**
 * Partitioned queues: one logical queue spread over N physical queues, its *partitions*, so that
 * a single hot queue can use every shard of a Redis Cluster.
 *
 * Partition `p` of the logical queue `q` is the ordinary Sluice queue named `q#p`: its keys are
 * `sluice:{q#p}:…`, so each partition lives in the slot of its own hash tag and every Lua script
 * still touches one slot. A job goes to partition `fnv1a32(partitionKey) mod N`; jobs with the
 * same partition key therefore always share a partition, and their relative order is that
 * partition's order. There is no order across partition keys and no global FIFO.
 *
 * `PartitionedQueue` routes publishes and sums stats over one {@link Queue} per partition;
 * `PartitionedWorker` is a {@link MultiQueueWorker} over every partition (one handler, one shared
 * concurrency). N is stored once in `sluice:{q}:partitions`; opening the queue with another N
 * fails with {@link PartitionCountMismatchError}. See docs/FEATURES.md, "Partitioned queues".
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { ClosedError, PartitionCountMismatchError, ValidationError } from '../core/errors.js';
import { prepareJob, type JobOptions, type NewJob } from '../jobs/options.js';
import {
  JOB_STATES,
  MAX_PARTITIONS,
  parsePartition,
  partitionQueueName,
  partitionsKey,
  toJobId,
  toQueueName,
  type JobState,
  type QueueName,
} from '../core/keys.js';
import type { Job } from '../projections/job.js';
import { Queue, type PublishResult, type QueueOptions, type QueueStats } from '../queue/queue.js';
import { openRedis, type RedisConnection } from '../redis/open.js';
import { MultiQueueWorker, type MultiQueueWorkerOptions } from './multi-worker.js';
import type { Handler } from './worker.js';

/** The Redis client type Sluice's queues use (a server connection, or a cluster where supported). */
type RedisClient = ReturnType<typeof openRedis>['redis'];

/** Longest accepted partition key (characters). */
export const MAX_PARTITION_KEY_LENGTH = 1000;

/** Job options of a partitioned queue: those of {@link Queue.publish} plus the partition key. */
export interface PartitionedJobOptions extends JobOptions {
  /**
   * Routes the job: jobs with the same partition key always land in the same partition, so they
   * keep their relative (publish, priority) order. Any non-empty string of at most
   * {@link MAX_PARTITION_KEY_LENGTH} characters.
   * @default the dedupe key when `dedupe` is given, else the `group` when given, else the job id
   *   (the given `jobId`, or the random UUID generated for the job)
   */
  partitionKey?: string;
}

/** A job to publish to a partitioned queue. */
export interface PartitionedNewJob<P = unknown> extends NewJob<P> {
  opts?: PartitionedJobOptions;
}

/** What {@link PartitionedQueue.publish} reports for one job: {@link PublishResult} plus where it went. */
export interface PartitionedPublishResult extends PublishResult {
  /** The partition index (0..N-1). */
  partition: number;
  /** The physical queue of that partition, `<queue>#<partition>`. */
  queue: string;
}

/** Options of {@link PartitionedQueue}. */
export interface PartitionedQueueOptions extends QueueOptions {
  /**
   * Number of partitions N (1 to {@link MAX_PARTITIONS}). Stored the first time the queue is
   * opened; every later open must give the same N.
   */
  partitions: number;
}

/** {@link QueueStats} summed over every partition, with each partition's own figures. */
export interface PartitionedQueueStats extends Omit<QueueStats, 'stream'> {
  /** Number of partitions. */
  partitionCount: number;
  /** True only when every partition is paused. */
  paused: boolean;
  /** Each partition's stats, by index (each partition has its own event stream: `stream` is there). */
  partitions: QueueStats[];
}

/**
 * The partition (0..`partitions`-1) a partition key routes to: FNV-1a (32 bit) over the key's
 * UTF-8 bytes, modulo `partitions`. Stable across processes, versions and platforms.
 */
export function partitionOf(partitionKey: string, partitions: number): number {
  toPartitionCount(partitions);
  if (typeof partitionKey !== 'string' || partitionKey.length === 0 || partitionKey.length > MAX_PARTITION_KEY_LENGTH) {
    throw new ValidationError('partitionKey', `must be a string of 1 to ${MAX_PARTITION_KEY_LENGTH} characters`);
  }
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** Validates a partition count. @throws {@link ValidationError} (field `partitions`). */
export function toPartitionCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PARTITIONS) {
    throw new ValidationError('partitions', `must be an integer from 1 to ${MAX_PARTITIONS}, got ${String(value)}`);
  }
  return value;
}

/** Validates the name of a partitioned (logical) queue: a queue name without a `#` partition suffix. */
function toLogicalQueueName(value: unknown): QueueName {
  const name = toQueueName(value);
  if (parsePartition(name)) {
    throw new ValidationError('queue', `${JSON.stringify(name)} names a partition; a partitioned queue's name has no '#<n>' suffix`);
  }
  // The longest partition name must be a valid queue name too.
  toQueueName(`${name}#${MAX_PARTITIONS - 1}`);
  return name;
}

/**
 * Stores `partitions` as the partition count of `queue` unless one is stored already, and
 * returns the stored count. With `partitions` undefined it only reads it.
 * @throws {@link PartitionCountMismatchError} when another count is stored;
 *   {@link ValidationError} when nothing is stored and no count is given.
 */
export async function claimPartitionCount(redis: RedisClient, queue: string, partitions?: number): Promise<number> {
  const name = toLogicalQueueName(queue);
  const key = partitionsKey(name);
  if (partitions !== undefined) {
    const n = toPartitionCount(partitions);
    if ((await redis.set(key, String(n), 'NX')) === 'OK') return n;
  }
  const raw = await redis.get(key);
  if (raw === null) {
    if (partitions !== undefined) return claimPartitionCount(redis, queue, partitions); // deleted meanwhile
    throw new ValidationError('partitions', `queue ${name} has no stored partition count: give partitions (or open it with a PartitionedQueue first)`);
  }
  const stored = Number(raw);
  if (partitions !== undefined && stored !== partitions) throw new PartitionCountMismatchError(name, stored, partitions);
  return toPartitionCount(stored);
}

/**
 * The producer and admin handle of a partitioned queue: one {@link Queue} per partition, sharing
 * one Redis connection. Create one per queue and reuse it.
 *
 * Every operation first checks (once) that the stored partition count is `partitions`, storing it
 * when the queue is new, and fails with {@link PartitionCountMismatchError} otherwise. Per-job
 * operations not listed here (cancel, retry, remove, history, …) go to the partition's queue:
 * `pq.partition(pq.partitionOf(key))` or `pq.queueOf(job)`.
 */
export class PartitionedQueue {
  /** The logical queue name (no `#` suffix). */
  readonly name: QueueName;
  /** Number of partitions N. */
  readonly partitions: number;
  /** The shared Redis connection (owned when created from a URL). */
  readonly redis: RedisClient;
  /** One queue per partition, by index: `queues[p].name` is `<name>#<p>`. */
  readonly queues: readonly Queue[];
  private readonly owned: boolean;
  private readonly clock: Clock;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(name: string, options: PartitionedQueueOptions) {
    this.name = toLogicalQueueName(name);
    this.partitions = toPartitionCount(options.partitions);
    const { partitions: _n, connection, ...queueOptions } = options;
    const { redis, owned } = openRedis(connection);
    this.redis = redis;
    this.owned = owned;
    this.clock = options.clock ?? systemClock;
    this.queues = Array.from(
      { length: this.partitions },
      (_, p) => new Queue(partitionQueueName(this.name, p), { ...queueOptions, connection: redis }),
    );
  }

  /** The queue of partition `index`. */
  partition(index: number): Queue {
    const queue = this.queues[index];
    if (!Number.isInteger(index) || !queue) throw new ValidationError('partition', `must be an integer from 0 to ${this.partitions - 1}, got ${String(index)}`);
    return queue;
  }

  /** The partition index a partition key routes to (see {@link partitionOf}). */
  partitionOf(partitionKey: string): number {
    return partitionOf(partitionKey, this.partitions);
  }

  /** The queue of the partition `job` (as returned by {@link PartitionedQueue.getJob}) lives in. */
  queueOf(job: Pick<Job, 'queue'>): Queue {
    const parsed = parsePartition(toQueueName(job.queue));
    if (!parsed || parsed.queue !== this.name) throw new ValidationError('queue', `${job.queue} is not a partition of ${this.name}`);
    return this.partition(parsed.partition);
  }

  private async init(): Promise<void> {
    if (this.closed) throw new ClosedError(`partitioned queue ${this.name}`);
    this.ready ??= claimPartitionCount(this.redis, this.name, this.partitions).then(() => undefined);
    try {
      await this.ready;
    } catch (error) {
      this.ready = undefined;
      throw error;
    }
  }

  /** Publishes one job to the partition of its partition key. */
  async publish<P>(name: string, payload?: P, opts?: PartitionedJobOptions): Promise<PartitionedPublishResult> {
    const [result] = await this.publishMany([{ name, payload, ...(opts === undefined ? {} : { opts }) }]);
    return result as PartitionedPublishResult;
  }

  /**
   * Publishes many jobs, grouped by partition: one {@link Queue.publishMany} (one payload
   * insertMany and one script call) per partition that gets jobs, the partitions in parallel.
   * Within a partition the jobs keep their order in `jobs`. Results are in the order of `jobs`.
   *
   * Every job is validated before anything is published. Across partitions the batch is not
   * atomic: when one partition's call fails, others may have published their jobs. Jobs without
   * a `jobId` get a random UUID here (it is their default partition key), reported in the result.
   * @throws {@link ValidationError} for a bad job or partition key (nothing is published).
   */
  async publishMany(jobs: readonly PartitionedNewJob[]): Promise<PartitionedPublishResult[]> {
    const input: unknown = jobs;
    if (!Array.isArray(input)) throw new ValidationError('jobs', 'must be an array');
    if (jobs.length === 0) return [];
    if (jobs.length > 10_000) throw new ValidationError('jobs', `at most 10000 jobs per call, got ${jobs.length}`);
    const now = this.clock.now();
    const groups = new Map<number, { index: number; job: NewJob }[]>();
    const seen = new Set<string>();
    for (const [i, job] of jobs.entries()) {
      if (typeof job !== 'object' || job === null) throw new ValidationError(`jobs[${i}]`, 'must be an object');
      const { partitionKey, ...opts } = job.opts ?? {};
      if (partitionKey !== undefined && (typeof partitionKey !== 'string' || partitionKey.length === 0 || partitionKey.length > MAX_PARTITION_KEY_LENGTH)) {
        throw new ValidationError(`jobs[${i}].opts.partitionKey`, `must be a string of 1 to ${MAX_PARTITION_KEY_LENGTH} characters`);
      }
      const jobId = opts.jobId ?? randomUUID();
      const routed: NewJob = { ...job, opts: { ...opts, jobId } };
      const dependsOn: unknown = opts.dependsOn;
      if (Array.isArray(dependsOn)) {
        routed.opts = { ...routed.opts, dependsOn: (dependsOn as NonNullable<JobOptions['dependsOn']>).map((ref) => this.resolveDependency(ref)) };
      }
      // Validate the whole batch up front (errors name the caller's index), and ids across partitions.
      prepareJob(routed, now, {}, `jobs[${i}]`);
      if (seen.has(jobId)) throw new ValidationError(`jobs[${i}].opts.jobId`, `id ${jobId} appears twice in the batch`);
      seen.add(jobId);
      const key = partitionKey ?? opts.dedupe?.key ?? opts.group ?? jobId;
      const p = this.partitionOf(key);
      const group = groups.get(p) ?? [];
      group.push({ index: i, job: routed });
      groups.set(p, group);
    }
    await this.init();
    const results: PartitionedPublishResult[] = new Array<PartitionedPublishResult>(jobs.length);
    await Promise.all(
      [...groups].map(async ([p, group]) => {
        const queue = this.partition(p);
        const published = await queue.publishMany(group.map((g) => g.job));
        published.forEach((result, k) => {
          results[(group[k] as { index: number }).index] = { ...result, partition: p, queue: queue.name };
        });
      }),
    );
    return results;
  }

  /**
   * A prerequisite named by a bare job id (or by this logical queue's name) is taken to be a job
   * of this partitioned queue routed by its own id: it becomes `{ queue: <name>#<partitionOf(id)>, jobId }`.
   * Name the partition explicitly for prerequisites routed by another key.
   */
  private resolveDependency(ref: string | { queue: string; jobId: string }): string | { queue: string; jobId: string } {
    if (typeof ref === 'string' && ref.length > 0 && ref.length <= MAX_PARTITION_KEY_LENGTH) return { queue: partitionQueueName(this.name, this.partitionOf(ref)), jobId: ref };
    if (typeof ref === 'object' && ref !== null && ref.queue === this.name && typeof ref.jobId === 'string') {
      return { queue: partitionQueueName(this.name, this.partitionOf(ref.jobId)), jobId: ref.jobId };
    }
    return ref;
  }

  /**
   * The job's read model, or `undefined`. Looks first in the partition `partitionKey` routes to
   * (default: the job id itself, right for jobs routed by their id), then in every other partition.
   * `job.queue` names the partition it was found in.
   */
  async getJob(jobId: string, options: { partitionKey?: string } = {}): Promise<Job | undefined> {
    const id = toJobId(jobId);
    await this.init();
    const first = this.partitionOf(options.partitionKey ?? id);
    const found = await this.partition(first).get(id);
    if (found) return found;
    const others = await Promise.all(this.queues.filter((_, p) => p !== first).map((q) => q.get(id)));
    return others.find((job) => job !== undefined);
  }

  /** Jobs per state and events per type, summed over every partition, plus each partition's figures. */
  async stats(): Promise<PartitionedQueueStats> {
    await this.init();
    const partitions = await Promise.all(this.queues.map((q) => q.stats()));
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    const events: Record<string, number> = {};
    for (const stats of partitions) {
      for (const state of JOB_STATES) counts[state] += stats.counts[state];
      for (const [type, n] of Object.entries(stats.events)) events[type] = (events[type] ?? 0) + n;
    }
    return { queue: this.name, partitionCount: this.partitions, paused: partitions.every((s) => s.paused), counts, events, partitions };
  }

  /** Pauses every partition (one command per partition, not atomic across them); running jobs finish. */
  async pause(): Promise<void> {
    await this.init();
    await Promise.all(this.queues.map((q) => q.pause()));
  }

  /** Resumes every partition. */
  async resume(): Promise<void> {
    await this.init();
    await Promise.all(this.queues.map((q) => q.resume()));
  }

  /** Closes the partitions' queues and the connection when this object created it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.queues.map((q) => q.close()));
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** `await using`: {@link PartitionedQueue.close} on scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Options of {@link PartitionedWorker.open}: those of {@link MultiQueueWorker}, plus the partition count. */
export interface PartitionedWorkerOptions extends MultiQueueWorkerOptions {
  /**
   * The partition count N. Checked against the stored one ({@link PartitionCountMismatchError}
   * on a mismatch); stored when the queue is new.
   * @default the stored count (the queue must have been opened with a count before)
   */
  partitions?: number;
}

/**
 * Runs one handler for every partition of a partitioned queue: a {@link MultiQueueWorker} over
 * `<queue>#0` … `<queue>#N-1`, all of weight 1, sharing one `concurrency` (default 10).
 * Create it with {@link PartitionedWorker.open}, which checks the partition count first.
 *
 * Each partition has its own claim loop (and its own blocking connection when idle): it serves its
 * partition's highest non-empty lane first. Across partitions there is no priority order: freed
 * handler slots go to the partition waiting for them that holds the fewest (ties to the one that
 * asked first), so a low-priority job of one partition can start before a high-priority job of another.
 */
export class PartitionedWorker<P = unknown, R = unknown> extends MultiQueueWorker<P, R> {
  /** The logical queue. */
  readonly queue: QueueName;
  /** Number of partitions served. */
  readonly partitions: number;

  private constructor(queue: QueueName, partitions: number, handler: Handler<P, R>, options: MultiQueueWorkerOptions) {
    super(
      Array.from({ length: partitions }, (_, p) => partitionQueueName(queue, p)),
      handler,
      options,
    );
    this.queue = queue;
    this.partitions = partitions;
  }

  /**
   * Checks (or stores) the partition count of `queue`, then starts a worker on every partition
   * (unless `autorun: false`).
   * @throws {@link PartitionCountMismatchError} when `options.partitions` differs from the stored count;
   *   {@link ValidationError} for a bad name or count, or when no count is stored and none is given.
   */
  static async open<P = unknown, R = unknown>(
    queue: string,
    handler: Handler<P, R>,
    options: PartitionedWorkerOptions,
  ): Promise<PartitionedWorker<P, R>> {
    const name = toLogicalQueueName(queue);
    const { partitions, ...workerOptions } = options;
    if (partitions !== undefined) toPartitionCount(partitions);
    const n = await withRedis(options.connection, (redis) => claimPartitionCount(redis, name, partitions));
    return new PartitionedWorker<P, R>(name, n, handler, workerOptions);
  }
}

async function withRedis<T>(connection: RedisConnection, use: (redis: RedisClient) => Promise<T>): Promise<T> {
  const { redis, owned } = openRedis(connection);
  try {
    return await use(redis);
  } finally {
    if (owned) await redis.quit().catch(() => redis.disconnect());
  }
}
