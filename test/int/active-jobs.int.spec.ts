/**
 * Active jobs come from the lanes' pending entries, not from a `state:active` index (which the
 * fold no longer writes): list, search, verify and rebuild agree with what a worker holds.
 */
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { jobKey, laneKey, legacyActiveStateKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { searchJobs } from '../../src/queue/search.js';
import { waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';
import { readModelSnapshot } from '../helpers/read-model.js';

const t = useQueueFixture();

/** A worker whose handlers hold their jobs until `release()`; `held` names the jobs it runs. */
function gatedWorker(name: string, options: { leaseMs?: number } = {}): { held: Set<string>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held = new Set<string>();
  const worker = new Worker(name, async (job) => {
    held.add(job.id);
    await gate;
    return 'ok';
  }, { connection: t.redis, concurrency: 5, blockMs: 100, ...options });
  t.defer(() => worker.close(1000));
  return { held, release: () => release() };
}

describe('active jobs', () => {
  it('while a worker holds jobs, list("active") is exactly those jobs by claim time, with no state:active key; verify is clean and rebuild exact', async () => {
    const { name, queue } = t.setup();
    const q = toQueueName(name);
    // Grouped and ungrouped, over two lanes: the group lane's tokens are g<entry id>.
    await queue.publish('a', undefined, { priority: 1 });
    await queue.publish('b', undefined, { priority: 3 });
    await queue.publish('c', undefined, { group: 'g1' });
    const other = await queue.publish('waits', undefined, { delayMs: 60_000 });
    const { held, release } = gatedWorker(name);
    await waitFor(() => held.size === 3);

    const { jobs } = await queue.list('active');
    const claimedAt = await Promise.all([...held].map(async (id) => ({ id, at: Number(await t.redis.hget(jobKey(q, toJobId(id)), 'claimedAt')) })));
    const expected = claimedAt.sort((x, y) => x.at - y.at || (x.id < y.id ? -1 : 1)).map((c) => c.id);
    expect(jobs.map((j) => j.id)).toEqual(expected);
    expect(jobs.every((j) => j.state === 'active')).toBe(true);
    expect(jobs.map((j) => j.id)).not.toContain(other.id);
    // Paging keeps the order.
    const first = await queue.list('active', { limit: 2 });
    expect(first.jobs.map((j) => j.id)).toEqual(expected.slice(0, 2));
    const rest = await queue.list('active', { limit: 2, ...(first.nextCursor === undefined ? {} : { cursor: first.nextCursor }) });
    expect(rest.jobs.map((j) => j.id)).toEqual(expected.slice(2));
    expect(rest.nextCursor).toBeUndefined();
    // Search walks them newest claim first.
    const found = await searchJobs(t.redis, name, { state: 'active' });
    expect(found.jobs.map((j) => j.id)).toEqual([...expected].reverse());
    expect((await queue.stats()).counts.active).toBe(3);

    expect(await t.redis.exists(legacyActiveStateKey(q))).toBe(0);
    const report = await verify(t.redis, name);
    expect(report.differences).toEqual([]);
    expect(report.jobsCompared).toBe(4);
    const before = await readModelSnapshot(t.redis, name);
    // A stale index left by an older version is dropped by rebuild and read by nobody.
    await t.redis.zadd(legacyActiveStateKey(q), 1, 'ghost');
    expect((await queue.list('active')).jobs.map((j) => j.id)).toEqual(expected);
    const rebuilt = await rebuild(t.redis, name);
    expect(rebuilt.jobs).toBe(4);
    expect(await readModelSnapshot(t.redis, name)).toEqual(before);
    expect(await t.redis.exists(legacyActiveStateKey(q))).toBe(0);

    release();
    await waitFor(async () => (await queue.stats()).counts.completed === 3);
    expect((await queue.list('active')).jobs).toEqual([]);
    expect(await t.redis.exists(legacyActiveStateKey(q))).toBe(0);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('an active job whose pending entry was deleted is still compared by verify and kept by rebuild (their scan), though list no longer names it', async () => {
    const { name, queue } = t.setup();
    const q = toQueueName(name);
    const a = await queue.publish('a', undefined, { priority: 1 });
    await queue.publish('b', undefined, { priority: 1 });
    const { held, release } = gatedWorker(name, { leaseMs: 60_000 });
    await waitFor(() => held.size === 2);
    const token = await t.redis.hget(jobKey(q, toJobId(a.id)), 'token');
    expect(await t.redis.xdel(laneKey(q, 1), token as string)).toBe(1);
    expect((await queue.list('active')).jobs.map((j) => j.id)).not.toContain(a.id);
    const report = await verify(t.redis, name);
    expect(report.differences).toEqual([]);
    expect(report.jobsCompared).toBe(2);
    const hash = await t.redis.hgetall(jobKey(q, toJobId(a.id)));
    expect((await rebuild(t.redis, name)).jobs).toBe(2);
    expect(await t.redis.hgetall(jobKey(q, toJobId(a.id)))).toEqual(hash);
    expect(await t.redis.keys(`sluice:{${name}}:shadow:*`)).toEqual([]);
    release();
  });
});
