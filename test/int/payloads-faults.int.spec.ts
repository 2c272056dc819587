/**
 * MongoPayloadStore when MongoDB dies, hangs or was never up: calls fail with the retryable
 * PayloadStoreUnavailableError in bounded time, never report success, and the same store object
 * recovers once the server is back. Uses a private server (the shared one must not be killed);
 * skipped when MONGO_URL points at an external server that tests cannot kill.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadNotFoundError, PayloadStoreUnavailableError } from '../../src/core/errors.js';
import { MongoPayloadStore, type PayloadRef } from '../../src/payloads/index.js';
import { MongoServer } from '../../src/services/mongo-server.js';

const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;
const queue = `t-${randomUUID()}`;
const notControllable = 'MONGO_URL points at an external MongoDB, which tests cannot kill or pause';

/** Settles `promise` and measures how long that took. */
async function timed<T>(promise: Promise<T>): Promise<{ result: PromiseSettledResult<T>; ms: number }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([promise]);
  return { result: result as PromiseSettledResult<T>, ms: Math.round(performance.now() - started) };
}

function expectUnavailable(result: PromiseSettledResult<unknown>, operation: string): void {
  expect(result.status).toBe('rejected');
  const error = (result as PromiseRejectedResult).reason as PayloadStoreUnavailableError;
  expect(error).toBeInstanceOf(PayloadStoreUnavailableError);
  expect(error.retryable).toBe(true);
  expect(error.httpStatus).toBe(503);
  expect(error.details).toMatchObject({ operation });
  expect(error.cause).toBeDefined();
}

describe('MongoPayloadStore under MongoDB faults', () => {
  let server: MongoServer;
  const stores: MongoPayloadStore[] = [];

  beforeAll(async () => {
    server = await MongoServer.start();
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await server.stop();
  });

  it('fails put and get with PayloadStoreUnavailableError while MongoDB is dead, then recovers without a new store', async (ctx) => {
    ctx.skip(!server.controllable, notControllable);
    // Default options: this measures the real failure time of the defaults.
    const store = new MongoPayloadStore({ url: server.url, database });
    stores.push(store);
    const before = await store.put(queue, [{ value: { stored: 'before the kill' } }, { value: Uint8Array.of(1, 2, 3) }]);
    expect(await store.get(queue, before[0] as PayloadRef)).toEqual({ stored: 'before the kill' });

    await server.kill();
    const [put, get] = await Promise.all([
      timed(store.put(queue, { id: 'during-outage', value: 'must not be reported stored' })),
      timed(store.get(queue, before[0] as PayloadRef)),
    ]);
    await ctx.annotate(`dead MongoDB: put rejected after ${put.ms} ms, get after ${get.ms} ms`);
    console.info(`[payloads-faults] dead MongoDB: put rejected after ${put.ms} ms, get after ${get.ms} ms`);
    expectUnavailable(put.result, 'put');
    expectUnavailable(get.result, 'get');
    expect(Math.max(put.ms, get.ms)).toBeLessThan(30_000);
    const health = await store.health();
    expect(health.ok).toBe(false);
    expect(health.error).toBeTruthy();

    await server.restart();
    const after = await store.put(queue, { value: 'after the restart' });
    expect(await store.get(queue, after)).toBe('after the restart');
    // Stored before the kill, still there after the restart.
    const read = await store.getMany(queue, before);
    expect(read.get((before[0] as PayloadRef).id)).toEqual({ stored: 'before the kill' });
    expect(read.get((before[1] as PayloadRef).id)).toEqual(Uint8Array.of(1, 2, 3));
    expect((await store.health()).ok).toBe(true);
    // The server was dead for the whole put: nothing can have been stored.
    await expect(store.get(queue, 'during-outage')).rejects.toBeInstanceOf(PayloadNotFoundError);
  });

  it('recovers a store whose very first connection failed', async (ctx) => {
    ctx.skip(!server.controllable, notControllable);
    await server.kill();
    // The driver closes its topology when the first connection fails; the store must reopen it.
    const store = new MongoPayloadStore({
      url: server.url,
      database,
      clientOptions: { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 },
      retry: { maxAttempts: 2, baseDelayMs: 50 },
    });
    stores.push(store);
    const down = await timed(store.put(queue, { value: 'never stored' }));
    expectUnavailable(down.result, 'put');
    await server.restart();
    const ref = await store.put(queue, { value: 'first connection after all' });
    expect(await store.get(queue, ref)).toBe('first connection after all');
  });

  it('fails in bounded time while MongoDB hangs (SIGSTOP), then recovers', async (ctx) => {
    ctx.skip(!server.controllable, notControllable);
    const store = new MongoPayloadStore({
      url: server.url,
      database,
      clientOptions: { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500, socketTimeoutMS: 500 },
      retry: { maxAttempts: 3, baseDelayMs: 50 },
    });
    stores.push(store);
    await store.put(queue, { value: 'warm up the pool' });
    server.pause();
    let hung: Awaited<ReturnType<typeof timed>>;
    try {
      hung = await timed(store.put(queue, { value: 'while hung' }));
    } finally {
      server.resume();
    }
    await ctx.annotate(`hung MongoDB: put rejected after ${hung.ms} ms`);
    expectUnavailable(hung.result, 'put');
    expect(hung.ms).toBeLessThan(30_000);
    const ref = await store.put(queue, { value: 'after resume' });
    expect(await store.get(queue, ref)).toBe('after resume');
  });
});
