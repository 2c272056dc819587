/**
 * Payload mode alone, for working on it: `npx tsx bench/payload-drain.ts [--jobs=5000] [--reps=3] [--profile=<dir>]`.
 * Starts a private Redis, the embedded FerretDB and one worker agent, then per repetition measures,
 * in turn, the payload store alone (bench/lib/payload-capacity.ts, the same function `npm run bench`
 * uses), the Sluice drain with 1 KiB payloads and the Sluice drain without payload, and prints each
 * with the CPU that FerretDB and PostgreSQL spent per job, then the medians and paired ratios.
 * With --profile, the worker's CPU profile of the last payload drain is written to <dir>.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MongoPayloadStore } from '../src/payloads/mongo-store.js';
import { MongoServer } from '../src/services/mongo-server.js';
import { RedisServer } from '../src/services/redis-server.js';
import { Agent } from './lib/agents.js';
import { installCommandCounter } from './lib/command-counter.js';
import { CONCURRENCY, measureDrain, type Env } from './lib/measure.js';
import { measureStoreCapacity } from './lib/payload-capacity.js';
import { treeCpuMs } from './lib/proc-cpu.js';

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const jobs = Number(arg('jobs') ?? 5000);
const reps = Number(arg('reps') ?? 3);
const profileDir = arg('profile');


installCommandCounter();
const redis = await RedisServer.start({ persistence: 'no-aof' });
const admin = new Redis(redis.url);
const mongoServer = await MongoServer.start();
const database = 'sluice_bench';
const store = new MongoPayloadStore({ url: mongoServer.url, database });
const agent = new Agent();
const mongo: NonNullable<Env['mongo']> = {
  url: mongoServer.url,
  database,
  target: { payloads: store },
  reset: async () => {
    await store.client.db(database).dropDatabase();
  },
};
const env: Env = { redisUrl: redis.url, admin, agents: [agent], mongo };
const cost = async <T>(fn: () => Promise<T>): Promise<[T, string]> => {
  const f0 = treeCpuMs(mongoServer.pid);
  const p0 = treeCpuMs(mongoServer.postgres?.pid);
  const value = await fn();
  const f = ((treeCpuMs(mongoServer.pid) - f0) * 1000) / jobs;
  const p = ((treeCpuMs(mongoServer.postgres?.pid) - p0) * 1000) / jobs;
  return [value, `FerretDB ${f.toFixed(0)} µs/job, PostgreSQL ${p.toFixed(0)} µs/job`];
};
const rows: { capacity: number; drain: number; plain: number }[] = [];
try {
  // Warm-up: JIT, connections, the index creation.
  await measureDrain(env, 'sluice-mongo', 1000, 1);
  await measureDrain(env, 'sluice', 1000, 1);
  for (let rep = 1; rep <= reps; rep++) {
    await mongo.reset();
    const [capacity, c1] = await cost(() => measureStoreCapacity(store, `capacity-${rep}`, jobs, CONCURRENCY));
    const profile = profileDir && rep === reps ? join(profileDir, 'payload-worker.cpuprofile') : undefined;
    const [drain, c2] = await cost(() => measureDrain(env, 'sluice-mongo', jobs, 1, profile));
    const plain = await measureDrain(env, 'sluice', jobs, 1);
    rows.push({ capacity: capacity.jobsPerSec, drain: drain.jobsPerSec, plain: plain.jobsPerSec });
    console.log(
      `rep ${rep}: store alone ${capacity.jobsPerSec.toFixed(0)} jobs/s (${c1}); payload drain ${drain.jobsPerSec.toFixed(0)} jobs/s ` +
        `(worker CPU ${drain.workerCpuUsPerJob.toFixed(0)} µs/job, publisher ${drain.publisherCpuUsPerJob.toFixed(0)}; ${c2}); ` +
        `no-payload drain ${plain.jobsPerSec.toFixed(0)} jobs/s; drain/store ${(drain.jobsPerSec / capacity.jobsPerSec).toFixed(2)}x, ` +
        `drain/no-payload ${(drain.jobsPerSec / plain.jobsPerSec).toFixed(2)}x`,
    );
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(
    `median: store alone ${median(rows.map((r) => r.capacity)).toFixed(0)}, payload drain ${median(rows.map((r) => r.drain)).toFixed(0)}, ` +
      `no payload ${median(rows.map((r) => r.plain)).toFixed(0)}; paired drain/store ${median(rows.map((r) => r.drain / r.capacity)).toFixed(2)}x, ` +
      `drain/no-payload ${median(rows.map((r) => r.drain / r.plain)).toFixed(2)}x`,
  );
} finally {
  await agent.exit();
  await store.close();
  await mongoServer.stop();
  admin.disconnect();
  await redis.stop();
}
