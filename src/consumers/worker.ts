/**
 * `Worker`: runs a handler for the jobs of one queue.
 *
 * One loop claims jobs (a Lua script reads the lanes through the consumer group, highest lane
 * first, and appends `claimed`), fetches their payloads in one query, and runs up to
 * `concurrency` handlers. When no lane has work it blocks on all lanes at once with XREAD on a
 * dedicated connection. Outcomes run one script each (completions are group-committed:
 * src/consumers/completions.ts). Background loops (src/consumers/loops/) keep the leases and the
 * queue healthy: the lease keeper (heartbeat), and the queue's housekeeping — reaper, promoter,
 * retention, payload sweep, flow relay, repeat scheduler. Options and public types:
 * src/consumers/worker-options.ts.
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { duplicateClient, type RedisClient } from '../redis/connection.js';
import { scriptTime, systemClock, type Clock } from '../core/clock.js';
import { describe, isRedisDown, isSluiceError, JobAbortedError, UnrecoverableError, ValidationError } from '../core/errors.js';
import type { JsonValue, PayloadRef } from '../events/types.js';
import { QUEUES_KEY, toJobId, toQueueName, type QueueName } from '../core/keys.js';
import { readDependencies } from '../queue/flows.js';
import { WorkerTelemetry, type Attempt } from '../metrics/instrumentation.js';
import { defaultMetrics } from '../metrics/sluice-metrics.js';
import { redisServerAttributes, sluiceTracer } from '../metrics/tracing.js';
import { GroupedPut } from '../payloads/grouped-put.js';
import { ensureGroups, openRedis } from '../redis/open.js';
import { claimAttempts, failAttempt, recordError, recordProgress, releaseAttempts, retryTime, waitForWork, type ClaimedAttempt } from './attempts.js';
import { CompletionBatcher } from './completions.js';
import { queueHousekeeping } from './loops/housekeeping.js';
import { createLeaseKeeper } from './loops/lease-keeper.js';
import { LoopGroup, type QueueLoopContext } from './loops/loop.js';
import type { SlotPool } from './slot-pool.js';
import { workerSettings, type ActiveJob, type Handler, type WorkerEvents, type WorkerOptions, type WorkerSettings } from './worker-options.js';

export type { ActiveJob, BackoffFunction, Handler, WorkerEvents, WorkerOptions } from './worker-options.js';

type Claimed = ClaimedAttempt;

interface Running {
  token: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs `handler` for the jobs of queue `queue`. Starts immediately unless `autorun: false`
 * (then call {@link Worker.run}). Call {@link Worker.close} to stop gracefully.
 */
export class Worker<P = unknown, R = unknown> extends EventEmitter<WorkerEvents> {
  /** The queue served. */
  readonly queue: QueueName;
  /** This worker's id: its consumer name in the lanes' group and its name in `claimed` events. */
  readonly id: string;
  private readonly redis: RedisClient;
  private readonly owned: boolean;
  private blocker: RedisClient | undefined;
  private readonly identity: { id: string; host: string; pid: number };
  private readonly options: WorkerSettings;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly running = new Map<string, Running>();
  /** Claimed jobs whose payloads are being fetched: heartbeats keep their leases too. */
  private readonly fetching = new Map<string, string>();
  /** Handlers running now (≤ concurrency). */
  private busy = 0;
  private readonly completions: CompletionBatcher;
  /** Handlers' results, written to the payload store in groups (one insertMany per round trip). */
  private readonly results: GroupedPut | undefined;
  private slotWaiters: (() => void)[] = [];
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private closing: Promise<void> | undefined;
  /** The lease keeper, then the queue's housekeeping. */
  private readonly loops: LoopGroup;
  private readonly telemetry: WorkerTelemetry; // [observability]
  private readonly pool: SlotPool | undefined;

  constructor(
    queue: string,
    private readonly handler: Handler<P, R>,
    private readonly workerOptions: WorkerOptions,
  ) {
    super();
    this.queue = toQueueName(queue);
    if (typeof handler !== 'function') throw new ValidationError('handler', 'must be a function');
    this.options = workerSettings(workerOptions);
    this.clock = workerOptions.clock ?? systemClock;
    this.random = workerOptions.random ?? Math.random;
    this.pool = workerOptions.slots;
    this.id = workerOptions.id ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.identity = { id: this.id, host: hostname(), pid: process.pid };
    // [observability] consumer spans and wait/run time histograms
    const metrics = workerOptions.metrics === false ? undefined : (workerOptions.metrics ?? defaultMetrics());
    const { redis, owned } = openRedis(workerOptions.connection);
    this.telemetry = new WorkerTelemetry(this.queue, this.id, metrics, sluiceTracer(workerOptions.tracer), this.clock, redisServerAttributes(redis));
    this.redis = redis;
    this.owned = owned;
    const store = workerOptions.payloads;
    this.results = store ? new GroupedPut(store, this.queue) : undefined;
    this.completions = new CompletionBatcher(redis, this.queue, this.clock, () => this.wake());
    const context: QueueLoopContext = { redis, queue: this.queue, clock: this.clock, random: this.random, onError: (e) => this.report(e) };
    const o = this.options;
    this.loops = new LoopGroup([
      createLeaseKeeper(context, { consumer: this.id, heartbeatMs: o.heartbeatMs, held: () => this.heldLeases(), onLost: (jobId) => this.leaseLost(jobId) }),
      queueHousekeeping({
        ...context,
        consumer: this.id,
        payloads: store,
        leaseMs: o.leaseMs,
        reapIntervalMs: o.reapIntervalMs,
        pruneConsumersAfterMs: o.pruneConsumersAfterMs,
        promoteIntervalMs: o.promoteIntervalMs,
        retentionIntervalMs: o.retentionIntervalMs,
        payloadSweepIntervalMs: o.payloadSweepIntervalMs,
        payloadSweepGraceMs: o.payloadSweepGraceMs,
        repeatIntervalMs: o.repeatIntervalMs,
        flowRelayIntervalMs: o.flowRelayIntervalMs,
      }),
    ]);
    if (workerOptions.autorun !== false) this.run();
  }

  /** Number of handlers running now. */
  get activeCount(): number {
    return this.running.size;
  }

  /** Starts fetching (only needed with `autorun: false`); does nothing when already running. */
  run(): void {
    if (this.loopDone || this.stopping) return;
    this.loopDone = this.loop();
    this.loops.start();
  }

  private report(error: unknown): void {
    if (this.stopping && isConnectionClosed(error)) return;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else console.error(`sluice worker ${this.id} (queue ${this.queue}):`, describe(error));
  }

  private async loop(): Promise<void> {
    let ready = false;
    let failures = 0;
    while (!this.stopping) {
      try {
        if (!ready) {
          await ensureGroups(this.redis, this.queue);
          // A queue a worker consumes exists, like one published to: the service and the CLI
          // know it. (On a Cluster the registry's node may be down; the queue works without it.)
          await this.redis.sadd(QUEUES_KEY, this.queue).catch((error: unknown) => {
            if (!isRedisDown(error)) this.report(error);
          });
          ready = true;
        }
        // Handlers running now; jobs whose handler finished but whose outcome is still being
        // committed do not hold a slot, so the next claim overlaps the commit. The commit
        // backlog is bounded by the concurrency.
        let free = this.options.concurrency - this.busy;
        if (free <= 0 || this.completions.backlog >= this.options.concurrency) {
          await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
          continue;
        }
        if (this.pool) {
          // Shared slots: wait for this worker's turn; the ones the claim does not use go back.
          free = await this.pool.acquire(this.id, this.options.weight, Math.min(free, this.options.batchSize));
          if (free === 0) continue;
        }
        let claim;
        try {
          claim = await claimAttempts(this.redis, this.queue, scriptTime(this.clock), this.identity, Math.min(free, this.options.batchSize));
        } catch (error) {
          this.pool?.release(this.id, free);
          throw error;
        }
        this.pool?.release(this.id, free - (claim.kind === 'jobs' ? claim.jobs.length : 0));
        failures = 0;
        if (claim.kind === 'paused') {
          await this.pause(Math.min(1000, this.options.blockMs));
        } else if (claim.kind === 'limited') {
          // The queue's rate limit: sleep until its window lets the next job start.
          await this.pause(Math.max(1, Math.min(claim.retryAfterMs, this.options.blockMs)));
        } else if (claim.kind === 'empty') {
          await this.waitForWork(claim.cursor, claim.retryAfterMs);
        } else {
          await this.start(claim.jobs);
          // The lanes ran dry: block now, as after an empty claim, rather than claim again first.
          if (claim.drained) await this.waitForWork(claim.drained.cursor, claim.drained.retryAfterMs);
        }
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof Error && error.message.includes('NOGROUP')) ready = false;
        this.report(error);
        failures++;
        await this.pause(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.slotWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /**
   * Blocks on every lane and the wake stream until an entry newer than `cursor` arrives, or
   * blockMs passes, or — when a group is held back by its rate limit — `retryAfterMs` passes.
   */
  private async waitForWork(cursor: string[], retryAfterMs: number): Promise<void> {
    if (!this.blocker) {
      this.blocker = duplicateClient(this.redis, { connectionName: `sluice:worker:${this.id}:block` });
      this.blocker.on('error', () => undefined); // reported through the failing XREAD
    }
    const block = retryAfterMs > 0 ? Math.min(this.options.blockMs, retryAfterMs) : this.options.blockMs;
    try {
      await waitForWork(this.blocker, this.queue, cursor, block);
    } catch (error) {
      if (!this.stopping) throw error;
    }
  }

  private async start(jobs: Claimed[]): Promise<void> {
    let payloads = new Map<string, unknown>();
    const refs = jobs.map((job) => job.payload).filter((ref): ref is PayloadRef => ref !== undefined);
    if (refs.length > 0) {
      // A slow payload store (retrying while MongoDB is down) must not cost the jobs their
      // leases: the reaper would time them out and count the attempt.
      for (const job of jobs) this.fetching.set(job.id, job.token);
      try {
        if (!this.workerOptions.payloads) throw new ValidationError('payloads', 'jobs carry payloads but the worker has no payload store');
        payloads = await this.workerOptions.payloads.getMany(this.queue, refs);
        for (const job of jobs) this.fetching.delete(job.id);
      } catch (error) {
        for (const job of jobs) this.fetching.delete(job.id);
        // Give the jobs back without counting the attempt, then let the loop back off.
        this.pool?.release(this.id, jobs.length);
        await releaseAttempts(this.redis, this.queue, scriptTime(this.clock), this.id, jobs.map((job) => [job.id, job.token]));
        throw error;
      }
    }
    const runners = this.runnersFor(jobs.length);
    for (const [i, job] of jobs.entries()) {
      const controller = new AbortController();
      const entry: Running = { token: job.token, controller, done: Promise.resolve() };
      this.running.set(job.id, entry);
      this.busy++;
      let held = true;
      const releaseSlot = (): void => {
        if (!held) return;
        held = false;
        this.busy--;
        this.pool?.release(this.id, 1);
        this.wake();
      };
      entry.done = this.execute(job, job.payload ? payloads.get(job.payload.id) : undefined, controller, releaseSlot, runners?.[i]).finally(() => {
        releaseSlot();
        // The job stays in `running` (so heartbeats keep its lease) until its outcome is recorded.
        if (this.running.get(job.id) === entry) this.running.delete(job.id);
        this.wake();
      });
    }
  }

  private activeJob(job: Claimed, payload: unknown, signal: AbortSignal): ActiveJob<P> {
    return {
      id: job.id,
      queue: this.queue,
      name: job.name,
      payload: payload as P,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      traceparent: job.traceparent,
      createdAt: job.createdAt,
      signal,
      progress: async (value: JsonValue) => {
        if (JSON.stringify(value) === undefined) throw new ValidationError('progress', 'must be a JSON value');
        await recordProgress(this.redis, this.queue, scriptTime(this.clock), { jobId: job.id, token: job.token }, value);
      },
      dependencies: () => readDependencies(this.redis, this.queue, toJobId(job.id), this.workerOptions.payloads),
    };
  }

  /**
   * How the jobs of one claim are run: `undefined` runs the handler once per job; a subclass
   * (BatchWorker) returns one runner per job, settled by a single call for the whole claim.
   */
  protected runnersFor(count: number): ((job: ActiveJob<P>) => Promise<R>)[] | undefined {
    void count;
    return undefined;
  }

  private async execute(
    job: Claimed,
    payload: unknown,
    controller: AbortController,
    releaseSlot: () => void,
    runner?: (job: ActiveJob<P>) => Promise<R>,
  ): Promise<void> {
    const active = this.activeJob(job, payload, controller.signal);
    const started = this.clock.now();
    const attempt = this.telemetry.startAttempt(job); // [observability]
    let timer: NodeJS.Timeout | undefined;
    let result: R;
    try {
      const run = Promise.resolve().then(() => attempt.run(() => (runner ? runner(active) : this.handler(active))));
      if (job.timeoutMs !== undefined) {
        const timeoutMs = job.timeoutMs;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new JobAbortedError('timeout', `job ${job.id} timed out after ${timeoutMs} ms`);
            controller.abort(error);
            reject(error);
          }, timeoutMs);
        });
        run.catch(() => undefined); // a late rejection after the timeout is not unhandled
        result = await Promise.race([run, timeout]);
      } else {
        result = await run;
      }
    } catch (error) {
      clearTimeout(timer);
      releaseSlot();
      await this.fail(job, active, error, attempt);
      return;
    }
    clearTimeout(timer);
    releaseSlot();
    // The handler succeeded. If the outcome cannot be recorded (Redis or the payload store is
    // unreachable), the job is not failed: its lease runs out and it is delivered again.
    try {
      let ref: PayloadRef | undefined;
      if (result !== undefined && this.results) ref = await this.results.put(result);
      const completed = await this.completions.complete(job, ref, this.clock.now() - started);
      attempt.end(completed ? 'completed' : 'stale'); // [observability]
      if (completed) this.emit('completed', active, result);
      else this.emit('stale', job.id);
    } catch (error) {
      attempt.end('error'); // [observability]
      this.report(error);
    }
  }


  private retryAt(job: Claimed, active: ActiveJob, error: unknown): number | `+${number}` | undefined {
    const unrecoverable = error instanceof UnrecoverableError;
    let customDelayMs: number | undefined;
    if (job.backoff.type === 'custom' && !unrecoverable && job.attempt < job.maxAttempts) {
      if (this.workerOptions.backoff) customDelayMs = this.workerOptions.backoff(job.attempt, error, active);
      else this.report(new ValidationError('backoff', `job ${job.id} asks for custom backoff but the worker has no backoff function; retrying without delay`));
    }
    return retryTime(job, scriptTime(this.clock), { unrecoverable, random: this.random(), ...(customDelayMs === undefined ? {} : { customDelayMs }) });
  }

  private async fail(job: Claimed, active: ActiveJob, error: unknown, attempt: Attempt): Promise<void> {
    const retryAt = this.retryAt(job, active, error);
    try {
      const outcome = await failAttempt(this.redis, this.queue, scriptTime(this.clock), { jobId: job.id, token: job.token }, recordError(error), retryAt);
      attempt.end(outcome === 'retry' ? 'retried' : 'dead_lettered', error); // [observability]
      this.emit('failed', active, error, outcome === 'retry');
    } catch (outcomeError) {
      const stale = isSluiceError(outcomeError, 'SLUICE_ERR_STALE_ATTEMPT');
      attempt.end(stale ? 'stale' : 'error', error); // [observability]
      if (stale) this.emit('stale', job.id);
      else this.report(outcomeError);
    }
  }

  /** The attempts whose leases the lease keeper extends: running jobs and jobs whose payloads are being fetched. */
  private heldLeases(): [string, string][] {
    const pairs: [string, string][] = [];
    for (const [jobId, entry] of this.running) pairs.push([jobId, entry.token]);
    for (const [jobId, token] of this.fetching) pairs.push([jobId, token]);
    return pairs;
  }

  private leaseLost(jobId: string): void {
    const entry = this.running.get(jobId);
    if (entry && !entry.controller.signal.aborted) {
      entry.controller.abort(new JobAbortedError('lease-lost', `job ${jobId} no longer belongs to this attempt (cancelled or reclaimed)`));
    }
  }

  /**
   * Stops gracefully: no new jobs are fetched; running handlers get `graceMs` to finish; the
   * jobs of those still running are then given back for immediate redelivery (the attempt does
   * not count) and their AbortSignals fire. Closes the connections the worker created.
   */
  close(graceMs = this.options.graceMs): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  /** `await using worker = new Worker(...)`: {@link Worker.close} (default grace) on scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    this.pool?.cancel(this.id);
    this.blocker?.disconnect();
    this.wake();
    await this.loopDone;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all([...this.running.values()].map((r) => r.done)), grace]);
    clearTimeout(timer);
    const unfinished = [...this.running.entries()];
    try {
      await releaseAttempts(this.redis, this.queue, scriptTime(this.clock), this.id, unfinished.map(([jobId, r]) => [jobId, r.token]));
    } catch (error) {
      this.report(error);
    }
    for (const [jobId, r] of unfinished) {
      r.controller.abort(new JobAbortedError('shutdown', `worker ${this.id} shut down before job ${jobId} finished; it was given back`));
    }
    await this.loops.stop();
    await this.completions.settled();
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
    this.emit('closed');
  }
}

function isConnectionClosed(error: unknown): boolean {
  return error instanceof Error && /Connection is closed|connection closed/i.test(error.message);
}
