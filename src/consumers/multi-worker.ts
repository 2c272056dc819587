/**
 * `MultiQueueWorker`: one handler serving several queues with weights, within one concurrency
 * budget. It runs a {@link Worker} per queue; they share a {@link SlotPool}, which hands freed
 * handler slots to the queues waiting for them in proportion to their weights. A queue with no
 * work takes no slot, so its share goes to the others (work-conserving).
 *
 * @packageDocumentation
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, ValidationError } from '../core/errors.js';
import { toQueueName } from '../core/keys.js';
import { SlotPool } from './slot-pool.js';
import { Worker, type Handler, type WorkerEvents, type WorkerOptions } from './worker.js';

/** One queue a {@link MultiQueueWorker} serves. */
export interface QueueRoute {
  queue: string;
  /**
   * Share of the handlers while several queues have work: a queue of weight 3 runs three jobs
   * for every one of a queue of weight 1.
   * @default 1
   */
  weight?: number;
}

/** Options of {@link MultiQueueWorker}: those of {@link Worker}, for every queue. */
export type MultiQueueWorkerOptions = Omit<WorkerOptions, 'slots' | 'weight'>;

/** Runs `handler` for the jobs of several queues (`job.queue` tells which). */
export class MultiQueueWorker<P = unknown, R = unknown> extends EventEmitter<WorkerEvents> {
  /** The worker of each queue, in the order given. */
  readonly workers: readonly Worker<P, R>[];
  /** The shared handler slots. */
  readonly slots: SlotPool;

  constructor(routes: readonly (QueueRoute | string)[], handler: Handler<P, R>, options: MultiQueueWorkerOptions) {
    super();
    const input: unknown = routes;
    if (!Array.isArray(input) || input.length === 0) throw new ValidationError('routes', 'must name at least one queue');
    const normalised = routes.map((r, i) => {
      const route: QueueRoute = typeof r === 'string' ? { queue: r } : r;
      const weight = route.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1 || weight > 1000) throw new ValidationError(`routes[${i}].weight`, 'must be an integer from 1 to 1000');
      return { queue: toQueueName(route.queue, `routes[${i}].queue`), weight };
    });
    if (new Set(normalised.map((r) => r.queue)).size !== normalised.length) throw new ValidationError('routes', 'name each queue once');
    const concurrency = options.concurrency ?? 10;
    this.slots = new SlotPool(concurrency);
    const base = options.id ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.workers = normalised.map(
      (route) =>
        new Worker<P, R>(route.queue, handler, {
          ...options,
          id: `${base}:${route.queue}`,
          slots: this.slots,
          weight: route.weight,
        }),
    );
    for (const w of this.workers) {
      w.on('completed', (...args) => this.emit('completed', ...args));
      w.on('failed', (...args) => this.emit('failed', ...args));
      w.on('stale', (...args) => this.emit('stale', ...args));
      w.on('error', (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
        else console.error(`sluice worker ${w.id} (queue ${w.queue}):`, describe(error));
      });
    }
  }

  /** Handlers running now, across every queue. */
  get activeCount(): number {
    return this.workers.reduce((sum, w) => sum + w.activeCount, 0);
  }

  /** Starts every queue's worker (only needed with `autorun: false`). */
  run(): void {
    for (const w of this.workers) w.run();
  }

  /** Closes every queue's worker gracefully (see {@link Worker.close}). */
  async close(graceMs?: number): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close(graceMs)));
    this.emit('closed');
  }

  /** `await using`: {@link MultiQueueWorker.close} (default grace) on scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
