import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { toQueueName } from '../../src/core/keys.js';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { RepeatScheduler } from '../../src/queue/repeat.js';
import { allEvents, dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture({ payloads: true });

const MINUTE = 60_000;
// 2026-01-05 10:00:17 UTC: a little past a minute boundary, as a real start would be.
const T0 = Date.UTC(2026, 0, 5, 10, 0, 17);

function setup(): { name: string; queue: Queue; clock: { t: number; now(): number } } {
  const clock = { t: T0, now() { return this.t; } };
  return { ...t.setup({ clock }), clock };
}

function scheduler(name: string, clock: { now(): number }): RepeatScheduler {
  const connection = testRedis();
  t.defer(async () => {
    await connection.quit();
  });
  return new RepeatScheduler({ redis: connection, queue: toQueueName(name), clock, payloads: t.payloads });
}

async function occurrences(name: string, key: string): Promise<number[]> {
  const created = (await allEvents(t.redis, name)).filter((e) => e.type === 'created' && e.data.repeatKey === key);
  return created.map((e) => Number(e.metadata.jobId.split(':').pop()));
}

describe('repeatable jobs', () => {
  it('two schedulers running at once fire each cron occurrence exactly once over a simulated hour', async () => {
    const { name, queue, clock } = setup();
    await queue.upsertRepeatable('minutely', { cron: '* * * * *' }, { name: 'tick', payload: { n: 1 } });
    await queue.upsertRepeatable('every-90s', { everyMs: 90_000 }, { name: 'poll' });
    const a = scheduler(name, clock);
    const b = scheduler(name, clock);
    let moved = 0;
    // Uneven steps of 1 to 23 s, both schedulers ticking concurrently at each step.
    let step = 0;
    while (clock.t < T0 + 60 * MINUTE) {
      clock.t = Math.min(T0 + 60 * MINUTE, clock.t + 1000 + ((step++ * 7919) % 22_000));
      const reports = await Promise.all([a.tick(), b.tick(), a.tick()]);
      moved += reports.reduce((sum, r) => sum + r.moved, 0);
    }
    const minutely = await occurrences(name, 'minutely');
    const expected = Array.from({ length: 60 }, (_, i) => Date.UTC(2026, 0, 5, 10, 1 + i, 0));
    expect([...minutely].sort((x, y) => x - y)).toEqual(expected);
    const every = await occurrences(name, 'every-90s');
    expect([...every].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => T0 + (i + 1) * 90_000));
    // The schedulers did race: some ticks found their occurrence already fired by the other.
    expect(moved).toBeGreaterThan(0);
    const job = await queue.get(`repeat:minutely:${expected[0]}`);
    expect(job).toMatchObject({ name: 'tick', repeatKey: 'minutely', state: 'waiting' });
    expect(await queue.getPayload(job!)).toEqual({ n: 1 });
    expect(await queue.getRepeatable('minutely')).toMatchObject({ runs: 60, nextRunAt: Date.UTC(2026, 0, 5, 11, 1, 0) });
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('reads cron expressions in the given time zone, across a daylight-saving change', async () => {
    const { queue, clock } = setup();
    const winter = await queue.upsertRepeatable('ny-9am', { cron: '0 9 * * *', tz: 'America/New_York' }, { name: 'report' });
    expect(new Date(winter.nextRunAt!).toISOString()).toBe('2026-01-05T14:00:00.000Z');
    clock.t = Date.UTC(2026, 6, 1, 0, 0, 0);
    const summer = await queue.upsertRepeatable('ny-9am', { cron: '0 9 * * *', tz: 'America/New_York' }, { name: 'report' });
    expect(new Date(summer.nextRunAt!).toISOString()).toBe('2026-07-01T13:00:00.000Z');
    await expect(queue.upsertRepeatable('bad', { cron: '0 9 * * *', tz: 'Mars/Olympus' }, { name: 'x' })).rejects.toThrow(/schedule\.cron/);
    await expect(queue.upsertRepeatable('bad', { cron: 'not a cron' }, { name: 'x' })).rejects.toThrow(/schedule\.cron/);
    await expect(queue.upsertRepeatable('bad', { everyMs: 10 }, { name: 'x' })).rejects.toThrow(/everyMs/);
    await expect(queue.upsertRepeatable('bad', { cron: '* * * * *', everyMs: 5000 }, { name: 'x' })).rejects.toThrow(/exactly one/);
  });

  it('after downtime runs the latest missed occurrence once (run-once) or none (skip), then goes on from now', async () => {
    const { name, queue, clock } = setup();
    await queue.upsertRepeatable('once', { cron: '* * * * *' }, { name: 'catch-up' });
    await queue.upsertRepeatable('skip', { cron: '* * * * *', missed: 'skip', graceMs: 5000 }, { name: 'skipper' });
    const s = scheduler(name, clock);
    clock.t = T0 + 10 * MINUTE + 30_000; // 10:10:47, ten occurrences missed
    const report = await s.tick();
    expect(report).toMatchObject({ fired: 1, skipped: 1 });
    expect(await occurrences(name, 'once')).toEqual([Date.UTC(2026, 0, 5, 10, 10, 0)]);
    expect(await occurrences(name, 'skip')).toEqual([]);
    for (const key of ['once', 'skip']) expect((await queue.getRepeatable(key))?.nextRunAt).toBe(Date.UTC(2026, 0, 5, 10, 11, 0));
    clock.t = Date.UTC(2026, 0, 5, 10, 11, 2);
    await s.tick();
    expect(await occurrences(name, 'skip')).toEqual([Date.UTC(2026, 0, 5, 10, 11, 0)]);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('upsert replaces a schedule, endAt ends it, remove stops it', async () => {
    const { name, queue, clock } = setup();
    await queue.upsertRepeatable('r', { everyMs: 60_000 }, { name: 'a' });
    await queue.upsertRepeatable('r', { everyMs: 5_000, endAt: T0 + 12_000 }, { name: 'b', opts: { priority: 4 } });
    expect(await queue.listRepeatables()).toHaveLength(1);
    const s = scheduler(name, clock);
    for (let i = 0; i < 5; i++) {
      clock.t += 5_000;
      await s.tick();
    }
    expect((await occurrences(name, 'r')).sort()).toEqual([T0 + 5_000, T0 + 10_000]);
    expect(await queue.getRepeatable('r')).toMatchObject({ runs: 2 });
    expect((await queue.getRepeatable('r'))?.nextRunAt).toBeUndefined();
    expect((await queue.get(`repeat:r:${T0 + 5000}`))?.priority).toBe(4);
    await queue.upsertRepeatable('gone', { everyMs: 1000 }, { name: 'c' });
    expect(await queue.removeRepeatable('gone')).toBe(true);
    clock.t += 10_000;
    await s.tick();
    expect(await occurrences(name, 'gone')).toEqual([]);
    await expect(queue.upsertRepeatable('x', { everyMs: 1000 }, { name: 'c', opts: { jobId: 'fixed' } as never })).rejects.toThrow(/template\.opts\.jobId/);
  });

  it('workers run the scheduler: an interval job is published and processed', async () => {
    const name = testQueueName();
    const queue = new Queue(name, { connection: t.redis, payloads: t.payloads });
    t.defer(async () => {
      await queue.close();
      await dropQueue(t.redis, name);
    });
    await queue.upsertRepeatable('heartbeat', { everyMs: 1000, startAt: Date.now() + 100 }, { name: 'beat', payload: { ping: true } });
    const seen: unknown[] = [];
    const worker = new Worker(name, (job) => {
      seen.push(job.payload);
    }, { connection: t.redis, payloads: t.payloads, blockMs: 100, repeatIntervalMs: 50, metrics: false });
    t.defer(() => worker.close(500));
    await waitFor(() => seen.length >= 2, 10_000, 'two occurrences');
    expect(seen[0]).toEqual({ ping: true });
  });
});
