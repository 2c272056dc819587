/**
 * The job hash's compact encoding (src/projections/lua/fold.lua): backoff as
 * `type:delayMs:maxDelayMs:jitter` and payload/result references as four short fields keep the
 * hash in Redis' listpack encoding, and read back exactly as published. Lanes shed the entries
 * of completed jobs (acknowledged, then trimmed from the head by the next claim).
 */
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import type { BackoffSpec, StoredJobEvent } from '../../src/events/types.js';
import { jobKey, laneKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { MemoryPayloadStore } from '../../src/payloads/memory-store.js';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { allEvents, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';
import { claim } from '../helpers/scripted.js';

const t = useQueueFixture();

function createdOf(events: StoredJobEvent[], jobId: string): StoredJobEvent {
  const created = events.find((e) => e.metadata.jobId === jobId && e.type === 'created');
  if (!created) throw new Error(`no created event for ${jobId}`);
  return created;
}

describe('job hash encoding', () => {
  it('stores backoff and payload references compactly (listpack) and reads them back as published', async () => {
    const { name } = t.setup();
    const payloads = new MemoryPayloadStore();
    const queue = new Queue(name, { connection: t.redis, payloads });
    t.defer(() => queue.close());
    const backoffs: BackoffSpec[] = [
      { type: 'fixed', delayMs: 250 },
      { type: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0.2 },
      { type: 'exponential', delayMs: 5 },
      { type: 'custom' },
    ];
    await queue.publishMany(backoffs.map((backoff, i) => ({ name: 'b', payload: { i, text: 'x'.repeat(500) }, opts: { jobId: `b${i}`, backoff } })));
    const events = await allEvents(t.redis, name);
    for (const [i, backoff] of backoffs.entries()) {
      const key = jobKey(toQueueName(name), toJobId(`b${i}`));
      expect(await t.redis.object('ENCODING', key)).toBe('listpack');
      const job = await queue.get(`b${i}`);
      expect(job?.backoff).toEqual(backoff);
      const created = createdOf(events, `b${i}`);
      expect(job?.payload).toEqual((created.data as { payload: unknown }).payload);
      expect(await queue.getPayload(job!)).toEqual({ i, text: 'x'.repeat(500) });
    }
  });

  it('hands the worker the payload and stores the result reference compactly', async () => {
    const { name } = t.setup();
    const payloads = new MemoryPayloadStore();
    const queue = new Queue(name, { connection: t.redis, payloads });
    t.defer(() => queue.close());
    await queue.publish('p', { n: 21 }, { jobId: 'p1' });
    const seen: unknown[] = [];
    const worker = new Worker(name, (job) => {
      seen.push(job.payload);
      return { doubled: (job.payload as { n: number }).n * 2 };
    }, { connection: t.redis, payloads, concurrency: 1 });
    t.defer(() => worker.close());
    const done = await waitFor(async () => ((await queue.get('p1'))?.state === 'completed' ? queue.get('p1') : undefined));
    expect(seen).toEqual([{ n: 21 }]);
    expect(await t.redis.object('ENCODING', jobKey(toQueueName(name), toJobId('p1')))).toBe('listpack');
    const completed = (await allEvents(t.redis, name)).find((e) => e.type === 'completed');
    expect(done.result).toEqual((completed?.data as { result: unknown }).result);
    expect(await payloads.get(name, done.result!)).toEqual({ doubled: 42 });
  });
});

describe('lanes', () => {
  it('do not keep the entries of completed jobs: nothing pending and the lane trimmed after a drain', async () => {
    const { name, queue } = t.setup();
    const n = 3000;
    for (let i = 0; i < n; i += 500) await queue.publishMany(Array.from({ length: 500 }, () => ({ name: 'x' })));
    const lane = laneKey(toQueueName(name), 2);
    expect(await t.redis.xlen(lane)).toBe(n);
    const worker = new Worker(name, () => undefined, { connection: t.redis, concurrency: 50 });
    t.defer(() => worker.close());
    await waitFor(async () => (await queue.stats()).counts.completed === n);
    // One more publish and claim: the claim trims everything acknowledged before its entry.
    await queue.publish('last', undefined, { jobId: 'last' });
    await waitFor(async () => (await queue.get('last'))?.state === 'completed');
    const [pendingCount] = (await t.redis.xpending(lane, 'workers')) as [number];
    expect(pendingCount).toBe(0);
    // `XTRIM MINID ~` frees whole stream nodes (100 entries each by default): at most a node's worth stays.
    expect(await t.redis.xlen(lane)).toBeLessThanOrEqual(101);
  });
});

describe('lanes held by a long-running job', () => {
  it('delete completed entries while a pending entry older than a minute blocks trimming', async () => {
    const { name, queue } = t.setup();
    const lane = laneKey(toQueueName(name), 2);
    await queue.publish('slow', undefined, { jobId: 'slow' });
    const [stuck] = await claim(t.redis, name, Date.now(), 1, 'long-runner');
    expect(stuck?.id).toBe('slow');
    const n = 1000;
    await queue.publishMany(Array.from({ length: n }, (_, i) => ({ name: 'x', opts: { jobId: `x${i}` } })));
    // The worker's clock runs two minutes ahead: the slow job's entry looks two minutes old.
    const worker = new Worker(name, () => undefined, { connection: t.redis, concurrency: 50, clock: { now: () => Date.now() + 120_000 } });
    t.defer(() => worker.close());
    await waitFor(async () => (await queue.stats()).counts.completed === n);
    // Only the held entry is left; without the deletes the lane would keep all 1,001 entries
    // (trimming stops at the oldest pending one).
    expect(await t.redis.xlen(lane)).toBe(1);
    expect((await queue.get('slow'))?.state).toBe('active');
  });
});

describe('fold counters', () => {
  it('are written once per call, and still match the log when a script fails after folding events', async () => {
    const { name, queue } = t.setup();
    await queue.publishMany(Array.from({ length: 20 }, (_, i) => ({ name: 'x', opts: { jobId: `ok${i}` } })));
    expect((await queue.stats()).counts.waiting).toBe(20);
    // A lane that is not a stream: publish appends `created` and folds it, then its XADD to the
    // lane raises. The events and read-model writes made before the error stay (Redis does not
    // roll a script back); the counters batched for them must be written too.
    const lane = laneKey(toQueueName(name), 2);
    await t.redis.del(lane);
    await t.redis.set(lane, 'not a stream');
    await expect(queue.publish('x', undefined, { jobId: 'broken' })).rejects.toThrow(/WRONGTYPE/);
    const stats = await queue.stats();
    expect(stats.counts.waiting).toBe(21);
    expect(stats.events.created).toBe(21);
    const report = await verify(t.redis, name);
    expect(report.differences).toEqual([]);
  });
});
