import { describe, expect, it } from 'vitest';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { allEvents } from '../helpers/dispatch.js';
import { claim, complete, fail, promote } from '../helpers/scripted.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture();

function setup(): { name: string; queue: Queue; clock: { t: number; now(): number } } {
  const clock = { t: 1_800_000_000_000, now() { return this.t; } };
  return { ...t.setup({ clock }), clock };
}

async function expectClean(name: string): Promise<void> {
  expect((await verify(t.redis, name)).differences).toEqual([]);
}

describe('deduplication windows', () => {
  it('ignores a duplicate while the first job waits or runs, reports its id, and lets go when it completes', async () => {
    const { name, queue, clock } = setup();
    const first = await queue.publish('sync', undefined, { dedupe: { key: 'user:7' } });
    expect(first.created).toBe(true);
    expect(await queue.publish('sync', undefined, { dedupe: { key: 'user:7' } })).toEqual({ id: first.id, created: false, deduplicated: true });
    const [attempt] = await claim(t.redis, name, ++clock.t);
    expect(attempt?.id).toBe(first.id);
    expect((await queue.publish('sync', undefined, { dedupe: { key: 'user:7' } })).created).toBe(false);
    await complete(t.redis, name, ++clock.t, [attempt!]);
    const second = await queue.publish('sync', undefined, { dedupe: { key: 'user:7' } });
    expect(second.created).toBe(true);
    expect(second.id).not.toBe(first.id);
    // Only two jobs were ever created; the ignored publishes appended nothing.
    expect((await allEvents(t.redis, name)).filter((e) => e.type === 'created')).toHaveLength(2);
    expect((await queue.get(first.id))?.dedupeKey).toBe('user:7');
    await expectClean(name);
  });

  it('with a TTL keeps ignoring duplicates after the job finished, until ttl after its publish (injected clock)', async () => {
    const { name, queue, clock } = setup();
    const start = clock.t;
    const first = await queue.publish('report', undefined, { dedupe: { key: 'daily', ttlMs: 60_000 } });
    clock.t += 10;
    await complete(t.redis, name, clock.t, await claim(t.redis, name, clock.t));
    expect((await queue.get(first.id))?.state).toBe('completed');
    clock.t = start + 59_999;
    expect(await queue.publish('report', undefined, { dedupe: { key: 'daily', ttlMs: 60_000 } })).toMatchObject({ id: first.id, deduplicated: true });
    clock.t = start + 60_000;
    const next = await queue.publish('report', undefined, { dedupe: { key: 'daily', ttlMs: 60_000 } });
    expect(next.created).toBe(true);
    // A long-running job holds its key past the TTL: the window is max(live, ttl).
    clock.t += 120_000;
    expect((await queue.publish('report', undefined, { dedupe: { key: 'daily', ttlMs: 60_000 } })).id).toBe(next.id);
    await expectClean(name);
  });

  it('a retrying job keeps its key; dead-lettered, cancelled and removed jobs let go of theirs', async () => {
    const { name, queue, clock } = setup();
    const a = await queue.publish('x', undefined, { dedupe: { key: 'a' }, attempts: 2 });
    let [attempt] = await claim(t.redis, name, ++clock.t);
    expect(await fail(t.redis, name, ++clock.t, attempt!, clock.t + 5)).toBe('retry');
    expect((await queue.publish('x', undefined, { dedupe: { key: 'a' } })).id).toBe(a.id);
    clock.t += 10;
    expect(await promote(t.redis, name, clock.t)).toBe(1);
    [attempt] = await claim(t.redis, name, ++clock.t);
    expect(await fail(t.redis, name, ++clock.t, attempt!)).toBe('dead');
    expect((await queue.publish('x', undefined, { dedupe: { key: 'a' } })).created).toBe(true);

    const b = await queue.publish('y', undefined, { dedupe: { key: 'b' }, delayMs: 1000 });
    await queue.cancel(b.id);
    expect((await queue.publish('y', undefined, { dedupe: { key: 'b' } })).created).toBe(true);

    const c = await queue.publish('z', undefined, { dedupe: { key: 'c' } });
    await queue.remove(c.id);
    expect((await queue.publish('z', undefined, { dedupe: { key: 'c' } })).created).toBe(true);
    await expectClean(name);
  });

  it('deduplicates inside one batch and keeps explicit ids idempotent', async () => {
    const { name, queue } = setup();
    const results = await queue.publishMany([
      { name: 'n', opts: { jobId: 'one', dedupe: { key: 'k' } } },
      { name: 'n', opts: { jobId: 'two', dedupe: { key: 'k' } } },
    ]);
    expect(results).toEqual([
      { id: 'one', created: true },
      { id: 'one', created: false, deduplicated: true },
    ]);
    expect(await queue.publish('n', undefined, { jobId: 'one' })).toEqual({ id: 'one', created: false });
    expect((await queue.stats()).counts.waiting).toBe(1);
    await expectClean(name);
  });

  it('rejects bad dedupe options before anything is stored', async () => {
    const { queue } = setup();
    await expect(queue.publish('n', undefined, { dedupe: { key: 'has space' } })).rejects.toThrow(/opts\.dedupe\.key/);
    await expect(queue.publish('n', undefined, { dedupe: { key: 'k', ttlMs: -1 } })).rejects.toThrow(/opts\.dedupe\.ttlMs/);
    const unknownOption = { key: 'k', extend: true } as unknown as { key: string };
    await expect(queue.publish('n', undefined, { dedupe: unknownOption })).rejects.toThrow(/opts\.dedupe\.extend/);
  });
});
