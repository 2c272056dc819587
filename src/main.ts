/**
 * The quick-start main job: starts a private Redis and a MongoDB wire-protocol server (or uses
 * REDIS_URL / MONGO_URL), then runs a demo queue — a publisher, a worker whose jobs sometimes
 * fail and retry — and prints the queue's figures every few seconds until Ctrl-C, when it
 * shuts everything down cleanly.
 */
import { Redis } from 'ioredis';
import { Worker } from './consumers/worker.js';
import { describe } from './errors.js';
import { MongoPayloadStore } from './payloads/mongo-store.js';
import { Queue } from './queue.js';
import { MongoServer } from './services/mongo-server.js';
import { RedisServer } from './services/redis-server.js';

const QUEUE = 'demo';

async function main(): Promise<void> {
  const log = (line: string): void => {
    process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  };
  log('sluice: starting local services...');
  const redisServer = process.env.REDIS_URL ? undefined : await RedisServer.start();
  const redisUrl = process.env.REDIS_URL ?? (redisServer as RedisServer).url;
  const mongo = await MongoServer.start();
  log(`sluice: Redis at ${redisServer ? redisUrl : '(REDIS_URL)'}; MongoDB wire protocol from ${mongo.kind}${mongo.kind === 'external' ? '' : ` at ${mongo.url}`}`);

  const redis = new Redis(redisUrl);
  const payloads = new MongoPayloadStore({ url: mongo.url, database: 'sluice_demo' });
  const queue = new Queue(QUEUE, { connection: redis, payloads });
  const worker = new Worker<{ n: number }>(
    QUEUE,
    async (job) => {
      await job.progress({ step: 'working' });
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
      if (Math.random() < 0.2) throw new Error(`demo failure of job ${job.payload.n} (attempt ${job.attempt})`);
      return { doubled: job.payload.n * 2 };
    },
    { connection: redisUrl, payloads, concurrency: 5, leaseMs: 10_000 },
  );
  worker.on('error', (error) => log(`worker error: ${describe(error)}`));

  let n = 0;
  const publisher = setInterval(() => {
    n++;
    queue
      .publish('double', { n }, { attempts: 3, backoff: { type: 'exponential', delayMs: 500, jitter: 0.2 } })
      .catch((error: unknown) => log(`publish failed: ${describe(error)}`));
  }, 200);
  const reporter = setInterval(() => {
    void queue.stats().then(
      ({ counts }) =>
        log(
          `queue ${QUEUE}: waiting ${counts.waiting}, active ${counts.active}, delayed ${counts.delayed}, ` +
            `completed ${counts.completed}, dead ${counts.dead}`,
        ),
      (error: unknown) => log(`stats failed: ${describe(error)}`),
    );
  }, 3000);
  log('sluice: demo running: publishing 5 jobs/s (1 in 5 attempts fails and retries). The HTTP API, /metrics and the OpenAPI document come with the service (not built yet). Press Ctrl-C to stop.');

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('sluice: shutting down...');
    clearInterval(publisher);
    clearInterval(reporter);
    await worker.close(5000);
    await queue.close();
    await redis.quit();
    await payloads.close();
    await mongo.stop();
    await redisServer?.stop();
    log('sluice: stopped cleanly');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`sluice: ${describe(error)}\n`);
  process.exit(1);
});
