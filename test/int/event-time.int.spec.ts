/**
 * Event time comes from the Redis server clock (issue #14, part 2): with the system clock, every
 * event's `metadata.time` is exactly the ms of its stream id, whatever event type and however long
 * the publisher spent before its script ran (a payload round trip to MongoDB), so event order and
 * event times never disagree. Due times a worker asks for (retry backoff) are measured from that
 * same clock.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { Queue } from '../../src/queue/queue.js';
import type { StoredJobEvent } from '../../src/events/types.js';
import { SluiceContext } from '../../src/app/context.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { allEvents, dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { dropDatabase, testConfig, testDatabase } from '../helpers/service.js';

const database = testDatabase();
let context: SluiceContext;
const queue = testQueueName();

beforeAll(() => {
  context = new SluiceContext(testConfig(database));
});

afterAll(async () => {
  await dropQueue(context.redis, queue);
  await context.close();
  await dropDatabase(database);
});

const idMs = (e: StoredJobEvent): number => Number(e.id.split('-')[0]);

describe('event time', () => {
  it('is the ms of the stream id for every event type, in stream order', async () => {
    const q = context.queue(queue);
    // created with a payload (a MongoDB round trip before the script), scheduled, promoted.
    await q.publish('ok', { big: 'x'.repeat(50_000) }, { jobId: 'ok' });
    await q.publish('later', { n: 1 }, { jobId: 'later', delayMs: 150 });
    await q.publish('flaky', { n: 2 }, { jobId: 'flaky', attempts: 2, backoff: { type: 'fixed', delayMs: 120 } });
    await q.publish('child', undefined, { jobId: 'child', dependsOn: ['ok'] });
    await q.publish('stop', undefined, { jobId: 'stop', delayMs: 60_000 });
    await q.cancel('stop');
    await q.retry('stop');
    await q.cancel('stop', 'again');
    await q.remove('stop');
    const worker = new Worker<unknown>(
      queue,
      async (job) => {
        if (job.name === 'flaky') throw new Error('always');
        await job.progress({ step: 1 });
        return { done: job.id };
      },
      { connection: context.redis, payloads: context.payloads, blockMs: 50, metrics: false },
    );
    try {
      await waitFor(async () => {
        const { counts } = await q.stats();
        return counts.completed === 3 && counts.dead === 1;
      }, 30_000, 'three completed jobs and one dead job');
    } finally {
      await worker.close();
    }
    await q.retry('flaky');
    const events = await allEvents(context.redis, queue);
    const types = new Set(events.map((e) => e.type));
    for (const type of ['created', 'scheduled', 'promoted', 'claimed', 'progress', 'completed', 'failed', 'dead-lettered', 'retried', 'cancelled', 'removed', 'dependency-resolved']) {
      expect(types, type).toContain(type);
    }
    for (const e of events) expect({ type: e.type, id: e.id, time: e.metadata.time }).toEqual({ type: e.type, id: e.id, time: idMs(e) });
    for (let i = 1; i < events.length; i++) expect((events[i] as StoredJobEvent).metadata.time).toBeGreaterThanOrEqual((events[i - 1] as StoredJobEvent).metadata.time);

    // A publish delay is measured from the publish script's (server) time, however long the
    // publisher took to get there.
    const scheduled = events.find((e) => e.type === 'scheduled' && e.metadata.jobId === 'later');
    expect(scheduled?.type === 'scheduled' && scheduled.data.runAt - scheduled.metadata.time).toBe(150);
    // The retry backoff is measured from the failure's (server) time.
    const failed = events.find((e) => e.type === 'failed' && e.data.final === false);
    expect(failed?.type === 'failed' && (failed.data.retryAt ?? 0) - failed.metadata.time).toBe(120);
    // The read model's times are the events' times.
    const ok = await q.getOrThrow('ok');
    const created = events.find((e) => e.type === 'created' && e.metadata.jobId === 'ok');
    expect(ok.createdAt).toBe(created?.metadata.time);
  });

  it("falls back to the caller's clock under the documented ACL without TIME, still equal to the id's ms", async () => {
    const user = `sluice-noclock-${randomUUID()}`;
    const password = randomUUID();
    // The ACL of docs/CONFIGURATION.md, without +time.
    await context.redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, 'resetkeys', '~sluice:*', 'resetchannels', '+@stream', '+@hash', '+@sortedset', '+@set', '+@scripting', '+@keyspace', '+@connection', '+info');
    const url = new URL(inject('redisUrl'));
    url.username = user;
    url.password = password;
    const name = testQueueName();
    const raw = new Redis(url.toString(), { maxRetriesPerRequest: 1 });
    const q = new Queue(name, { connection: url.toString() });
    try {
      await expect(raw.time()).rejects.toThrow(/NOPERM/);
      await q.publish('a', undefined, { jobId: 'a' });
      await q.cancel('a');
      await q.retry('a');
      const events = await allEvents(context.redis, name);
      expect(events.map((e) => e.type)).toEqual(['created', 'cancelled', 'retried']);
      for (const e of events) expect(e.metadata.time).toBe(idMs(e));
    } finally {
      await q.close();
      raw.disconnect();
      await dropQueue(context.redis, name);
      await context.redis.call('ACL', 'DELUSER', user);
    }
  });

  it('keeps event times in stream order when the server clock is behind the last stream id', async () => {
    const name = testQueueName();
    const q = context.queue(name);
    try {
      await q.publish('a', undefined, { jobId: 'a' });
      // A clock that stepped back an hour looks like a stream whose last id is an hour ahead:
      // an entry written then deleted leaves the stream's last id there.
      const ahead = Date.now() + 3_600_000;
      const key = eventsKey(toQueueName(name));
      const bogus = await context.redis.xadd(key, `${ahead}-0`, 'x', '1');
      await context.redis.xdel(key, bogus as string);
      await q.cancel('a');
      await q.retry('a');
      const events = await allEvents(context.redis, name);
      expect(events.map((e) => e.type)).toEqual(['created', 'cancelled', 'retried']);
      for (const e of events) expect(e.metadata.time).toBe(idMs(e));
      expect((events[1] as StoredJobEvent).metadata.time).toBe(ahead);
      expect((events[2] as StoredJobEvent).metadata.time).toBeGreaterThanOrEqual(ahead);
      expect((await q.getOrThrow('a')).updatedAt).toBe((events[2] as StoredJobEvent).metadata.time);
    } finally {
      await dropQueue(context.redis, name);
    }
  });
});
