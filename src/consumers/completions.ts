/**
 * Group commit of completions: while one `complete` script call is in flight, the completions
 * that arrive meanwhile accumulate and go in the next call (up to 500 a call). The first call
 * after a quiet moment goes out once the current turn of the event loop is over
 * (`setImmediate`), so outcomes that became known together (a claim of fast handlers, one
 * grouped result insert) share it rather than the first going alone.
 *
 * @packageDocumentation
 */
import { scriptTime, type Clock } from '../core/clock.js';
import type { QueueName } from '../core/keys.js';
import type { PayloadRef } from '../events/types.js';
import type { RedisClient } from '../redis/connection.js';
import { completeAttempts, type ClaimedAttempt } from './attempts.js';

interface PendingCompletion {
  job: ClaimedAttempt;
  result: PayloadRef | undefined;
  durationMs: number;
  resolve: (completed: boolean) => void;
  reject: (error: unknown) => void;
}

/** Completes the attempts of one consumer in groups. */
export class CompletionBatcher {
  private readonly pending: PendingCompletion[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly queue: QueueName,
    private readonly clock: Clock,
    /** Called after each committed group: the backlog shrank. */
    private readonly onCommitted: () => void,
  ) {}

  /** Completions queued and not yet sent. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Completes `job`'s attempt; `true` when it still owned its job (else nothing changed). */
  complete(job: ClaimedAttempt, result: PayloadRef | undefined, durationMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, result, durationMs, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  /** Resolves when nothing is being committed. */
  async settled(): Promise<void> {
    await this.flushing;
  }

  /** Completes everything queued, one script call per group, until the queue is empty. */
  private async flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, 500);
      try {
        const done = await completeAttempts(
          this.redis,
          this.queue,
          scriptTime(this.clock),
          batch.map((c) => ({ jobId: c.job.id, token: c.job.token, result: c.result, durationMs: c.durationMs })),
        );
        batch.forEach((c, i) => c.resolve(done[i] === true));
      } catch (error) {
        for (const c of batch) c.reject(error);
      }
      this.onCommitted(); // the commit backlog shrank: the loop may claim again
    }
  }
}
