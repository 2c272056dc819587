/**
 * Worker settings: the claim size. A Worker without a payload store claims half its concurrency
 * at a time (two claims in turn keep Redis and the handlers busy together); with one, and a
 * BatchWorker always, it claims the whole concurrency.
 */
import { describe, expect, it } from 'vitest';
import { batchSizeOf, type BatchWorkerOptions } from '../../src/consumers/batch-worker.js';
import { workerSettings, type WorkerOptions } from '../../src/consumers/worker-options.js';
import { ValidationError } from '../../src/core/errors.js';

/** Options as a caller passes them; the settings never connect. */
const options = (rest: Partial<WorkerOptions> = {}): WorkerOptions => ({ connection: 'redis://127.0.0.1:1', ...rest });
const batchOf = (rest: Partial<BatchWorkerOptions> = {}): number => batchSizeOf({ connection: 'redis://127.0.0.1:1', ...rest });

describe('worker claim size', () => {
  it('defaults to half the concurrency, rounded up, and never below one', () => {
    expect(workerSettings(options({ concurrency: 50 })).batchSize).toBe(25);
    expect(workerSettings(options({ concurrency: 7 })).batchSize).toBe(4);
    expect(workerSettings(options({ concurrency: 1 })).batchSize).toBe(1);
    expect(workerSettings(options()).batchSize).toBe(5);
  });

  it('is the whole concurrency with a payload store (payload reads grouped per claim)', () => {
    const payloads = {} as NonNullable<WorkerOptions['payloads']>;
    expect(workerSettings(options({ concurrency: 50, payloads })).batchSize).toBe(50);
    expect(workerSettings(options({ concurrency: 50, payloads, batchSize: 10 })).batchSize).toBe(10);
  });

  it('takes a given batchSize as it is, and refuses one out of range by name', () => {
    expect(workerSettings(options({ concurrency: 50, batchSize: 50 })).batchSize).toBe(50);
    expect(() => workerSettings(options({ concurrency: 10, batchSize: 0 }))).toThrow(ValidationError);
    expect(() => workerSettings(options({ concurrency: 10, batchSize: 0 }))).toThrow(/batchSize/);
  });

  it('is the whole concurrency for a BatchWorker unless given', () => {
    expect(workerSettings(options({ concurrency: 20, batchSize: batchOf({ concurrency: 20 }) })).batchSize).toBe(20);
    expect(batchOf()).toBe(10);
    expect(batchOf({ concurrency: 20, batchSize: 5 })).toBe(5);
  });
});
