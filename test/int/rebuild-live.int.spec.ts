/**
 * verify and rebuild on an old queue whose stream head was trimmed by the archiver, while the
 * archiver trims, publishers publish and workers work (issue #14, part 1).
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Archiver } from '../../src/audit/archiver.js';
import { EventArchive } from '../../src/history/archive.js';
import { Worker } from '../../src/consumers/worker.js';
import { HistoryIncompleteError } from '../../src/core/errors.js';
import { eventsKey, shadowScriptKeyMap, toQueueName } from '../../src/core/keys.js';
import { applyEvents } from '../../src/events/commands/index.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { SluiceContext } from '../../src/app/context.js';
import { buildApp } from '../../src/server/app.js';
import { TokenRegistry } from '../../src/server/auth.js';
import { dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { bearer, dropDatabase, runCli, testConfig, testDatabase, testEnv, TOKENS } from '../helpers/service.js';
import { useQueueFixture } from '../helpers/fixture.js';
import { deleteReadModel, readModelSnapshot } from '../helpers/read-model.js';

const t = useQueueFixture();
let client: MongoClient;
const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;
beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'));
  await client.connect();
});
afterAll(async () => {
  await client.db(database).dropDatabase();
  await client.close();
});

function newArchive(): EventArchive {
  return new EventArchive({ client, database, collection: `live_${randomUUID().slice(0, 8)}` });
}

/** Archives (and trims) until the archive holds every event of the stream. */
async function archiveAll(archiver: Archiver): Promise<void> {
  while ((await archiver.runOnce()).archived > 0);
}

/** An old queue: `jobs` jobs through a worker that fails each job's first attempt half the time. */
async function oldQueue(jobs: number): Promise<{ name: string; queue: Queue }> {
  const { name, queue } = t.setup();
  await queue.setRetention({ completed: { maxAgeMs: null, maxCount: null } });
  await queue.publishMany(Array.from({ length: jobs }, (_, i) => ({ name: 'old', opts: { jobId: `old-${i}`, priority: i % 5, attempts: 3, backoff: { type: 'fixed', delayMs: 1 } } })));
  const w = new Worker(name, (job) => {
    if (job.attempt === 1 && job.id.endsWith('3')) throw new Error('first attempt fails');
  }, { connection: t.redis, blockMs: 50, promoteIntervalMs: 10, concurrency: 10 });
  await waitFor(async () => (await queue.stats()).counts.completed === jobs, 60_000);
  await w.close();
  return { name, queue };
}

describe('verify and rebuild on an archived, trimmed queue', () => {
  it('the archiver trimming past the replay before the final step loses nothing (verify clean, rebuild exact)', async () => {
    const { name, queue } = await oldQueue(300);
    const archive = newArchive();
    const archiver = new Archiver({ redis: t.redis, archive, queue: name, batchSize: 200 });
    await archiveAll(archiver);
    // During the replay, more jobs run through their whole life and the archiver archives them
    // and trims the stream past the point the replay will stop at.
    let during: Promise<void> | undefined;
    const meanwhile = async (): Promise<void> => {
      await queue.publishMany(Array.from({ length: 50 }, (_, i) => ({ name: 'new', opts: { jobId: `new-${i}`, priority: i % 5 } })));
      await archiveAll(archiver);
    };
    const report = await verify(t.redis, name, {
      archive,
      batchSize: 10,
      onProgress: () => {
        during ??= meanwhile();
      },
    });
    await during;
    expect(report.differences).toEqual([]);

    // Same for rebuild, with an archiver that ignores the replay's hold (an older version): it
    // archives and trims with a raw XTRIM past the replay's position. The final step sees the
    // trim, the replay reads the missing events from the archive, and the result is exact.
    const before = await readModelSnapshot(t.redis, name);
    const untrimmed = new Archiver({ redis: t.redis, archive, queue: name, trim: false });
    let during2: Promise<void> | undefined;
    const rawTrim = async (): Promise<void> => {
      await queue.publishMany(Array.from({ length: 20 }, (_, i) => ({ name: 'newer', opts: { jobId: `newer-${i}` } })));
      await archiveAll(untrimmed);
      const last = await archive.last(toQueueName(name));
      await t.redis.xtrim(eventsKey(toQueueName(name)), 'MINID', last?.id ?? '0-0');
    };
    await deleteReadModel(t.redis, name);
    const rebuilt = await rebuild(t.redis, name, {
      archive,
      batchSize: 10,
      onProgress: () => {
        during2 ??= rawTrim();
      },
    });
    await during2;
    expect(rebuilt.jobs).toBe(370);
    expect((await verify(t.redis, name, { archive })).differences).toEqual([]);
    // Every job the inline fold knew is rebuilt identically; the 20 newer ones are there too.
    const afterJobs = (await readModelSnapshot(t.redis, name)).jobs as Record<string, unknown>;
    for (const [id, hash] of Object.entries(before.jobs as Record<string, unknown>)) expect(afterJobs[id]).toEqual(hash);
    expect(Object.keys(afterJobs)).toHaveLength(370);
  });

  it('without the archive, a trimmed stream is refused with HistoryIncompleteError instead of a wrong answer', async () => {
    const { name } = await oldQueue(40);
    const archive = newArchive();
    await archiveAll(new Archiver({ redis: t.redis, archive, queue: name }));
    expect(await t.redis.xlen(eventsKey(toQueueName(name)))).toBe(1);
    const before = await readModelSnapshot(t.redis, name);
    await expect(verify(t.redis, name)).rejects.toThrow(HistoryIncompleteError);
    await expect(rebuild(t.redis, name)).rejects.toMatchObject({ code: 'SLUICE_ERR_HISTORY_INCOMPLETE' });
    // Nothing was swapped.
    expect(await readModelSnapshot(t.redis, name)).toEqual(before);
    // An archive that does not reach the stream's head is refused too.
    await expect(verify(t.redis, name, { archive: newArchive() })).rejects.toThrow(HistoryIncompleteError);
    expect((await verify(t.redis, name, { archive })).clean).toBe(true);
  });

  it('a replay missing a job\'s created event fails with HistoryIncompleteError, not a Lua arithmetic error', async () => {
    const { name } = t.setup();
    const q = toQueueName(name);
    const meta = JSON.stringify({ queue: name, jobId: 'ghost', time: 1_800_000_000_000, seq: 4 });
    const error: unknown = await applyEvents(t.redis, q, Date.now(), shadowScriptKeyMap(q), [{ type: 'promoted', data: {}, metadata: JSON.parse(meta) as unknown }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HistoryIncompleteError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_HISTORY_INCOMPLETE', queue: name });
    expect((error as HistoryIncompleteError).message).toMatch(/^job ghost enters waiting but its created event was not replayed/);
  });

  it('under a running archiver, publisher and failing workers, rebuild never regresses and verify is clean after the drain', async () => {
    const { name, queue } = await oldQueue(200);
    const archive = newArchive();
    const archiver = new Archiver({ redis: t.redis, archive, queue: name, batchSize: 100, intervalMs: 5, onError: () => undefined });
    archiver.start();
    t.defer(() => archiver.stop());
    const concurrency = 8;
    const w = new Worker(name, async (job) => {
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      if (job.attempt === 1 && Math.random() < 0.3) throw new Error('random failure');
    }, { connection: t.redis, blockMs: 50, promoteIntervalMs: 10, concurrency, leaseMs: 5000 });
    t.defer(() => w.close());
    let producing = true;
    let n = 0;
    const producer = (async () => {
      while (producing) {
        await queue.publishMany(Array.from({ length: 10 }, () => ({ name: 'live', opts: { jobId: `live-${n++}`, attempts: 3, backoff: { type: 'fixed', delayMs: 1 } } })));
        await new Promise((r) => setTimeout(r, 25)); // a few hundred jobs a second
      }
    })();
    t.defer(async () => {
      producing = false;
      await producer.catch(() => undefined);
    });
    // Rounds of verify and rebuild while the load runs (bounded: a replay reads the whole history,
    // which grows with every round).
    let lastCompleted = 0;
    const until = Date.now() + 4000;
    for (let round = 0; round < 2 || Date.now() < until; round++) {
      const v = await verify(t.redis, name, { archive });
      expect(v.replayed).toBeGreaterThan(0);
      await rebuild(t.redis, name, { archive });
      const { counts } = await queue.stats();
      expect(counts.completed).toBeGreaterThanOrEqual(lastCompleted);
      expect(counts.active).toBeLessThanOrEqual(concurrency);
      lastCompleted = counts.completed;
    }
    producing = false;
    await producer;
    await waitFor(async () => (await queue.stats()).counts.completed === 200 + n, 60_000);
    const check = await verify(t.redis, name, { archive });
    expect(check.differences).toEqual([]);
  });
});

describe('how far the stream was trimmed, and history across the trim', () => {
  it('stats report the trim point; Queue.history returns the whole history with the archive and refuses a partial one without', async () => {
    const { name, queue } = await oldQueue(20);
    const fresh = await queue.stats();
    expect(fresh.stream).toMatchObject({ trimmed: 0, length: fresh.stream.appended });
    expect(fresh.stream.appended).toBe(Object.values(fresh.events).reduce((a, b) => a + b, 0));
    const archive = newArchive();
    await archiveAll(new Archiver({ redis: t.redis, archive, queue: name }));
    await queue.publish('late', undefined, { jobId: 'late' });
    const { stream } = await queue.stats();
    expect(stream.length).toBe(2); // the seam (last archived event) and the new one
    expect(stream.trimmed).toBe(fresh.stream.appended - 1);
    expect(stream.firstId).toBe((await archive.last(toQueueName(name)))?.id);

    const withArchive = new Queue(name, { connection: t.redis, archive });
    t.defer(() => withArchive.close());
    expect((await withArchive.history('old-3')).map((e) => e.type)).toEqual(['created', 'claimed', 'failed', 'scheduled', 'promoted', 'claimed', 'completed']);
    // Without the archive: a job whose events were trimmed is refused, a job whose events are all in the stream is fine.
    await expect(queue.history('old-3')).rejects.toThrow(HistoryIncompleteError);
    expect((await queue.history('late')).map((e) => e.type)).toEqual(['created']);
    expect(await queue.history('no-such-job')).toEqual([]);
  });

  it('HTTP stats and CLI stats show the trim point; CLI verify and rebuild use the archive the service archives to', { timeout: 120_000 }, async () => {
    const database = testDatabase();
    const context = new SluiceContext(testConfig(database));
    const name = testQueueName();
    const app = await buildApp({ context, auth: new TokenRegistry(Object.values(TOKENS)) });
    try {
      await context.queue(name).publishMany(Array.from({ length: 30 }, (_, i) => ({ name: 'x', opts: { jobId: `x-${i}` } })));
      await archiveAll(new Archiver({ redis: context.redis, archive: context.archive, queue: name }));
      await context.queue(name).publish('y', undefined, { jobId: 'y' });
      const stats = await app.inject({ method: 'GET', url: `/v1/queues/${name}/stats`, headers: bearer('admin') });
      expect(stats.statusCode).toBe(200);
      expect(stats.json()).toMatchObject({ stream: { appended: 31, length: 2, trimmed: 29 } });
      const history = await app.inject({ method: 'GET', url: `/v1/queues/${name}/jobs/x-0/history`, headers: bearer('admin') });
      expect(history.json<{ events: { type: string }[] }>().events.map((e) => e.type)).toEqual(['created']);

      const env = testEnv(database);
      const cliStats = await runCli(['stats', name, '--json'], env);
      expect(JSON.parse(cliStats.stdout)).toMatchObject({ stream: { appended: 31, trimmed: 29 } });
      const table = await runCli(['stats', name], env);
      expect(table.stdout.split('\n')[0]).toMatch(/WORKERS\s+EVENTS\s+TRIMMED\s+STREAM FROM$/);
      const verified = await runCli(['verify', name, '--json'], env);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, projections: { clean: true, replayed: 31 } });
      const rebuilt = await runCli(['rebuild', name, '--json'], env);
      expect(rebuilt.code).toBe(0);
      expect(JSON.parse(rebuilt.stdout)).toMatchObject({ replayed: 31, jobs: 31 });
    } finally {
      await app.close();
      await dropQueue(context.redis, name);
      await context.close();
      await dropDatabase(database);
    }
  });
});
