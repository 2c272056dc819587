/**
 * Partitioned queues against the run's Redis: routing by partition key, one worker consuming
 * every partition exactly once, order per key and priority inside a partition, the stored
 * partition count, summed stats, validation, and partitions seen through the HTTP service.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { PartitionCountMismatchError, ValidationError } from '../../src/core/errors.js';
import { MAX_PARTITIONS, parsePartition, partitionQueueName, partitionsKey, toQueueName } from '../../src/core/keys.js';
import { PartitionedQueue, PartitionedWorker, partitionOf, type PartitionedWorkerOptions } from '../../src/consumers/partitioned.js';
import { verify } from '../../src/projections/rebuild.js';
import { dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';
import { bearer, dropDatabase, openTestApp, testDatabase } from '../helpers/service.js';

const t = useQueueFixture({ payloads: true });

/** A fresh partitioned queue, closed and dropped (every partition and the count) after the test. */
function setup(partitions: number, name = testQueueName()): { name: string; pq: PartitionedQueue } {
  const pq = new PartitionedQueue(name, { connection: t.redis, payloads: t.payloads, partitions });
  t.defer(async () => {
    await pq.close();
    await dropQueue(t.redis, name);
    for (let p = 0; p < MAX_PARTITIONS && p < 64; p++) await dropQueue(t.redis, `${name}#${p}`);
  });
  return { name, pq };
}

const fast: Omit<PartitionedWorkerOptions, 'connection'> = { blockMs: 50, metrics: false, repeatIntervalMs: 0, retentionIntervalMs: 0, flowRelayIntervalMs: 0 };

async function openWorker(
  name: string,
  handler: Parameters<typeof PartitionedWorker.open>[1],
  options: Partial<PartitionedWorkerOptions> = {},
): Promise<PartitionedWorker> {
  const worker = await PartitionedWorker.open(name, handler, { connection: t.redis, payloads: t.payloads, ...fast, ...options });
  t.defer(() => worker.close(500));
  return worker;
}

describe('partition names', () => {
  it('accepts exactly one #<n> suffix and pins the partition key names', () => {
    const q = toQueueName('orders');
    expect(partitionQueueName(q, 3)).toBe('orders#3');
    expect(partitionsKey(q)).toBe('sluice:{orders}:partitions');
    expect(parsePartition(toQueueName('orders#12'))).toEqual({ queue: 'orders', partition: 12 });
    expect(parsePartition(q)).toBeUndefined();
    for (const bad of ['orders#', 'orders#01', 'orders#1#2', '#1', 'orders#x', 'orders#10000', 'or#ders']) {
      expect(() => toQueueName(bad), bad).toThrow(ValidationError);
    }
    expect(() => partitionQueueName(toQueueName('orders#1'), 0)).toThrow(/already a partition/);
    expect(() => partitionQueueName(q, MAX_PARTITIONS)).toThrow(/partition: must be an integer from 0 to 1023/);
  });

  it('routes with FNV-1a over UTF-8, a stable function of the key', () => {
    // FNV-1a 32 test vectors: "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(partitionOf('a', 1024)).toBe(0xe40c292c % 1024);
    expect(partitionOf('foobar', 1024)).toBe(0xbf9cf968 % 1024);
    expect(partitionOf('foobar', 1)).toBe(0);
    expect(() => partitionOf('', 4)).toThrow(/partitionKey/);
    expect(() => partitionOf('a', 0)).toThrow(/partitions: must be an integer from 1 to 1024/);
  });

  it('rejects bad names and partition counts with clear errors, touching nothing', async () => {
    const options = { connection: t.redis, partitions: 4 };
    expect(() => new PartitionedQueue('orders#1', options)).toThrow(/names a partition/);
    expect(() => new PartitionedQueue('has space', options)).toThrow(/queue: "has space" may contain only/);
    expect(() => new PartitionedQueue('x'.repeat(98), options)).toThrow(/at most 100 characters/);
    for (const partitions of [0, -1, 1.5, 1025, Number.NaN]) {
      expect(() => new PartitionedQueue('orders', { connection: t.redis, partitions }), String(partitions)).toThrow(
        /partitions: must be an integer from 1 to 1024/,
      );
    }
    await expect(PartitionedWorker.open('orders#2', () => undefined, { connection: t.redis, partitions: 2 })).rejects.toThrow(/names a partition/);
    await expect(PartitionedWorker.open(testQueueName(), () => undefined, { connection: t.redis, partitions: 0 })).rejects.toThrow(/partitions:/);
    const unknown = testQueueName();
    await expect(PartitionedWorker.open(unknown, () => undefined, { connection: t.redis })).rejects.toThrow(/no stored partition count/);
    expect(await t.redis.exists(partitionsKey(toQueueName(unknown)))).toBe(0);
  });
});

describe('a partitioned queue', () => {
  it('routes stably by partition key, spreads jobs over every partition, and finds them again', async () => {
    const { name, pq } = setup(4);
    const jobs = Array.from({ length: 200 }, (_, i) => ({ name: 'work', payload: { i } }));
    const calls = pq.queues.map((q) => vi.spyOn(q, 'publishMany'));
    const results = await pq.publishMany(jobs);
    expect(results).toHaveLength(200);
    for (const spy of calls) expect(spy).toHaveBeenCalledTimes(1); // one Queue.publishMany (one script call) per partition
    for (const spy of calls) spy.mockRestore();
    const perPartition = [0, 0, 0, 0];
    for (const r of results) {
      expect(r.created).toBe(true);
      expect(r.partition).toBe(partitionOf(r.id, 4));
      expect(r.queue).toBe(`${name}#${r.partition}`);
      perPartition[r.partition] = (perPartition[r.partition] ?? 0) + 1;
    }
    for (const n of perPartition) expect(n).toBeGreaterThan(20); // 200 over 4: each gets a fair part
    const stats = await pq.stats();
    expect(stats.partitions.map((s) => s.counts.waiting)).toEqual(perPartition);
    expect(stats.partitions.map((s) => s.queue)).toEqual([0, 1, 2, 3].map((p) => `${name}#${p}`));

    // Same key, same partition, from another handle too.
    const other = new PartitionedQueue(name, { connection: t.redis, partitions: 4 });
    t.defer(() => other.close());
    const keyed = await Promise.all(['a', 'a', 'b'].map((key, i) => other.publish('keyed', undefined, { partitionKey: `tenant-${key}`, jobId: `k${i}` })));
    expect(keyed[0]?.partition).toBe(keyed[1]?.partition);
    expect(keyed[0]?.partition).toBe(pq.partitionOf('tenant-a'));
    expect(keyed[2]?.partition).toBe(pq.partitionOf('tenant-b'));

    // getJob: by the id's hash, by the given key, or by looking in every partition.
    const sample = results[17];
    const job = await pq.getJob(sample?.id as string);
    expect(job?.queue).toBe(sample?.queue);
    expect(await pq.queueOf(job as { queue: string }).getPayload(job as never)).toEqual({ i: 17 });
    expect((await pq.getJob('k2', { partitionKey: 'tenant-b' }))?.queue).toBe(`${name}#${pq.partitionOf('tenant-b')}`);
    expect((await pq.getJob('k2'))?.id).toBe('k2');
    expect(await pq.getJob('nope')).toBeUndefined();

    // Republishing an id reports the duplicate in its partition; ids twice in a batch are refused.
    const again = await pq.publish('work', undefined, { jobId: 'k0', partitionKey: 'tenant-a' });
    expect(again).toMatchObject({ id: 'k0', created: false, partition: keyed[0]?.partition });
    await expect(pq.publishMany([{ name: 'x', opts: { jobId: 'd', partitionKey: 'p1' } }, { name: 'x', opts: { jobId: 'd', partitionKey: 'p2' } }])).rejects.toThrow(
      /jobs\[1\]\.opts\.jobId: id d appears twice/,
    );
    await expect(pq.publishMany([{ name: 'ok' }, { name: 'bad', opts: { priority: 9 } }])).rejects.toThrow(/jobs\[1\]\.opts\.priority/);
    await expect(pq.publish('x', undefined, { partitionKey: '' })).rejects.toThrow(/jobs\[0\]\.opts\.partitionKey/);
    expect((await pq.stats()).counts.waiting).toBe(203); // the refused batches published nothing
  });

  it('keeps dedupe within one partition by routing on the dedupe key', async () => {
    const { pq } = setup(8);
    const first = await pq.publish('thumb', undefined, { dedupe: { key: 'img-7', ttlMs: 60_000 } });
    const second = await pq.publish('thumb', undefined, { dedupe: { key: 'img-7', ttlMs: 60_000 } });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ id: first.id, created: false, deduplicated: true, partition: first.partition });
  });

  it('sums stats over partitions and pauses and resumes every partition', async () => {
    const { pq } = setup(3);
    await pq.publishMany(Array.from({ length: 30 }, (_, i) => ({ name: 'w', opts: { partitionKey: `k${i % 3}`, ...(i % 5 === 0 ? { delayMs: 60_000 } : {}) } })));
    const stats = await pq.stats();
    expect(stats.partitionCount).toBe(3);
    expect(stats.counts.waiting + stats.counts.delayed).toBe(30);
    expect(stats.counts.delayed).toBe(6);
    expect(stats.counts.waiting).toBe(stats.partitions.reduce((sum, s) => sum + s.counts.waiting, 0));
    expect(stats.events.created).toBe(30);
    expect(stats.paused).toBe(false);
    await pq.pause();
    const paused = await pq.stats();
    expect(paused.paused).toBe(true);
    expect(paused.partitions.every((s) => s.paused)).toBe(true);
    await pq.resume();
    expect((await pq.stats()).partitions.some((s) => s.paused)).toBe(false);
  });

  it('refuses a second open with another partition count, in queues and workers', async () => {
    const { name, pq } = setup(4);
    await pq.stats(); // the first operation stores N
    expect(await t.redis.get(partitionsKey(toQueueName(name)))).toBe('4');
    const wrong = new PartitionedQueue(name, { connection: t.redis, partitions: 3 });
    t.defer(() => wrong.close());
    const error = await wrong.publish('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartitionCountMismatchError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_PARTITION_MISMATCH', httpStatus: 409, stored: 4, requested: 3 });
    expect((error as Error).message).toBe(`partitioned queue ${name} has 4 partitions, not 3: open it with partitions: 4`);
    await expect(wrong.stats()).rejects.toBeInstanceOf(PartitionCountMismatchError);
    await expect(PartitionedWorker.open(name, () => undefined, { connection: t.redis, partitions: 5 })).rejects.toBeInstanceOf(PartitionCountMismatchError);
    // Without a count the worker takes the stored one.
    const worker = await openWorker(name, () => undefined, { autorun: false });
    expect(worker.partitions).toBe(4);
    expect(worker.workers.map((w) => w.queue)).toEqual([0, 1, 2, 3].map((p) => `${name}#${p}`));
    expect((await pq.stats()).counts.waiting).toBe(0);
  });
});

describe('a partitioned worker', () => {
  it('consumes every partition within one concurrency, and every job completes exactly once', async () => {
    const { name, pq } = setup(4);
    const published = await pq.publishMany(Array.from({ length: 300 }, (_, i) => ({ name: 'w', payload: { i } })));
    const runs = new Map<string, number>();
    const byPartition = new Map<string, number>();
    let running = 0;
    let most = 0;
    const worker = await openWorker(name, async (job) => {
      running++;
      most = Math.max(most, running);
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      byPartition.set(job.queue, (byPartition.get(job.queue) ?? 0) + 1);
      expect((job.payload as { i: number }).i).toBeTypeOf('number');
      await new Promise((resolve) => setTimeout(resolve, 1));
      running--;
    }, { concurrency: 6 });
    await waitFor(async () => (await pq.stats()).counts.completed === 300, 30_000, '300 completions');
    await worker.close(500);
    expect(runs.size).toBe(300);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(published.map((r) => r.id))).toEqual(new Set(runs.keys()));
    expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3].map((p) => `${name}#${p}`));
    expect(most).toBeLessThanOrEqual(6);
    const stats = await pq.stats();
    expect(stats.counts).toMatchObject({ waiting: 0, active: 0, completed: 300, failed: 0, dead: 0 });
    for (const q of pq.queues) expect((await verify(t.redis, q.name)).differences).toEqual([]);
  });

  it('keeps publish order per partition key at concurrency 1, and strict priority inside a partition', async () => {
    const { name, pq } = setup(4);
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin'];
    // Interleaved keys, one batch and then single publishes.
    await pq.publishMany(Array.from({ length: 50 }, (_, i) => ({ name: 'seq', payload: { key: keys[i % 5], seq: i }, opts: { partitionKey: keys[i % 5] } })));
    for (let i = 50; i < 60; i++) await pq.publish('seq', { key: keys[i % 5], seq: i }, { partitionKey: keys[i % 5] });
    // Priority: in the partition of `vip`, low-priority jobs published before high-priority ones.
    const vip = pq.partitionOf('vip');
    for (let i = 0; i < 5; i++) await pq.publish('prio', { key: 'vip', seq: 100 + i, priority: 0 }, { partitionKey: 'vip', priority: 0 });
    for (let i = 0; i < 5; i++) await pq.publish('prio', { key: 'vip', seq: 200 + i, priority: 4 }, { partitionKey: 'vip', priority: 4 });
    const seen = new Map<string, number[]>();
    const inVip: number[] = [];
    await openWorker(name, (job) => {
      const { key, seq } = job.payload as { key: string; seq: number };
      seen.set(key, [...(seen.get(key) ?? []), seq]);
      if (job.queue === `${name}#${vip}`) inVip.push(seq);
    }, { concurrency: 1 });
    await waitFor(async () => (await pq.stats()).counts.completed === 70, 30_000, '70 completions');
    for (const key of keys) {
      const order = seen.get(key) ?? [];
      expect(order, key).toHaveLength(12);
      expect(order, key).toEqual([...order].sort((a, b) => a - b));
    }
    // Inside vip's partition every priority-4 job ran before every lower-priority job of that partition.
    const firstLow = inVip.findIndex((seq) => seq < 200);
    expect(inVip.slice(0, 5)).toEqual([200, 201, 202, 203, 204]);
    expect(firstLow).toBe(5);
    expect(seen.get('vip')).toEqual([200, 201, 202, 203, 204, 100, 101, 102, 103, 104]);
  });
});

describe('flows over partitions', () => {
  it('resolves bare prerequisite ids to the partition of their id, so a parent waits for children anywhere', async () => {
    const { name, pq } = setup(4);
    const children = ['part-1', 'part-2', 'part-3', 'part-4', 'part-5'];
    await pq.publishMany(children.map((jobId) => ({ name: 'child', opts: { jobId } })));
    expect(new Set(children.map((id) => pq.partitionOf(id))).size).toBeGreaterThan(1);
    const parent = await pq.publish('merge', undefined, { jobId: 'merge-1', dependsOn: children });
    expect((await pq.getJob('merge-1'))?.state).toBe('blocked');
    const order: string[] = [];
    await openWorker(name, (job) => {
      order.push(job.id);
    }, { concurrency: 4, flowRelayIntervalMs: 20 });
    await waitFor(async () => (await pq.getJob('merge-1'))?.state === 'completed', 20_000, 'the parent to complete');
    expect(order.at(-1)).toBe('merge-1');
    expect(order.sort()).toEqual([...children, 'merge-1'].sort());
    const deps = await pq.partition(parent.partition).dependencies('merge-1');
    expect(deps.map((d) => d.queue).sort()).toEqual(children.map((id) => `${name}#${pq.partitionOf(id)}`).sort());
  });
});

describe('partitions through the HTTP service', () => {
  it('serves a partition by its physical name (# encoded as %23)', async () => {
    const database = testDatabase();
    const app = await openTestApp(database);
    t.defer(async () => {
      await app.close();
      await dropDatabase(database);
    });
    const { name, pq } = setup(2);
    const { id, queue } = await pq.publish('w', { x: 1 }, { jobId: `j-${randomUUID()}` });
    const stats = await app.app.inject({ method: 'GET', url: `/v1/queues/${encodeURIComponent(queue)}/stats`, headers: bearer('admin') });
    expect(stats.statusCode).toBe(200);
    expect(stats.json()).toMatchObject({ queue, counts: { waiting: 1 } });
    const job = await app.app.inject({ method: 'GET', url: `/v1/queues/${encodeURIComponent(queue)}/jobs/${id}`, headers: bearer('admin') });
    expect(job.statusCode).toBe(200);
    expect(job.json()).toMatchObject({ id, queue, state: 'waiting' });
    const bad = await app.app.inject({ method: 'GET', url: `/v1/queues/${encodeURIComponent(`${name}#01`)}/stats`, headers: bearer('admin') });
    expect(bad.statusCode).toBe(400);
  });
});
