/**
 * Cost of time travel (`queueAsOf`, src/audit/as-of.ts): replays a queue's history through the
 * projection fold into a private read model. Measures, on a private redis-server, the time to
 * replay N events (each job: created, claimed, completed) to the latest moment, and the time of
 * reading the same history without folding, so the fold's share is visible.
 *
 *   npx tsx bench/as-of.ts [jobs=30000]
 *
 * Prints events replayed, milliseconds, and the extrapolated seconds per million events.
 */
import { Redis } from 'ioredis';
import { queueAsOf } from '../src/audit/as-of.js';
import { replayBatches } from '../src/history/replay.js';
import { Worker } from '../src/consumers/worker.js';
import { Queue } from '../src/queue/queue.js';
import { RedisServer } from '../src/services/redis-server.js';

const jobs = Number(process.argv[2] ?? 30_000);
const server = await RedisServer.start();
const redis = new Redis(server.url);
try {
  const queue = new Queue('asof-bench', { connection: redis });
  for (let i = 0; i < jobs; i += 1000) {
    await queue.publishMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ name: 'job', opts: { jobId: `j-${i + k}` } })));
  }
  const worker = new Worker('asof-bench', () => undefined, { connection: redis, concurrency: 50, blockMs: 50 });
  for (;;) {
    const stats = await queue.stats();
    if ((stats.events.completed ?? 0) >= jobs) break;
    if (process.env.DEBUG) console.log(JSON.stringify(stats.counts));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await worker.close();
  const at = Date.now();
  let read = 0;
  let t0 = performance.now();
  for await (const batch of replayBatches({ redis, queue: 'asof-bench' }, { to: at })) read += batch.length;
  const readMs = performance.now() - t0;
  t0 = performance.now();
  const result = await queueAsOf({ redis, queue: 'asof-bench' }, at);
  const foldMs = performance.now() - t0;
  const perMillion = (ms: number, n: number): string => ((ms / n) * 1000).toFixed(1);
  console.log(`events ${result.events} (read ${read}); counts ${JSON.stringify(result.counts)}`);
  console.log(`read only:        ${readMs.toFixed(0)} ms  -> ${perMillion(readMs, read)} s per million events`);
  console.log(`as-of (read+fold): ${foldMs.toFixed(0)} ms  -> ${perMillion(foldMs, result.events)} s per million events`);
} finally {
  redis.disconnect();
  await server.stop();
}
