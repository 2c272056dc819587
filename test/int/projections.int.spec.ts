import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { jobKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';
import { readModelSnapshot, deleteReadModel } from '../helpers/read-model.js';

const t = useQueueFixture();
const setup = t.setup;

describe('verify and rebuild', () => {
  it('a live read model verifies clean; a tampered one is reported field by field', async () => {
    const { name, queue } = setup();
    const a = await queue.publish('a', undefined);
    await queue.publish('b', undefined, { delayMs: 60_000 });
    await queue.cancel(a.id);
    expect(await verify(t.redis, name)).toMatchObject({ clean: true, differences: [], replayed: 4 });

    await t.redis.hset(jobKey(toQueueName(name), toJobId(a.id)), 'state', 'completed');
    const report = await verify(t.redis, name);
    expect(report.clean).toBe(false);
    expect(report.differences).toContain(`job ${a.id} state live=completed rebuilt=cancelled`);
  });

  it('rebuild after deleting every read-model key reproduces the live read model exactly', async () => {
    const { name, queue } = setup();
    await queue.publishMany(Array.from({ length: 40 }, (_, i) => ({ name: 'n', opts: { priority: i % 5 } })));
    const w = new Worker(name, (job) => {
      if (job.attempt === 1 && job.id.endsWith('0')) throw new Error('retry me');
    }, { connection: t.redis, blockMs: 100, promoteIntervalMs: 20 });
    await waitFor(async () => (await queue.stats()).counts.completed >= 20);
    await w.close();
    const before = await readModelSnapshot(t.redis, name);
    await deleteReadModel(t.redis, name);
    expect((await queue.stats()).counts.completed).toBe(0);
    const report = await rebuild(t.redis, name);
    expect(report.jobs).toBe(40);
    expect(await readModelSnapshot(t.redis, name)).toEqual(before);
    expect((await verify(t.redis, name)).clean).toBe(true);
  });

  it('rebuild under load: with a producer and workers running, the result verifies clean', async () => {
    const { name, queue } = setup();
    const w = new Worker(name, () => undefined, { connection: t.redis, blockMs: 100, concurrency: 20 });
    let producing = true;
    let published = 0;
    const producer = (async () => {
      while (producing) {
        await queue.publishMany(Array.from({ length: 20 }, () => ({ name: 'load' })));
        published += 20;
      }
    })();
    await waitFor(() => published >= 500);
    const report = await rebuild(t.redis, name, { batchSize: 100 });
    expect(report.replayed).toBeGreaterThan(0);
    producing = false;
    await producer;
    await w.close();
    const check = await verify(t.redis, name);
    expect(check.differences).toEqual([]);
    expect((await queue.stats()).counts.waiting + (await queue.stats()).counts.completed).toBe(published);
  });

  it('two rebuilds at once: the second is refused', async () => {
    const { name, queue } = setup();
    await queue.publishMany(Array.from({ length: 2000 }, () => ({ name: 'x' })));
    const results = await Promise.allSettled([rebuild(t.redis, name, { batchSize: 50 }), rebuild(t.redis, name, { batchSize: 50 })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(String(refused?.status === 'rejected' && refused.reason)).toMatch(/already running/);
    expect((await verify(t.redis, name)).clean).toBe(true);
  });
});
