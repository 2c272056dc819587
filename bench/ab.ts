/**
 * Paired A/B of two Sluice source trees (e.g. a copy with a proposed src change against a
 * copy of HEAD), on one private Redis, repetitions interleaved A, B, A, B...:
 *
 *   npx tsx bench/ab.ts <dirA> <dirB> [--reps=5] [--jobs=10000] [--kinds=enqueue,drain,latency]
 *
 * Each directory is a full checkout with `bench/` and generated Lua (`npm run gen`) and its own
 * or a symlinked `node_modules`. Prints medians and the median of the paired B/A ratios: on a
 * shared 2-core machine, throughput moves ±10 % between identical runs, so read the CPU-per-job
 * and commands-per-job rows first.
 */
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServer } from '../src/services/redis-server.js';
import type * as AgentsModule from './lib/agents.js';
import type * as MeasureModule from './lib/measure.js';
import { summarize } from './lib/stats.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const option = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
if (positional.length !== 2) {
  process.stderr.write('usage: tsx bench/ab.ts <dirA> <dirB> [--reps=5] [--jobs=10000] [--kinds=enqueue,drain,latency]\n');
  process.exit(2);
}
const reps = Number(option('reps', '5'));
const jobs = Number(option('jobs', '10000'));
const kinds = new Set(option('kinds', 'enqueue,drain').split(','));

const variants = await Promise.all(
  positional.map(async (dir) => {
    const root = resolve(dir);
    return {
      root,
      measure: (await import(`${root}/bench/lib/measure.ts`)) as typeof MeasureModule,
      agents: (await import(`${root}/bench/lib/agents.ts`)) as typeof AgentsModule,
    };
  }),
);
const server = await RedisServer.start();
const admin = new Redis(server.url);
const envs = variants.map((v) => ({ redisUrl: server.url, admin, agents: [new v.agents.Agent()] }));
const figures = new Map<string, [number[], number[]]>();
const put = (name: string, i: number, value: number): void => {
  const pair = figures.get(name) ?? [[], []];
  pair[i]?.push(value);
  figures.set(name, pair);
};
try {
  for (const [i, v] of variants.entries()) {
    const env = envs[i] as (typeof envs)[number];
    await v.measure.measureEnqueue(env, 'sluice', 2000);
    await v.measure.measureDrain(env, 'sluice', 3000, 1);
  }
  for (let rep = 1; rep <= reps; rep++) {
    for (const [i, v] of variants.entries()) {
      const env = envs[i] as (typeof envs)[number];
      if (kinds.has('enqueue')) {
        const e = await v.measure.measureEnqueue(env, 'sluice', jobs * 2);
        put('enqueue jobs/s', i, e.jobsPerSec);
        put('enqueue publisher CPU µs/job', i, e.publisherCpuUsPerJob);
        put('enqueue Redis CPU µs/job', i, e.redis.cpuUsPerJob);
        put('enqueue Redis cmds/job', i, e.redis.commandsPerJob);
        put('waiting Redis B/job', i, e.bytesPerWaitingJob);
      }
      if (kinds.has('drain')) {
        const d = await v.measure.measureDrain(env, 'sluice', jobs, 1);
        put('drain jobs/s', i, d.jobsPerSec);
        put('drain Redis CPU µs/job', i, d.redis.cpuUsPerJob);
        put('drain Redis cmds/job', i, d.redis.commandsPerJob);
        put('drain worker CPU µs/job', i, d.workerCpuUsPerJob);
        put('drain script calls/job', i, (d.redis.commands.evalsha?.callsPerJob ?? 0) + (d.redis.commands.eval?.callsPerJob ?? 0));
        put('completed Redis B/job', i, d.bytesPerCompletedJob);
      }
      if (kinds.has('latency')) {
        const l = await v.measure.measureLatency(env, 'sluice', 2000, 3);
        put('latency p50 ms', i, l.p50Ms);
        put('latency p99 ms', i, l.p99Ms);
      }
    }
    process.stderr.write(`rep ${rep}/${reps} done\n`);
  }
  process.stdout.write(`A = ${variants[0]?.root}\nB = ${variants[1]?.root}\n\n| figure | A median | B median | B/A (paired median, min–max) |\n|---|---:|---:|---:|\n`);
  for (const [name, [a, b]] of figures) {
    const ratios = summarize(a.map((x, j) => (b[j] as number) / x));
    const fmt = (n: number): string => n.toFixed(n >= 100 ? 0 : 2);
    process.stdout.write(
      `| ${name} | ${fmt(summarize(a).median)} | ${fmt(summarize(b).median)} | ${ratios.median.toFixed(3)} (${ratios.min.toFixed(3)}–${ratios.max.toFixed(3)}) |\n`,
    );
  }
} finally {
  await Promise.allSettled(envs.flatMap((e) => e.agents.map((agent) => agent.exit())));
  admin.disconnect();
  await server.stop();
}
