/**
 * Worker settings: the claim size. A Worker claims half its concurrency at a time (two claims in
 * turn keep Redis and the handlers busy together); a BatchWorker claims whole batches.
 */
import { describe, expect, it } from 'vitest';
import { batchSizeOf } from '../../src/consumers/batch-worker.js';
import { workerSettings } from '../../src/consumers/worker-options.js';
import { ValidationError } from '../../src/core/errors.js';

describe('worker claim size', () => {
  it('defaults to half the concurrency, rounded up, and never below one', () => {
    expect(workerSettings({ concurrency: 50 }).batchSize).toBe(25);
    expect(workerSettings({ concurrency: 7 }).batchSize).toBe(4);
    expect(workerSettings({ concurrency: 1 }).batchSize).toBe(1);
    expect(workerSettings({}).batchSize).toBe(5);
  });

  it('takes a given batchSize as it is, and refuses one out of range by name', () => {
    expect(workerSettings({ concurrency: 50, batchSize: 50 }).batchSize).toBe(50);
    expect(() => workerSettings({ concurrency: 10, batchSize: 0 })).toThrow(ValidationError);
    expect(() => workerSettings({ concurrency: 10, batchSize: 0 })).toThrow(/batchSize/);
  });

  it('is the whole concurrency for a BatchWorker unless given', () => {
    expect(workerSettings({ concurrency: 20, batchSize: batchSizeOf({ concurrency: 20 }) }).batchSize).toBe(20);
    expect(batchSizeOf({})).toBe(10);
    expect(batchSizeOf({ concurrency: 20, batchSize: 5 })).toBe(5);
  });
});
