import { describe, expect, it } from 'vitest';
import { MultiQueueWorker } from '../../src/consumers/multi-worker.js';
import { verify } from '../../src/projections/rebuild.js';
import { waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture();

async function fill(queue: { publishMany: (jobs: { name: string }[]) => Promise<unknown> }, count: number): Promise<void> {
  await queue.publishMany(Array.from({ length: count }, () => ({ name: 'work' })));
}

describe('a worker serving several queues', () => {
  it('shares its handlers by weight while both queues have work, within one concurrency', async () => {
    const a = t.setup();
    const b = t.setup();
    await fill(a.queue, 400);
    await fill(b.queue, 400);
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const worker = new MultiQueueWorker([{ queue: a.name, weight: 3 }, { queue: b.name, weight: 1 }], async (job) => {
      order.push(job.queue);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 3));
      running--;
    }, { connection: t.redis, concurrency: 4, blockMs: 100, metrics: false, repeatIntervalMs: 0 });
    t.defer(() => worker.close(500));
    await waitFor(() => order.length >= 240, 30_000, '240 starts');
    // After the first claims (which take what is free), the starts follow the weights.
    const window = order.slice(40, 240);
    const share = window.filter((q) => q === a.name).length / window.length;
    console.info(`multi-queue: weight 3:1 → share of the heavier queue ${share.toFixed(2)} over 200 starts`);
    expect(share).toBeGreaterThan(0.65);
    expect(share).toBeLessThan(0.85);
    expect(most).toBeLessThanOrEqual(4);
    await worker.close(500);
    for (const q of [a.name, b.name]) expect((await verify(t.redis, q)).differences).toEqual([]);
  });

  it('gives an idle queue\'s share to the busy one, and drains both', async () => {
    const a = t.setup();
    const b = t.setup();
    await fill(b.queue, 60);
    let running = 0;
    let most = 0;
    const done = new Map<string, number>();
    const worker = new MultiQueueWorker([a.name, { queue: b.name, weight: 1 }], async (job) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      done.set(job.queue, (done.get(job.queue) ?? 0) + 1);
    }, { connection: t.redis, concurrency: 8, blockMs: 50, metrics: false, repeatIntervalMs: 0 });
    t.defer(() => worker.close(500));
    await waitFor(() => (done.get(b.name) ?? 0) >= 30, 20_000, 'half of b');
    expect(most).toBe(8);
    await fill(a.queue, 20);
    await waitFor(() => (done.get(a.name) ?? 0) === 20 && done.get(b.name) === 60, 20_000, 'both drained');
    expect(most).toBeLessThanOrEqual(8);
    expect(() => new MultiQueueWorker([], () => undefined, { connection: t.redis })).toThrow(/at least one queue/);
    expect(() => new MultiQueueWorker([a.name, a.name], () => undefined, { connection: t.redis, autorun: false })).toThrow(/each queue once/);
  });
});
