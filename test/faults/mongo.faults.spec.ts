import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { isSluiceError, PayloadStoreUnavailableError } from '../../src/core/errors.js';
import { MongoPayloadStore } from '../../src/payloads/mongo-store.js';
import { MongoServer } from '../../src/services/mongo-server.js';
import { allEvents, dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { expectAllCompletedOnce, faultQueue, Producer, startWorkers } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('MongoDB faults', () => {
  it('killed and restarted mid-run: publishes fail with a retryable error while it is down, nothing is half-written, everything resumes', { timeout: 300_000 }, async (context) => {
    const mongo = await MongoServer.start({ kind: 'ferretdb' });
    cleanups.push(() => mongo.stop());
    if (!mongo.controllable) {
      context.skip();
      return;
    }
    const redis = new Redis(inject('redisUrl'));
    cleanups.push(() => redis.quit().then(() => undefined));
    const payloads = new MongoPayloadStore({
      url: mongo.url,
      database: `sluice_fault_${randomUUID().replace(/-/g, '')}`,
      retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
    });
    cleanups.push(() => payloads.close());
    const name = testQueueName();
    cleanups.push(() => dropQueue(redis, name));
    const queue = faultQueue(name, redis, payloads);
    const workers = startWorkers(2, name, inject('redisUrl'), (job) => {
      expect(job.payload).toEqual({ id: job.id });
    }, { payloads });
    cleanups.push(() => Promise.all(workers.map((w) => w.close(1000))).then(() => undefined));
    const producer = new Producer(queue, { payload: true, pauseMs: 10 });
    await waitFor(() => producer.acked.size >= 200, 30_000, 'first publishes');

    await mongo.kill();
    const downAt = producer.acked.size;
    await waitFor(() => producer.errors.length >= 3, 30_000, 'publishes failing while MongoDB is down');
    const error = producer.errors[0];
    expect(error).toBeInstanceOf(PayloadStoreUnavailableError);
    expect(isSluiceError(error) && error.retryable && error.httpStatus).toBe(503);
    // Nothing was acknowledged, and no job was created, while the payload store was down.
    expect(producer.acked.size).toBeLessThanOrEqual(downAt + 20);
    const createdWhileDown = (await allEvents(redis, name)).filter((e) => e.type === 'created').length;
    expect(createdWhileDown).toBe(producer.acked.size);

    await mongo.restart();
    const upAt = producer.acked.size;
    await waitFor(() => producer.acked.size >= upAt + 200, 60_000, 'publishing resumed');
    await producer.stop();
    // Generous: under a loaded CI machine FerretDB serves a few hundred payload reads a second.
    await expectAllCompletedOnce(redis, name, producer.acked, 180_000);
    // Every job has its payload: no job was created without one.
    const created = (await allEvents(redis, name)).filter((e) => e.type === 'created');
    expect(created.length).toBe(producer.acked.size);
    const refs = created.map((e) => (e.type === 'created' ? e.data.payload : undefined));
    expect(refs.every((r) => r !== undefined)).toBe(true);
    const stored = await payloads.getMany(name, refs.flatMap((r) => (r ? [r] : [])));
    expect(stored.size).toBe(created.length);
  });
});
