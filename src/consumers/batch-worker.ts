/**
 * `BatchWorker`: a worker whose handler takes the jobs of one claim together (up to `batchSize`)
 * and reports an outcome per job. Each job keeps its own attempt, lease, timeout, signal,
 * progress and events; only the handler call is shared. Completions of a batch are committed
 * together (the worker's group commit), failures one script call each.
 *
 * @packageDocumentation
 */
import { Worker, type ActiveJob, type WorkerOptions } from './worker.js';
import { DEFAULT_CONCURRENCY } from './worker-options.js';

/** The outcome of one job of a batch. */
export type BatchOutcome<R = unknown> = { ok: true; result?: R } | { ok: false; error: unknown };

/**
 * Handles a batch. Return one outcome per job, in the order of `jobs` (a missing or `undefined`
 * entry, or returning nothing, completes the job without a result). Throwing fails every job of
 * the batch with that error (each is retried by its own backoff).
 */
export type BatchHandler<P = unknown, R = unknown> = (
  jobs: readonly ActiveJob<P>[],
) => Promise<readonly (BatchOutcome<R> | undefined)[] | void> | readonly (BatchOutcome<R> | undefined)[] | void;

/** Options of {@link BatchWorker}. */
export interface BatchWorkerOptions extends WorkerOptions {
  /**
   * Most jobs per batch (one claim). `concurrency` bounds the jobs of every batch in flight.
   * @default concurrency
   */
  batchSize?: number;
}

interface Deferred<R> {
  promise: Promise<R>;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

function deferred<R>(): Deferred<R> {
  let resolve!: (value: R) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<R>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A BatchWorker's batch size: `batchSize`, else the concurrency (validated by the Worker). */
export function batchSizeOf(options: BatchWorkerOptions): number {
  return options.batchSize ?? options.concurrency ?? DEFAULT_CONCURRENCY;
}

/** Runs `handler` on batches of up to `batchSize` jobs of `queue`. */
export class BatchWorker<P = unknown, R = unknown> extends Worker<P, R> {
  private readonly batchHandler: BatchHandler<P, R>;

  constructor(queue: string, handler: BatchHandler<P, R>, options: BatchWorkerOptions) {
    // The per-job handler is never called: runnersFor routes every job through the batch.
    // A batch is the jobs of one claim: by default as many as the worker may run at once.
    super(queue, () => Promise.reject(new Error('BatchWorker runs batches only')), { ...options, batchSize: batchSizeOf(options), autorun: false });
    this.batchHandler = handler;
    if (options.autorun !== false) this.run();
  }

  protected override runnersFor(count: number): ((job: ActiveJob<P>) => Promise<R>)[] {
    const jobs: ActiveJob<P>[] = new Array<ActiveJob<P>>(count);
    const outcomes = Array.from({ length: count }, () => deferred<R>());
    let arrived = 0;
    const runBatch = async (): Promise<void> => {
      try {
        const reported = await this.batchHandler(jobs);
        outcomes.forEach((d, i) => {
          const outcome = reported?.[i];
          if (outcome === undefined || outcome.ok) d.resolve(outcome?.result as R);
          else d.reject(outcome.error);
        });
      } catch (error) {
        for (const d of outcomes) d.reject(error);
      }
    };
    // Each job's attempt calls its runner; the batch starts when the last one has.
    return outcomes.map((d, i) => (job: ActiveJob<P>) => {
      jobs[i] = job;
      if (++arrived === count) void runBatch();
      return d.promise;
    });
  }
}
