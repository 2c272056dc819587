import { describe, expect, it } from 'vitest';
import { BatchWorker } from '../../src/consumers/batch-worker.js';
import { verify } from '../../src/projections/rebuild.js';
import { allEvents, typesOf, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture({ payloads: true });

describe('batch consumption', () => {
  it('hands the jobs of one claim to one call and records each job\'s own outcome', async () => {
    const { name, queue } = t.setup();
    await queue.publishMany(Array.from({ length: 60 }, (_, i) => ({
      name: 'index', payload: { n: i }, opts: { jobId: `doc-${i}`, attempts: 1 },
    })));
    const sizes: number[] = [];
    const worker = new BatchWorker<{ n: number }, { indexed: number }>(name, (jobs) => {
      sizes.push(jobs.length);
      return jobs.map((job) => (job.payload.n % 10 === 7
        ? { ok: false as const, error: new Error(`document ${job.payload.n} is malformed`) }
        : { ok: true as const, result: { indexed: job.payload.n } }));
    }, { connection: t.redis, payloads: t.payloads, concurrency: 20, batchSize: 10, blockMs: 100, metrics: false, repeatIntervalMs: 0 });
    t.defer(() => worker.close(500));
    await waitFor(async () => {
      const { counts } = await queue.stats();
      return counts.completed === 54 && counts.dead === 6;
    }, 20_000, 'every job to finish');
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    const ok = await queue.getOrThrow('doc-3');
    expect(await queue.getResult(ok)).toEqual({ indexed: 3 });
    const bad = await queue.getOrThrow('doc-17');
    expect(bad).toMatchObject({ state: 'dead', lastError: { message: 'document 17 is malformed' } });
    const events = await allEvents(t.redis, name);
    expect(typesOf(events, 'doc-17')).toEqual(['created', 'claimed', 'failed', 'dead-lettered']);
    expect(typesOf(events, 'doc-3')).toEqual(['created', 'claimed', 'completed']);
    console.info(`batch: 60 jobs in ${sizes.length} batches (sizes ${sizes.join(', ')})`);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('a throwing batch fails every job in it, each retried by its own backoff; missing outcomes complete', async () => {
    const { name, queue } = t.setup();
    await queue.publishMany(Array.from({ length: 5 }, (_, i) => ({
      name: 'send', opts: { jobId: `m-${i}`, attempts: 2, backoff: { type: 'fixed' as const, delayMs: 10 } },
    })));
    let calls = 0;
    const worker = new BatchWorker(name, (jobs) => {
      calls++;
      if (calls === 1) throw new Error('provider down');
      expect(jobs.every((j) => j.attempt <= 2)).toBe(true);
      return undefined;
    }, { connection: t.redis, concurrency: 5, batchSize: 5, blockMs: 50, promoteIntervalMs: 20, metrics: false, repeatIntervalMs: 0 });
    t.defer(() => worker.close(500));
    await waitFor(async () => (await queue.stats()).counts.completed === 5, 20_000, 'the retries to complete');
    const events = await allEvents(t.redis, name);
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(5);
    expect(events.filter((e) => e.type === 'failed').every((e) => e.type === 'failed' && e.data.error.message === 'provider down')).toBe(true);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });
});
