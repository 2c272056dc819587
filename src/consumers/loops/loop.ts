/**
 * What the Worker's background loops share: the {@link Loop} interface (start/stop), the context
 * every queue loop runs in, jitter, and {@link LoopGroup}, which starts and stops several loops as
 * one. Each loop is a {@link PeriodicTask} built by a module of this folder.
 *
 * @packageDocumentation
 */
import type { Clock } from '../../core/clock.js';
import type { QueueName } from '../../core/keys.js';
import type { RedisClient } from '../../redis/connection.js';

/** A background loop: `start()` schedules its first run; `stop()` cancels the next and waits for one in progress. */
export interface Loop {
  start(): void;
  stop(): Promise<void>;
}

/** What every loop of one queue works with. */
export interface QueueLoopContext {
  redis: RedisClient;
  queue: QueueName;
  clock: Clock;
  /** Source of randomness in [0, 1) for jitter. */
  random: () => number;
  /** A run's failure (Redis or payload store trouble); the next run retries. */
  onError: (error: unknown) => void;
}

/** `ms` jittered by ±25 %, so the loops of many workers do not run in step. */
export function jittered(context: QueueLoopContext, ms: number): number {
  return Math.round(ms * (0.75 + context.random() * 0.5));
}

/** Loops started together, and stopped one after the other in the order given. */
export class LoopGroup implements Loop {
  constructor(readonly loops: readonly Loop[]) {}

  start(): void {
    for (const loop of this.loops) loop.start();
  }

  async stop(): Promise<void> {
    for (const loop of this.loops) await loop.stop();
  }
}
