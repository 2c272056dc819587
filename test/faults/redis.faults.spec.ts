import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/consumers/worker.js';
import { RedisServer } from '../../src/services/redis-server.js';
import { allEvents, testQueueName, waitFor } from '../helpers/dispatch.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { expectAllCompletedOnce, faultQueue, Producer, startWorkers } from './harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function server(options: Parameters<typeof RedisServer.start>[0] = {}): Promise<RedisServer> {
  const s = await RedisServer.start(options);
  cleanups.push(() => s.stop());
  return s;
}

function client(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 20 });
  r.on('error', () => undefined);
  cleanups.push(() => {
    r.disconnect();
    return Promise.resolve();
  });
  return r;
}

function closeAll(workers: Worker[]): void {
  cleanups.push(() => Promise.all(workers.map((w) => w.close(1000))).then(() => undefined));
}

const handler = async (): Promise<void> => {
  await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
};

describe('Redis faults', () => {
  it('SIGKILL and restart with appendfsync always: no acknowledged publish is lost, no job completes twice, clients reconnect', async () => {
    const redisServer = await server({ persistence: 'always' });
    const redis = client(redisServer.url);
    const name = testQueueName();
    const queue = faultQueue(name, redis);
    const workers = startWorkers(2, name, redisServer.url, handler);
    closeAll(workers);
    const producer = new Producer(queue, { pauseMs: 5 });
    await waitFor(() => producer.acked.size >= 400);
    await redisServer.kill();
    await new Promise((r) => setTimeout(r, 500));
    await redisServer.restart();
    const restartedAt = Date.now();
    const ackedAtRestart = producer.acked.size;
    await waitFor(() => producer.acked.size >= ackedAtRestart + 400, 30_000, 'publishing resumed');
    await producer.stop();
    await expectAllCompletedOnce(redis, name, producer.acked);
    // The same workers kept going after the restart: they claimed jobs published after it.
    const events = await allEvents(redis, name);
    const lateClaims = events.filter((e) => e.type === 'claimed' && e.metadata.time > restartedAt);
    expect(lateClaims.length).toBeGreaterThan(0);
    expect(new Set(lateClaims.map((e) => (e.type === 'claimed' ? e.data.worker.id : ''))).size).toBeGreaterThanOrEqual(1);
  });

  it('Redis SIGSTOPped longer than the lease, then SIGCONT: work resumes and no job completes twice', async () => {
    const redisServer = await server();
    const redis = client(redisServer.url);
    const name = testQueueName();
    const queue = faultQueue(name, redis);
    const workers = startWorkers(2, name, redisServer.url, handler, { leaseMs: 1000, reapIntervalMs: 200 });
    closeAll(workers);
    const producer = new Producer(queue, { pauseMs: 5 });
    await waitFor(() => producer.acked.size >= 300);
    redisServer.pause();
    await new Promise((r) => setTimeout(r, 2500));
    redisServer.resume();
    const resumedAt = producer.acked.size;
    await waitFor(() => producer.acked.size >= resumedAt + 300, 30_000, 'publishing resumed');
    await producer.stop();
    await expectAllCompletedOnce(redis, name, producer.acked);
  });

  it('connections cut and slowed by a TCP fault proxy: clients reconnect on their own and nothing is lost', async () => {
    const redisServer = await server();
    const proxy = await TcpProxy.start(redisServer.port);
    cleanups.push(() => proxy.stop());
    const direct = client(redisServer.url);
    const viaProxy = client(proxy.url);
    const name = testQueueName();
    const queue = faultQueue(name, viaProxy);
    const workers = startWorkers(2, name, proxy.url, handler);
    closeAll(workers);
    const producer = new Producer(queue, { pauseMs: 5 });
    for (let round = 0; round < 4; round++) {
      const before = producer.acked.size;
      await waitFor(() => producer.acked.size >= before + 100, 30_000, `progress in round ${round}`);
      expect(proxy.cutAll()).toBeGreaterThan(0);
    }
    proxy.setLatency(20);
    const before = producer.acked.size;
    await waitFor(() => producer.acked.size >= before + 100, 30_000, 'progress with latency');
    proxy.setLatency(0);
    await producer.stop();
    await expectAllCompletedOnce(direct, name, producer.acked);
  });
});
