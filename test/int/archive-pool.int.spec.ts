/**
 * The service's archiver loop: one loop for all queues, that archives new events of every queue
 * and does not run caught-up queues again until their streams change.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Redis } from 'ioredis';
import { EventArchive } from '../../src/history/archive.js';
import { jobHistory } from '../../src/history/replay.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { Queue } from '../../src/queue/queue.js';
import { ArchiverPool } from '../../src/server/archivers.js';
import { dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';

let redis: Redis;
let client: MongoClient;
const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;

beforeAll(async () => {
  redis = testRedis();
  client = new MongoClient(inject('mongoUrl'));
  await client.connect();
});
afterAll(async () => {
  await client.db(database).dropDatabase();
  await client.close();
  await redis.quit();
});

describe('ArchiverPool', () => {
  it('archives every queue, then leaves caught-up queues alone until their streams grow', { timeout: 60_000 }, async () => {
    const archive = new EventArchive({ client, database, collection: 'pool_events' });
    const names = [testQueueName(), testQueueName(), testQueueName()];
    const queues = names.map((name) => new Queue(name, { connection: redis }));
    try {
      for (const queue of queues) await queue.publishMany(Array.from({ length: 20 }, () => ({ name: 'd', opts: { delayMs: 3_600_000 } })));
      const errors: unknown[] = [];
      // The queue set is shared with other test files: only ours are archived here.
      const pool = new ArchiverPool({ redis, archive, queues: names, intervalMs: 100, trim: true, onError: (e) => errors.push(e) });
      await pool.start();
      try {
        for (const name of names) await waitFor(async () => (await archive.count(toQueueName(name))) === 40, 20_000, `${name} archived`);
        // The archiver writes MongoDB first and trims the stream after: the count can reach 40 a
        // moment before the trim, so wait for the trim too (everything but the last entry goes).
        for (const name of names) await waitFor(async () => (await redis.xlen(eventsKey(toQueueName(name)))) === 1, 20_000, `${name} trimmed`);
        // Caught up: no runs for our queues while nothing changes (the loop blocks on the streams).
        await new Promise((r) => setTimeout(r, 300));
        const idleRuns = pool.runs;
        await new Promise((r) => setTimeout(r, 1500));
        const quietRuns = pool.runs - idleRuns;
        expect(quietRuns).toBe(0);
        // A new event wakes its queue.
        const { id } = await (queues[1] as Queue).publish('late', undefined);
        await waitFor(async () => (await archive.count(toQueueName(names[1] as string))) === 41, 20_000, 'the late event archived');
        const history = await jobHistory({ redis, archive, queue: names[1] as string }, id);
        expect(history.map((e) => e.type)).toEqual(['created']);
        expect(errors).toEqual([]);
      } finally {
        await pool.stop();
      }
    } finally {
      for (const [i, queue] of queues.entries()) {
        await queue.close();
        await dropQueue(redis, names[i] as string);
      }
    }
  });
});
