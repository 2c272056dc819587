/**
 * Redis CPU per job of each hot-path script in isolation — publish (batches of 1,000), claim
 * (50 at a time) and complete (50 at a time) — read from INFO cpu, which counts CPU time
 * and so moves less than wall time when other processes share the machine:
 *
 *   npx tsx bench/script-cost.ts [dir] [--jobs=20000] [--reps=7] [--breakdown]
 *
 * `--breakdown` also prints, for the last repetition, where each script's time goes: the Redis
 * commands it calls (µs per job, from INFO commandstats, reset before each phase) and the rest of
 * the script call (Lua: tables, cjson, string building, call overhead).
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
const breakdown = process.argv.includes('--breakdown');
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
/** Per phase of the last repetition: µs per job of each command (EVALSHA is the whole script call). */
const breakdowns: Record<string, Record<string, number>> = {};
const resetStats = async (): Promise<void> => {
  if (breakdown) await admin.config('RESETSTAT');
};
const readStats = async (phase: string, n: number): Promise<void> => {
  if (!breakdown || n === 0) return;
  const info = await admin.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/cmdstat_(\S+?):calls=(\d+),usec=(\d+)/g)) {
    const [, command = '', , usec = '0'] = m;
    if (command === 'info' || command === 'config') continue;
    out[command] = Number(usec) / n;
  }
  breakdowns[phase] = out;
};
try {
  for (let rep = 0; rep < reps; rep++) {
    await admin.flushall('SYNC');
    const name = `cost-${rep}`;
    const queue = new Queue(name, { connection: server.url });
    const q = toQueueName(name);
    await resetStats();
    let t0 = await cpuUs();
    for (let i = 0; i < jobs; i += 1000) await queue.publishMany(Array.from({ length: Math.min(1000, jobs - i) }, () => ({ name: 'bench' })));
    costs.publish?.push(((await cpuUs()) - t0) / jobs);
    await readStats('publish', jobs);
    const claimed: [string, string][] = [];
    await resetStats();
    t0 = await cpuUs();
    for (;;) {
      const outcome = await claimAttempts(queue.redis, q, Date.now(), { id: 'cost-worker', host: 'h', pid: 1 }, 50);
      if (outcome.kind !== 'jobs') break;
      for (const job of outcome.jobs) claimed.push([job.id, job.token]);
    }
    costs.claim?.push(((await cpuUs()) - t0) / jobs);
    await readStats('claim', jobs);
    await resetStats();
    t0 = await cpuUs();
    for (let i = 0; i < claimed.length; i += 50) {
      const batch = claimed.slice(i, i + 50);
      await completeAttempts(queue.redis, q, Date.now(), batch.map(([jobId, token]) => ({ jobId, token, result: undefined, durationMs: 1 })));
    }
    costs.complete?.push(((await cpuUs()) - t0) / jobs);
    await readStats('complete', jobs);
    if (applyRetention) {
      // The default policy keeps the newest completed jobs up to its count limit: time the sweep of the rest.
      let removed = 0;
      await resetStats();
      t0 = await cpuUs();
      for (;;) {
        const started = performance.now();
        const { completed } = await applyRetention(queue.redis, name, Date.now(), 1000);
        retentionCallMs.push(performance.now() - started);
        removed += completed;
        if (completed < 1000) break;
      }
      if (removed > 0) costs['retention (per removed job)']?.push(((await cpuUs()) - t0) / removed);
      await readStats('retention (per removed job)', removed);
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
  for (const [phase, stats] of Object.entries(breakdowns)) {
    const script = stats.evalsha ?? 0;
    const inner = Object.entries(stats).filter(([command]) => command !== 'evalsha' && command !== 'eval');
    const called = inner.reduce((sum, [, us]) => sum + us, 0);
    const parts = inner.sort((a, b) => b[1] - a[1]).filter(([, us]) => us >= 0.05).map(([command, us]) => `${command} ${us.toFixed(2)}`);
    process.stdout.write(`  ${phase}: script call ${script.toFixed(1)} µs/job = commands ${called.toFixed(1)} (${parts.join(', ')}) + Lua ${(script - called).toFixed(1)}\n`);
  }
  if (retentionCallMs.length > 0) {
    process.stdout.write(`  retention call (up to 1,000 removals): longest ${Math.max(...retentionCallMs).toFixed(1)} ms, Redis blocked meanwhile\n`);
  }
} finally {
  admin.disconnect();
  await server.stop();
}
