/**
 * Changing the priority of a job that has not started (`Queue.changePriority`, `POST
 * …/jobs/{id}/priority`): the `reprioritized` event and its fold, dispatch from the new lane (the
 * old lane's entry is skipped, never claimed twice), delayed jobs promoted to their new lane,
 * refusals (active, finished, grouped, unknown, out of range), the HTTP answers and `sluice priority`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { InvalidStateError, JobNotFoundError, ValidationError } from '../../src/core/errors.js';
import { laneKey, laneKeys, toQueueName } from '../../src/core/keys.js';
import { verify } from '../../src/projections/rebuild.js';
import { allEvents, dropQueue, testQueueName, typesOf, waitFor } from '../helpers/dispatch.js';
import { bearer, dropDatabase, openTestApp, ROOT, runCli, testDatabase, testEnv, type TestApp } from '../helpers/service.js';

const database = testDatabase();
const admin = bearer('admin');
const queues: string[] = [];
let t: TestApp;

function newQueue(): string {
  const name = testQueueName();
  queues.push(name);
  return name;
}

async function call<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await t.app.inject({ method: 'POST', url, headers: { ...admin, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: response.statusCode, body: response.json() };
}

/** Job ids in the order their `claimed` events were appended. */
async function claimOrder(queue: string): Promise<string[]> {
  return (await allEvents(t.context.redis, queue)).filter((e) => e.type === 'claimed').map((e) => e.metadata.jobId);
}

beforeAll(async () => {
  t = await openTestApp(database);
}, 60_000);

afterAll(async () => {
  for (const name of queues) await dropQueue(t.context.redis, name);
  await t.close();
  await dropDatabase(database);
});

describe('Queue.changePriority', () => {
  it('moves a waiting job to its new lane: it runs before (or after) the jobs it waited with, once', async () => {
    const name = newQueue();
    const q = t.context.queue(name);
    await q.pause();
    const ids: string[] = [];
    for (let n = 1; n <= 10; n++) ids.push((await q.publish('work', { n }, { jobId: `j${n}`, priority: 2 })).id);
    expect(await q.changePriority('j8', 4)).toEqual({ state: 'waiting', from: 2, to: 4 });
    expect(await q.changePriority('j1', 0)).toEqual({ state: 'waiting', from: 2, to: 0 });
    // Back and forth: two stale entries, one job.
    await q.changePriority('j5', 3);
    expect(await q.changePriority('j5', 2)).toEqual({ state: 'waiting', from: 3, to: 2 });
    // The same priority again appends nothing.
    expect(await q.changePriority('j8', 4)).toEqual({ state: 'waiting', from: 4, to: 4 });
    expect((await q.get('j8'))?.priority).toBe(4);
    const events = await allEvents(t.context.redis, name);
    expect(typesOf(events, 'j8')).toEqual(['created', 'reprioritized']);
    expect(events.find((e) => e.type === 'reprioritized' && e.metadata.jobId === 'j8')?.data).toEqual({ from: 2, to: 4 });
    expect((await q.stats()).counts.waiting).toBe(10);
    expect((await verify(t.context.redis, name)).differences).toEqual([]);

    const worker = new Worker(name, () => 'ok', { connection: t.context.redis, payloads: t.context.payloads, concurrency: 1, blockMs: 100 });
    worker.on('error', () => undefined);
    try {
      await q.resume();
      await waitFor(async () => (await q.stats()).counts.completed === 10, 30_000, '10 completed');
    } finally {
      await worker.close(1000);
    }
    const order = await claimOrder(name);
    expect(order).toHaveLength(10);
    expect(new Set(order).size).toBe(10);
    expect(order[0]).toBe('j8');
    expect(order[9]).toBe('j1');
    expect(typesOf(await allEvents(t.context.redis, name), 'j8')).toEqual(['created', 'reprioritized', 'claimed', 'completed']);
    // The stale entries were acknowledged and deleted, not left pending.
    for (const lane of laneKeys(toQueueName(name))) expect((await t.context.redis.xpending(lane, 'workers'))[0]).toBe(0);
    expect((await verify(t.context.redis, name)).differences).toEqual([]);
  }, 60_000);

  it('never claims a job twice nor loses one while workers run and priorities change', async () => {
    const name = newQueue();
    const q = t.context.queue(name);
    const total = 300;
    await q.publishMany(Array.from({ length: total }, (_, n) => ({ name: 'work', payload: { n }, opts: { jobId: `c${n}`, priority: n % 5 } })));
    const runs = new Map<string, number>();
    const workers = [1, 2, 3].map(
      (w) =>
        new Worker(
          name,
          async (job) => {
            runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 2));
          },
          { connection: t.context.redis, payloads: t.context.payloads, concurrency: 4, blockMs: 100, id: `w${w}` },
        ),
    );
    for (const w of workers) w.on('error', () => undefined);
    let changed = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 400; i++) {
        const id = `c${(i * 37) % total}`;
        try {
          await q.changePriority(id, (i * 3) % 5);
          changed++;
        } catch (error) {
          if (!(error instanceof InvalidStateError)) throw error;
          refused++;
        }
      }
      await waitFor(async () => (await q.stats()).counts.completed === total, 60_000, `${total} completed`);
    } finally {
      for (const w of workers) await w.close(1000);
    }
    expect(changed).toBeGreaterThan(0);
    expect(changed + refused).toBe(400);
    const order = await claimOrder(name);
    expect(order).toHaveLength(total);
    expect(new Set(order).size).toBe(total);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(runs.size).toBe(total);
    const counts = (await q.stats()).counts;
    expect(counts.waiting + counts.active).toBe(0);
    expect((await verify(t.context.redis, name)).differences).toEqual([]);
  }, 120_000);

  it('gives a delayed job its new lane when it is promoted', async () => {
    const name = newQueue();
    const q = t.context.queue(name);
    await q.publish('later', { n: 1 }, { jobId: 'd1', delayMs: 3_600_000, priority: 1 });
    expect(await q.changePriority('d1', 3)).toEqual({ state: 'delayed', from: 1, to: 3 });
    await q.promote('d1');
    const events = await allEvents(t.context.redis, name);
    expect(typesOf(events, 'd1')).toEqual(['created', 'scheduled', 'reprioritized', 'promoted']);
    expect(events.find((e) => e.type === 'promoted')?.data).toMatchObject({ lane: 3 });
    expect(await t.context.redis.xlen(laneKey(toQueueName(name), 3))).toBe(1);
    expect(await t.context.redis.xlen(laneKey(toQueueName(name), 1))).toBe(0);
    expect((await verify(t.context.redis, name)).differences).toEqual([]);
  });

  it('refuses active, finished, grouped and unknown jobs and priorities out of range, appending nothing', async () => {
    const name = newQueue();
    const q = t.context.queue(name);
    await q.publish('grouped', {}, { jobId: 'g1', group: 'tenant-a' });
    await q.publish('plain', {}, { jobId: 'p1' });
    await q.cancel('p1');
    const before = (await allEvents(t.context.redis, name)).length;
    await expect(q.changePriority('g1', 4)).rejects.toThrow(InvalidStateError);
    await expect(q.changePriority('g1', 4)).rejects.toThrow(/group tenant-a/);
    await expect(q.changePriority('p1', 4)).rejects.toThrow(/is cancelled/);
    await expect(q.changePriority('nope', 4)).rejects.toThrow(JobNotFoundError);
    for (const bad of [5, -1, 1.5, Number.NaN, '3' as unknown as number]) await expect(q.changePriority('g1', bad)).rejects.toThrow(ValidationError);
    expect((await allEvents(t.context.redis, name)).length).toBe(before);
  });
});

describe('POST /v1/queues/{queue}/jobs/{id}/priority', () => {
  it('changes the priority and answers the documented errors', async () => {
    const name = newQueue();
    const q = t.context.queue(name);
    const base = `/v1/queues/${name}/jobs`;
    await q.pause();
    await q.publish('work', { n: 1 }, { jobId: 'h1', priority: 2 });
    expect(await call(`${base}/h1/priority`, { priority: 4 })).toEqual({ status: 200, body: { id: 'h1', state: 'waiting', from: 2, to: 4 } });
    expect((await q.get('h1'))?.priority).toBe(4);
    for (const body of [{ priority: 5 }, { priority: -1 }, { priority: 'high' }, {}, { priority: 1, extra: true }]) {
      const r = await call<{ error: { code: string } }>(`${base}/h1/priority`, body);
      expect({ body, status: r.status, code: r.body.error.code }).toEqual({ body, status: 400, code: 'SLUICE_ERR_VALIDATION' });
    }
    expect(await call(`${base}/missing/priority`, { priority: 1 })).toMatchObject({ status: 404, body: { error: { code: 'SLUICE_ERR_JOB_NOT_FOUND' } } });
    await q.resume();
    const worker = new Worker(name, () => 'ok', { connection: t.context.redis, payloads: t.context.payloads, blockMs: 100 });
    worker.on('error', () => undefined);
    try {
      await waitFor(async () => (await q.get('h1'))?.state === 'completed', 30_000, 'h1 completed');
    } finally {
      await worker.close(1000);
    }
    expect(await call(`${base}/h1/priority`, { priority: 1 })).toMatchObject({ status: 409, body: { error: { code: 'SLUICE_ERR_INVALID_STATE' } } });
    expect(typesOf(await allEvents(t.context.redis, name), 'h1')).toEqual(['created', 'reprioritized', 'claimed', 'completed']);
  }, 60_000);
});

describe('sluice priority', () => {
  it('changes the priority, refuses a bad lane (exit 2) and a finished job (exit 1)', async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('run npm run build first');
    const name = newQueue();
    const q = t.context.queue(name);
    await q.pause();
    await q.publish('work', {}, { jobId: 'k1', priority: 2 });
    await q.publish('work', {}, { jobId: 'k2' });
    await q.cancel('k2');
    const env = testEnv(database);
    const done = await runCli(['priority', name, 'k1', '0', '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ id: 'k1', state: 'waiting', from: 2, to: 0 });
    const human = await runCli(['priority', name, 'k1', '3'], env);
    expect(human.stdout).toBe('job k1 priority 0 -> 3 (waiting)\n');
    const bad = await runCli(['priority', name, 'k1', '7'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<priority>');
    const refused = await runCli(['priority', name, 'k2', '1'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('job k2 is cancelled');
    expect((await q.get('k1'))?.priority).toBe(3);
  }, 60_000);
});
