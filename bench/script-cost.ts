/**
 * Redis CPU per job of each hot-path script in isolation — publish (batches of 1,000), claim
 * (50 at a time) and complete (50 at a time) — read from INFO cpu, which counts CPU time
 * and so moves less than wall time when other processes share the machine:
 *
 *   npx tsx bench/script-cost.ts [dir] [--jobs=20000] [--reps=7]
 *
 * `dir` is a Sluice checkout (default: this one), so a proposed Lua change can be measured on
 * a copy. Prints the median and the minimum over the repetitions.
 */
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServer } from '../src/services/redis-server.js';
import type * as KeysModule from '../src/core/keys.js';
import type * as QueueModule from '../src/queue/queue.js';
import type * as CommandsModule from '../src/events/commands/index.js';
import { summarize } from './lib/stats.js';

const root = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? resolve(import.meta.dirname, '..'));
const option = (name: string, fallback: string): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const jobs = option('jobs', '20000');
const reps = option('reps', '7');
const { claimAttempts, completeAttempts } = (await import(`${root}/src/events/commands/index.ts`)) as typeof CommandsModule;
const { Queue } = (await import(`${root}/src/queue/queue.ts`)) as typeof QueueModule;
const { toQueueName } = (await import(`${root}/src/core/keys.ts`)) as typeof KeysModule;

const server = await RedisServer.start();
const admin = new Redis(server.url);
const cpuUs = async (): Promise<number> => {
  const info = await admin.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
};
type Retention = (redis: QueueModule.Queue['redis'], queue: string, now: number, limit: number) => Promise<{ completed: number }>;
let applyRetention: Retention | undefined;
try {
  // Retention (removed events) exists from the commit that added src/projections/retention.ts.
  ({ applyRetention } = (await import(`${root}/src/projections/retention.ts`)) as { applyRetention: Retention });
} catch {
  applyRetention = undefined;
}
const costs: Record<string, number[]> = { publish: [], claim: [], complete: [], ...(applyRetention ? { 'retention (per removed job)': [] } : {}) };
const retentionCallMs: number[] = [];
try {
  for (let rep = 0; rep < reps; rep++) {
    await admin.flushall('SYNC');
    const name = `cost-${rep}`;
    const queue = new Queue(name, { connection: server.url });
    const q = toQueueName(name);
    let t0 = await cpuUs();
    for (let i = 0; i < jobs; i += 1000) await queue.publishMany(Array.from({ length: Math.min(1000, jobs - i) }, () => ({ name: 'bench' })));
    costs.publish?.push(((await cpuUs()) - t0) / jobs);
    const claimed: [string, string][] = [];
    t0 = await cpuUs();
    for (;;) {
      const outcome = await claimAttempts(queue.redis, q, Date.now(), { id: 'cost-worker', host: 'h', pid: 1 }, 50);
      if (outcome.kind !== 'jobs') break;
      for (const job of outcome.jobs) claimed.push([job.id, job.token]);
    }
    costs.claim?.push(((await cpuUs()) - t0) / jobs);
    t0 = await cpuUs();
    for (let i = 0; i < claimed.length; i += 50) {
      const batch = claimed.slice(i, i + 50);
      await completeAttempts(queue.redis, q, Date.now(), batch.map(([jobId, token]) => ({ jobId, token, result: undefined, durationMs: 1 })));
    }
    costs.complete?.push(((await cpuUs()) - t0) / jobs);
    if (applyRetention) {
      // The default policy keeps the newest completed jobs up to its count limit: time the sweep of the rest.
      let removed = 0;
      t0 = await cpuUs();
      for (;;) {
        const started = performance.now();
        const { completed } = await applyRetention(queue.redis, name, Date.now(), 1000);
        retentionCallMs.push(performance.now() - started);
        removed += completed;
        if (completed < 1000) break;
      }
      if (removed > 0) costs['retention (per removed job)']?.push(((await cpuUs()) - t0) / removed);
    }
    await queue.close();
  }
  process.stdout.write(`${root}: Redis CPU µs per job (median, min over ${reps} repetitions of ${jobs} jobs)\n`);
  let total = 0;
  for (const [script, values] of Object.entries(costs)) {
    const s = summarize(values);
    if (!script.startsWith('retention')) total += s.min;
    process.stdout.write(`  ${script.padEnd(28)} ${s.median.toFixed(1).padStart(6)}  min ${s.min.toFixed(1)}\n`);
  }
  process.stdout.write(`  publish + claim + complete (sum of minima) ${total.toFixed(1)}\n`);
  if (retentionCallMs.length > 0) {
    process.stdout.write(`  retention call (up to 1,000 removals): longest ${Math.max(...retentionCallMs).toFixed(1)} ms, Redis blocked meanwhile\n`);
  }
} finally {
  admin.disconnect();
  await server.stop();
}
