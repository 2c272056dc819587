/**
 * The shared fixture of the integration specs: one Redis connection per spec file (and a payload
 * store in a database of its own when asked), a fresh queue per `setup()` call, and cleanups run
 * after each test in reverse order — the queue's keys dropped through its prefix, never a flush.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import type { MongoPayloadStore } from '../../src/payloads/mongo-store.js';
import { Queue } from '../../src/queue/queue.js';
import { dropQueue, testQueueName, testRedis } from './dispatch.js';
import { openTestPayloads, type TestPayloads } from './payloads.js';

/** What {@link useQueueFixture} hands a spec file. */
export interface QueueFixture {
  /** The spec file's connection to the run's Redis. */
  readonly redis: Redis;
  /** The payload store (only with `payloads: true`). */
  readonly payloads: MongoPayloadStore;
  /** Registers a cleanup that runs after the current test. */
  readonly defer: (cleanup: () => Promise<unknown>) => void;
  /** A fresh queue, closed and dropped after the test. */
  readonly setup: (options?: { clock?: Clock }) => { name: string; queue: Queue };
}

/** Installs the hooks and returns the fixture. Call it at the top level of a spec file. */
export function useQueueFixture(options: { payloads?: boolean } = {}): QueueFixture {
  let redis: Redis | undefined;
  let payloads: TestPayloads | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    redis = testRedis();
    if (options.payloads) payloads = await openTestPayloads();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await payloads?.close();
    await redis?.quit();
  });
  const fixture: QueueFixture = {
    get redis(): Redis {
      if (!redis) throw new Error('the fixture is used before its beforeAll hook ran');
      return redis;
    },
    get payloads(): MongoPayloadStore {
      if (!payloads) throw new Error('useQueueFixture({ payloads: true }) is needed for a payload store');
      return payloads.store;
    },
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    setup: (setupOptions = {}) => {
      const name = testQueueName();
      const queue = new Queue(name, {
        connection: fixture.redis,
        ...(payloads ? { payloads: payloads.store } : {}),
        ...(setupOptions.clock ? { clock: setupOptions.clock } : {}),
      });
      cleanups.push(async () => {
        await queue.close();
        await dropQueue(fixture.redis, name);
      });
      return { name, queue };
    },
  };
  return fixture;
}
