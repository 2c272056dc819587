/**
 * User-defined projections: a named reducer over a queue's events with a durable checkpoint.
 *
 * A {@link ProjectionRunner} catches up from the checkpoint (archive, then stream) and then
 * follows the live tail. Each batch is handed to the projection together with a Redis MULTI;
 * the runner adds the checkpoint update to the same MULTI and executes it, so a projection that
 * keeps its state in Redis is updated exactly once per event, across crashes and restarts.
 * A projection that writes elsewhere gets at-least-once delivery and the batch's last id to
 * deduplicate with.
 *
 * @packageDocumentation
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import { bufferTime, concatMap, filter, from, type Subscription } from 'rxjs';
import { describe, ValidationError } from '../core/errors.js';
import { RedisEventLog } from '../events/log.js';
import type { EventType, StoredJobEvent } from '../events/types.js';
import { checkpointKey, toQueueName, type QueueName } from '../core/keys.js';
import type { EventArchive } from '../history/archive.js';
import { replayBatches } from '../history/replay.js';

/** A stream id a projection has folded up to (inclusive). */
export type Checkpoint = string & { readonly __brand: 'Checkpoint' };

/** A user-defined projection. */
export interface Projection {
  /** Unique per queue (letters, digits, `._-`). */
  readonly name: string;
  /**
   * Bump it when `handle` changes meaning: the runner then truncates and replays from the start.
   * @default 1
   */
  readonly version?: number;
  /** Event types the projection folds; others only move the checkpoint. @default all */
  readonly types?: readonly EventType[];
  /**
   * Folds a batch of events (in log order). Queue Redis writes on `tx`: they commit together
   * with the checkpoint. `tx` is a MULTI on the queue's slot: on a Redis Cluster the keys written
   * must carry the queue's hash tag (`sluice:{<queue>}:…` or any `…{<queue>}…`).
   */
  handle(events: readonly StoredJobEvent[], tx: ChainableCommander, checkpoint: Checkpoint): void | Promise<void>;
  /** Deletes the projection's state (for reset and version changes). */
  truncate(redis: RedisClient): Promise<void>;
}

/** Options of {@link ProjectionRunner}. */
export interface ProjectionRunnerOptions {
  /** Connection to the queue's Redis (the caller closes it). */
  redis: RedisClient;
  queue: string;
  projection: Projection;
  /** Archived history, when the stream has been trimmed. */
  archive?: EventArchive;
  /**
   * Longest wait before a live batch is committed.
   * @default 100
   */
  batchMs?: number;
  /**
   * Most events per batch.
   * @default 500
   */
  batchSize?: number;
  /** Background error sink. @default console.error */
  onError?: (error: unknown) => void;
}

const running = new Map<string, ProjectionRunner>();

/** Runs one projection: catch-up from its checkpoint, then the live tail. */
export class ProjectionRunner {
  readonly queue: QueueName;
  private readonly key: string;
  private readonly version: number;
  private subscription: Subscription | undefined;
  private stopped = true;
  private inflight: Promise<void> = Promise.resolve();
  private processed = 0;

  /**
   * @throws {@link ValidationError} when a runner for the same queue and projection name is
   *   already running in this process.
   */
  constructor(private readonly options: ProjectionRunnerOptions) {
    this.queue = toQueueName(options.queue);
    this.key = checkpointKey(this.queue, options.projection.name);
    this.version = options.projection.version ?? 1;
    if (!Number.isInteger(this.version) || this.version < 1) throw new ValidationError('projection.version', 'must be an integer >= 1');
  }

  /** Events folded by this runner since it started. */
  get eventsProcessed(): number {
    return this.processed;
  }

  /** The stored checkpoint, or undefined before the first batch. */
  async checkpoint(): Promise<Checkpoint | undefined> {
    return ((await this.options.redis.hget(this.key, 'id')) ?? undefined) as Checkpoint | undefined;
  }

  /** Starts catching up and following. Resolves when the catch-up is done. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    if (running.has(this.key)) throw new ValidationError('projection.name', `projection ${this.options.projection.name} already runs on queue ${this.queue} in this process`);
    running.set(this.key, this);
    this.stopped = false;
    try {
      const stored = await this.options.redis.hmget(this.key, 'id', 'version');
      let after = stored[0] ?? undefined;
      if (after !== undefined && Number(stored[1]) !== this.version) {
        await this.reset();
        after = undefined;
      }
      const batches = replayBatches(
        { redis: this.options.redis, queue: this.queue, ...(this.options.archive ? { archive: this.options.archive } : {}) },
        { ...(after === undefined ? {} : { after }), batchSize: this.options.batchSize ?? 500 },
      );
      let next = await batches.next();
      while (!next.done && !this.stopped) {
        await this.commit(next.value);
        after = next.value[next.value.length - 1]?.id ?? after;
        next = await batches.next();
      }
      if (!next.done) await batches.return(undefined);
      if (next.done && next.value !== undefined) after = next.value;
      if (this.stopped) return;
      const log = new RedisEventLog(this.options.redis, this.queue);
      this.subscription = log
        .tail$(after ?? '0-0')
        .pipe(
          bufferTime(this.options.batchMs ?? 100, null, this.options.batchSize ?? 500),
          filter((batch) => batch.length > 0),
          concatMap((batch) => {
            this.inflight = this.commit(batch);
            return from(this.inflight);
          }),
        )
        .subscribe({
          error: (error: unknown) => {
            (this.options.onError ?? ((e) => console.error(`sluice projection ${this.options.projection.name}:`, describe(e))))(error);
          },
        });
    } catch (error) {
      running.delete(this.key);
      this.stopped = true;
      throw error;
    }
  }

  private async commit(events: readonly StoredJobEvent[]): Promise<void> {
    if (events.length === 0) return;
    const last = (events[events.length - 1] as StoredJobEvent).id as Checkpoint;
    const types = this.options.projection.types;
    const relevant = types === undefined ? events : events.filter((e) => types.includes(e.type));
    const tx = this.options.redis.multi();
    if (relevant.length > 0) await this.options.projection.handle(relevant, tx, last);
    tx.hset(this.key, 'id', last, 'version', String(this.version));
    const replies = await tx.exec();
    const failed = replies?.find(([error]) => error);
    if (!replies || failed) throw failed?.[0] ?? new Error('projection transaction was discarded');
    this.processed += events.length;
  }

  /** Stops following; the checkpoint keeps the position for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.subscription?.unsubscribe();
    await this.inflight.catch(() => undefined);
    if (running.get(this.key) === this) running.delete(this.key);
  }

  /** Truncates the projection's state and deletes its checkpoint: the next start replays everything. */
  async reset(): Promise<void> {
    await this.options.projection.truncate(this.options.redis);
    await this.options.redis.del(this.key);
  }
}
