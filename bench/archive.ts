/**
 * Archive figures on private servers (Redis and the embedded MongoDB, or MONGO_URL):
 * - archiver throughput: events/s copied from a stream into chunks (with runs, summaries, trim);
 * - one job's history latency (p50/p99 over 200 jobs) with ~1,000,000 archived events;
 * - replay rate from the archive: events/s of a 100,000-event replay from the middle.
 *
 *   npx tsx bench/archive.ts [--events=1000000]
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { Archiver } from '../src/audit/archiver.js';
import { EventArchive } from '../src/history/archive.js';
import { jobHistory, replayBatches } from '../src/history/replay.js';
import { Queue } from '../src/queue/queue.js';
import { MongoServer } from '../src/services/mongo-server.js';
import { RedisServer } from '../src/services/redis-server.js';
import { preloadArchive, type TemplateEvent } from '../test/helpers/archive-preload.js';

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const EVENTS = arg('events', 1_000_000);
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

const [redisServer, mongo] = await Promise.all([RedisServer.start(), MongoServer.start()]);
const redis = new Redis(redisServer.url);
const client = new MongoClient(mongo.url);
await client.connect();
const archive = new EventArchive({ client, database: `bench_${randomUUID().slice(0, 8)}` });
try {
  // Archiver throughput: 20,000 delayed jobs (40,000 events) in the stream, archived in 1,000-event chunks.
  const live = `bench-live-${Date.now()}`;
  const queue = new Queue(live, { connection: redis });
  for (let i = 0; i < 20_000; i += 5000) await queue.publishMany(Array.from({ length: 5000 }, () => ({ name: 'd', opts: { delayMs: 3_600_000 } })));
  const archiver = new Archiver({ redis, archive, queue: live, batchSize: 1000 });
  let archived = 0;
  const a0 = performance.now();
  for (let r = await archiver.runOnce(); r.archived > 0; r = await archiver.runOnce()) archived += r.archived;
  const archiverRate = archived / ((performance.now() - a0) / 1000);
  await queue.close();

  // History and replay with EVENTS archived events (template: five events of a delayed job's life).
  const meta = (seq: number): Record<string, unknown> => ({ queue: 'old', jobId: 'tpl', time: 1, seq, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  const template: TemplateEvent[] = [
    { type: 'scheduled', v: '1', data: { runAt: 1_700_000_000_000, reason: 'delay' }, meta: meta(1) },
    { type: 'promoted', v: '1', data: { lane: 0 }, meta: meta(2) },
    { type: 'scheduled', v: '1', data: { runAt: 1_700_000_000_000, reason: 'retry' }, meta: meta(3) },
    { type: 'promoted', v: '1', data: { lane: 0 }, meta: meta(4) },
    { type: 'scheduled', v: '1', data: { runAt: 1_700_000_000_000, reason: 'retry' }, meta: meta(5) },
  ];
  const old = `bench-old-${Date.now()}`;
  const l0 = performance.now();
  const pre = await preloadArchive(archive, redis, old, template, { events: EVENTS, startMs: Date.now() - 86_400_000 });
  const loadSeconds = (performance.now() - l0) / 1000;
  const source = { redis, archive, queue: old };
  const history: number[] = [];
  for (let i = 0; i < 200; i++) {
    const job = pre.jobId(Math.floor(Math.random() * pre.jobs));
    const t = performance.now();
    const events = await jobHistory(source, job);
    history.push(performance.now() - t);
    if (events.length !== template.length) throw new Error(`history of ${job}: ${events.length} events`);
  }
  const from = Math.floor(pre.events / 2) - 50_000;
  let replayed = 0;
  const r0 = performance.now();
  for await (const batch of replayBatches(source, { after: pre.idOf(from), to: pre.idOf(from + 100_000) })) replayed += batch.length;
  const replayRate = replayed / ((performance.now() - r0) / 1000);
  const figures = {
    archiverEventsPerSecond: Math.round(archiverRate),
    archivedEvents: EVENTS,
    chunks: pre.chunks,
    preloadSeconds: Number(loadSeconds.toFixed(1)),
    historyMs: { p50: Number(pct(history, 50).toFixed(1)), p99: Number(pct(history, 99).toFixed(1)) },
    replayEventsPerSecond: Math.round(replayRate),
    replayed,
    mongo: mongo.kind,
  };
  console.log(JSON.stringify(figures, null, 1));
} finally {
  await client.close();
  redis.disconnect();
  await Promise.all([redisServer.stop(), mongo.stop()]);
}
