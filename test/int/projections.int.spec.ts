import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { jobKey, legacyWaitingStateKey, priorityKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { searchJobs } from '../../src/queue/search.js';
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

describe('waiting jobs are indexed by the priority set alone', () => {
  const T0 = 1_700_000_000_000;

  /** Publishes, one per 10 ms of a fake clock from T0: a p2, b p4, c p0, d p4, e p2. */
  async function mixed(): Promise<{ name: string; queue: ReturnType<typeof setup>['queue'] }> {
    let now = T0;
    const { name, queue } = setup({ clock: { now: () => now } });
    for (const [id, priority] of [['a', 2], ['b', 4], ['c', 0], ['d', 4], ['e', 2]] as const) {
      await queue.publish('n', undefined, { jobId: id, priority });
      now += 10;
    }
    return { name, queue };
  }

  it('lists waiting jobs highest priority first, then arrival, page by page; writes no state:waiting', async () => {
    const { name, queue } = await mixed();
    expect((await queue.list('waiting')).jobs.map((j) => j.id)).toEqual(['b', 'd', 'a', 'e', 'c']);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.list('waiting', { limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      pages.push(page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(pages).toEqual([['b', 'd'], ['a', 'e'], ['c']]);
    // The longest-waiting job is a (p2, T0), not the first in dispatch order (b).
    expect((await queue.stats()).oldestWaitingAt).toBe(T0);
    await queue.cancel('a');
    expect((await queue.stats()).oldestWaitingAt).toBe(T0 + 10);
    expect(await t.redis.exists(legacyWaitingStateKey(toQueueName(name)))).toBe(0);
    expect(await t.redis.zcard(priorityKey(toQueueName(name)))).toBe(4);
    expect(await verify(t.redis, name)).toMatchObject({ clean: true, differences: [] });
    for (const id of ['b', 'c', 'd', 'e']) await queue.cancel(id);
    expect((await queue.stats()).oldestWaitingAt).toBeUndefined();
  });

  it('rebuild is exact and deletes a state:waiting key left by an older version, which nothing reads', async () => {
    const { name, queue } = await mixed();
    const legacy = legacyWaitingStateKey(toQueueName(name));
    await t.redis.zadd(legacy, T0, 'a', T0 + 10, 'b', 1, 'ghost');
    expect((await verify(t.redis, name)).clean).toBe(true);
    expect((await queue.list('waiting')).jobs.map((j) => j.id)).toEqual(['b', 'd', 'a', 'e', 'c']);
    const before = await readModelSnapshot(t.redis, name);
    await deleteReadModel(t.redis, name);
    expect(await rebuild(t.redis, name)).toMatchObject({ jobs: 5 });
    expect(await readModelSnapshot(t.redis, name)).toEqual(before);
    expect(await t.redis.exists(legacy)).toBe(0);
    expect((await verify(t.redis, name)).clean).toBe(true);
  });

  it('search by time range over waiting jobs applies the range in every priority band, and pages', async () => {
    const { name } = await mixed();
    const range = { from: T0 + 10, to: T0 + 30 };
    const all = await searchJobs(t.redis, name, { state: 'waiting', ...range });
    expect(all.jobs.map((j) => j.id)).toEqual(['d', 'b', 'c']);
    expect(all.nextCursor).toBeUndefined();
    // Without a state the walk covers the waiting bands too.
    expect((await searchJobs(t.redis, name, range)).jobs.map((j) => j.id)).toEqual(['d', 'b', 'c']);
    expect((await searchJobs(t.redis, name, { state: 'waiting', from: T0 + 40 })).jobs.map((j) => j.id)).toEqual(['e']);
    expect((await searchJobs(t.redis, name, { state: 'waiting', to: T0 })).jobs.map((j) => j.id)).toEqual(['a']);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await searchJobs(t.redis, name, { state: 'waiting', ...range, limit: 1, ...(cursor === undefined ? {} : { cursor }) });
      paged.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(paged).toEqual(['d', 'b', 'c']);
  });
});
