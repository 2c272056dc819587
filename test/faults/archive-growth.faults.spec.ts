/**
 * Growth: an old queue is as fast as a new one. On private servers (Redis and the embedded
 * MongoDB), the same operations are timed on a queue with an empty history and then on a queue
 * with ~1,000,000 archived events and ~300,000 stored payloads loaded in bulk: publish→complete of
 * a batch of 1 KiB-payload jobs, one job's history (library and HTTP route), and replay of a
 * 10,000-event range of the archive. Each may take at most twice its empty-store time (ratios
 * within one run; the machine is shared, so no absolute times are asserted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Archiver } from '../../src/audit/archiver.js';
import { jobHistory, replayBatches } from '../../src/history/replay.js';
import { loadConfig } from '../../src/app/config.js';
import { Worker } from '../../src/consumers/worker.js';
import { toQueueName } from '../../src/core/keys.js';
import { buildApp } from '../../src/server/app.js';
import { SluiceContext } from '../../src/app/context.js';
import { MongoServer } from '../../src/services/mongo-server.js';
import { RedisServer } from '../../src/services/redis-server.js';
import { preloadArchive, preloadPayloads, templateOf } from '../helpers/archive-preload.js';
import { waitFor } from '../helpers/dispatch.js';

const EVENTS = Number(process.env.SLUICE_GROWTH_EVENTS ?? 1_000_000);
const PAYLOADS = Number(process.env.SLUICE_GROWTH_PAYLOADS ?? 300_000);
const BATCH = 300;
const KIB = { blob: 'p'.repeat(1000) };

let redis: RedisServer;
let mongo: MongoServer;
let context: SluiceContext;
let app: FastifyInstance;

beforeAll(async () => {
  [redis, mongo] = await Promise.all([RedisServer.start(), MongoServer.start()]);
  context = new SluiceContext(loadConfig({ env: { REDIS_URL: redis.url, MONGO_URL: mongo.url, SLUICE_MONGO_DATABASE: 'growth' } }));
  app = await buildApp({ context, auth: 'disabled-local' });
});
afterAll(async () => {
  await app?.close();
  await context?.close();
  await Promise.all([redis?.stop(), mongo?.stop()]);
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function archiveAll(queue: string): Promise<void> {
  const archiver = new Archiver({ redis: context.redis, archive: context.archive, queue, batchSize: 1000 });
  while ((await archiver.runOnce()).archived > 0);
}

/** Publishes a batch of 1 KiB-payload jobs and waits until a worker completed them all. */
async function publishToComplete(queue: string): Promise<number> {
  const q = context.queue(queue);
  const worker = new Worker(queue, () => ({ ok: true }), { connection: context.redis, payloads: context.payloads, concurrency: 20, blockMs: 100 });
  try {
    return await timed(async () => {
      const jobs = await q.publishMany(Array.from({ length: BATCH }, () => ({ name: 'g', data: KIB })));
      const last = jobs[jobs.length - 1]?.id ?? '';
      await waitFor(async () => (await q.get(last))?.state === 'completed', 120_000, 'the batch completed');
      await waitFor(async () => (await Promise.all(jobs.map((j) => q.get(j.id)))).every((j) => j?.state === 'completed'), 120_000, 'every job completed');
    });
  } finally {
    await worker.close();
  }
}

interface Figures {
  publishToComplete: number;
  history: number;
  httpHistory: number;
  replay: number;
}

/** Times the four operations on `queue` (whose archive holds at least 10,000 events after `from`). */
async function measure(queue: string, historyJob: string, from: string, to: string): Promise<Figures> {
  const source = context.replaySource(queue);
  const p2c: number[] = [];
  for (let round = 0; round < 3; round++) p2c.push(await publishToComplete(queue));
  await archiveAll(queue);
  const history: number[] = [];
  const http: number[] = [];
  for (let i = 0; i < 15; i++) {
    history.push(await timed(async () => expect((await jobHistory(source, historyJob)).length).toBeGreaterThan(0)));
    http.push(
      await timed(async () => {
        const res = await app.inject({ method: 'GET', url: `/v1/queues/${queue}/jobs/${encodeURIComponent(historyJob)}/history` });
        expect(res.statusCode).toBe(200);
      }),
    );
  }
  const replay: number[] = [];
  for (let i = 0; i < 3; i++) {
    replay.push(
      await timed(async () => {
        let events = 0;
        for await (const batch of replayBatches(source, { after: from, to })) events += batch.length;
        expect(events).toBe(10_000);
      }),
    );
  }
  return { publishToComplete: median(p2c), history: median(history), httpHistory: median(http), replay: median(replay) };
}

describe('growth', () => {
  it('1M archived events and 300k payloads: publish→complete, history and replay stay within 2× the empty store', { timeout: 600_000 }, async () => {
    // Empty store: a young queue with 10,000 archived events (for the replay range) and a finished job.
    const young = `growth-young-${Date.now()}`;
    const yq = context.queue(young);
    const { id: youngJob } = await yq.publish('first', KIB);
    const worker = new Worker(young, () => ({ ok: true }), { connection: context.redis, payloads: context.payloads, blockMs: 100 });
    await waitFor(async () => (await yq.get(youngJob))?.state === 'completed', 60_000, 'the first job completed');
    await worker.close();
    const template = await templateOf(context.redis, young, youngJob);
    for (let i = 0; i < 5000; i += 2500) {
      await yq.publishMany(Array.from({ length: 2500 }, () => ({ name: 'd', opts: { delayMs: 3_600_000 } })));
    }
    await archiveAll(young);
    const youngIds: string[] = [];
    for await (const r of context.archive.records(toQueueName(young), 0)) youngIds.push(r.id);
    const empty = await measure(young, youngJob, youngIds[0] as string, youngIds[10_000] as string);

    // Old queue: ~1M archived events and ~300k payloads, loaded in bulk.
    const old = `growth-old-${Date.now()}`;
    const loadStarted = performance.now();
    const [pre] = await Promise.all([
      preloadArchive(context.archive, context.redis, old, template, { events: EVENTS, startMs: Date.now() - 86_400_000 }),
      preloadPayloads(context.payloads, old, PAYLOADS, { bytes: 1024 }),
    ]);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const middle = Math.floor(pre.events / 2);
    const grown = await measure(old, pre.jobId(Math.floor(pre.jobs / 3)), pre.idOf(middle), pre.idOf(middle + 10_000));
    // The old queue's own new jobs: history from archive and stream after 1M events.
    const ratios = {
      publishToComplete: grown.publishToComplete / empty.publishToComplete,
      history: grown.history / empty.history,
      httpHistory: grown.httpHistory / empty.httpHistory,
      replay: grown.replay / empty.replay,
    };
    console.log(JSON.stringify({ events: pre.events, chunks: pre.chunks, payloads: PAYLOADS, loadSeconds, emptyMs: empty, grownMs: grown, ratios }, null, 1));
    expect(await context.archive.count(toQueueName(old))).toBeGreaterThanOrEqual(EVENTS);
    for (const [name, ratio] of Object.entries(ratios)) expect(ratio, name).toBeLessThanOrEqual(2);
  });
});
