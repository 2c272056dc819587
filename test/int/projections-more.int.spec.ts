import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Archiver } from '../../src/audit/archiver.js';
import { EventArchive } from '../../src/history/archive.js';
import { Worker } from '../../src/consumers/worker.js';
import { HistoryIncompleteError } from '../../src/core/errors.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { ProjectionRunner, type Projection } from '../../src/projections/subscriber.js';
import { allEvents, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';
import { deleteReadModel, readModelSnapshot } from '../helpers/read-model.js';

const t = useQueueFixture();
const setup = t.setup;
let client: MongoClient;
const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;
beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  await client.connect();
});
afterAll(async () => {
  await client.db(database).dropDatabase();
  await client.close();
});

describe('retention', () => {
  it('removes completed and dead jobs by age and by count through removed events, keeping their events', async () => {
    let now = 1_800_000_000_000;
    const clock = { now: () => now };
    const { name, queue } = setup({ clock });
    await queue.setRetention({ completed: { maxAgeMs: 60_000, maxCount: 3 }, dead: { maxAgeMs: null, maxCount: null } });
    expect(await queue.getRetention()).toEqual({
      completed: { maxAgeMs: 60_000, maxCount: 3 },
      dead: { maxAgeMs: null, maxCount: null },
      cancelled: { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
    });
    await queue.publishMany(Array.from({ length: 6 }, (_, i) => ({ name: i < 5 ? 'ok' : 'bad', opts: { jobId: `j${i}`, attempts: 1 } })));
    const w = new Worker(name, (job) => {
      if (job.name === 'bad') throw new Error('dead on arrival');
    }, { connection: t.redis, blockMs: 100, clock, retentionIntervalMs: 0 });
    await waitFor(async () => {
      const { counts } = await queue.stats();
      return counts.completed === 5 && counts.dead === 1;
    });
    await w.close();
    // Count limit: 5 completed, keep 3 → the two oldest go.
    expect(await queue.applyRetention()).toEqual({ completed: 2, dead: 0, cancelled: 0 });
    expect((await queue.stats()).counts.completed).toBe(3);
    // Age limit: a minute later every completed job is too old; dead jobs have no limit.
    now += 61_000;
    expect(await queue.applyRetention()).toEqual({ completed: 3, dead: 0, cancelled: 0 });
    const { counts } = await queue.stats();
    expect(counts.completed).toBe(0);
    expect(counts.dead).toBe(1);
    expect(await queue.get('j0')).toBeUndefined();
    const removed = (await allEvents(t.redis, name)).filter((e) => e.type === 'removed');
    expect(removed).toHaveLength(5);
    expect(removed.every((e) => e.type === 'removed' && e.data.reason === 'retention' && e.data.fromState === 'completed')).toBe(true);
    expect((await verify(t.redis, name)).clean).toBe(true);
    await expect(queue.setRetention({ completed: { maxCount: -1 } })).rejects.toThrow(/retention\.completed\.maxCount/);
  });

  it('applies the age and the count limit in one call without removing a job twice', async () => {
    let now = 1_800_000_000_000;
    const clock = { now: () => now };
    const { name, queue } = setup({ clock });
    await queue.setRetention({ completed: { maxAgeMs: 60_000, maxCount: 2 } });
    const w = new Worker(name, () => undefined, { connection: t.redis, blockMs: 100, clock, retentionIntervalMs: 0 });
    t.defer(() => w.close());
    await queue.publishMany(['a0', 'a1'].map((jobId) => ({ name: 'x', opts: { jobId } })));
    await waitFor(async () => (await queue.stats()).counts.completed === 2);
    now += 30_000;
    await queue.publishMany(['b0', 'b1', 'b2'].map((jobId) => ({ name: 'x', opts: { jobId } })));
    await waitFor(async () => (await queue.stats()).counts.completed === 5);
    await w.close();
    now += 40_000;
    // Age: a0 and a1 are 70 s old. Count: of the three left, keep the newest two → b0 goes.
    expect(await queue.applyRetention()).toEqual({ completed: 3, dead: 0, cancelled: 0 });
    const removed = (await allEvents(t.redis, name)).filter((e) => e.type === 'removed').map((e) => e.metadata.jobId);
    expect(removed.sort()).toEqual(['a0', 'a1', 'b0']);
    expect((await queue.stats()).counts.completed).toBe(2);
    expect(await queue.get('b0')).toBeUndefined();
    expect((await queue.get('b1'))?.state).toBe('completed');
    expect((await verify(t.redis, name)).clean).toBe(true);
  });

  it('workers apply the default policy on their own', async () => {
    const { name, queue } = setup();
    await queue.setRetention({ completed: { maxCount: 0 } });
    await queue.publishMany(Array.from({ length: 5 }, () => ({ name: 'x' })));
    const w = new Worker(name, () => undefined, { connection: t.redis, blockMs: 100, retentionIntervalMs: 50 });
    t.defer(() => w.close());
    await waitFor(async () => (await queue.stats()).events.removed === 5);
    expect((await queue.stats()).counts.completed).toBe(0);
  });
});

describe('rebuild from the archive', () => {
  it('after the stream was archived and trimmed, rebuild reproduces the read model', async () => {
    const { name, queue } = setup();
    const archive = new EventArchive({ client, database, collection: `rebuild_${randomUUID().slice(0, 8)}` });
    await queue.publishMany(Array.from({ length: 30 }, (_, i) => ({ name: 'a', opts: { priority: i % 5 } })));
    const w = new Worker(name, () => undefined, { connection: t.redis, blockMs: 100 });
    await waitFor(async () => (await queue.stats()).counts.completed === 30);
    await w.close();
    const archiver = new Archiver({ redis: t.redis, archive, queue: name });
    while ((await archiver.runOnce()).archived > 0);
    expect(await t.redis.xlen(eventsKey(toQueueName(name)))).toBe(1);
    await queue.publish('after-trim', undefined);
    const before = await readModelSnapshot(t.redis, name);
    await deleteReadModel(t.redis, name);
    const report = await rebuild(t.redis, name, { archive });
    expect(report.replayed).toBe(91);
    expect(await readModelSnapshot(t.redis, name)).toEqual(before);
    expect((await verify(t.redis, name, { archive })).clean).toBe(true);
    // Without the archive the trimmed history is missing: verify refuses to answer from it.
    await expect(verify(t.redis, name)).rejects.toThrow(HistoryIncompleteError);
  });
});

/** Counts events per type in a Redis hash — state that commits with its checkpoint. */
function counter(key: string): Projection {
  return {
    name: 'event-counter',
    handle(events, tx) {
      for (const event of events) tx.hincrby(key, event.type, 1);
    },
    async truncate(r) {
      await r.del(key);
    },
  };
}

describe('user projections', () => {
  it('catches up, follows live, and after a restart resumes from its checkpoint without reprocessing or skipping', async () => {
    const { name, queue } = setup();
    const key = `test:${name}:counter`;
    t.defer(async () => {
      await t.redis.del(key);
    });
    await queue.publishMany(Array.from({ length: 50 }, () => ({ name: 'before' })));
    const first = new ProjectionRunner({ redis: t.redis, queue: name, projection: counter(key), batchMs: 20 });
    await first.start();
    expect(await t.redis.hget(key, 'created')).toBe('50');
    await expect(new ProjectionRunner({ redis: t.redis, queue: name, projection: counter(key) }).start()).rejects.toThrow(/already runs/);
    // Live: events appended while it follows, then a stop in the middle of a stream of publishes.
    const publishing = (async () => {
      for (let i = 0; i < 20; i++) await queue.publishMany(Array.from({ length: 10 }, () => ({ name: 'during' })));
    })();
    await waitFor(async () => Number(await t.redis.hget(key, 'created')) > 60);
    await first.stop();
    await publishing;
    const checkpoint = await first.checkpoint();
    expect(checkpoint).toBeDefined();
    const second = new ProjectionRunner({ redis: t.redis, queue: name, projection: counter(key), batchMs: 20 });
    await second.start();
    await queue.publish('after', undefined);
    await waitFor(async () => Number(await t.redis.hget(key, 'created')) === 251, 10_000, 'all events counted');
    await second.stop();
    expect(await t.redis.hget(key, 'created')).toBe('251');
    expect(first.eventsProcessed + second.eventsProcessed).toBe(251);
    // Reset: state and checkpoint go; the next start replays everything once.
    await second.reset();
    const third = new ProjectionRunner({ redis: t.redis, queue: name, projection: counter(key) });
    await third.start();
    await third.stop();
    expect(await t.redis.hget(key, 'created')).toBe('251');
  });
});
