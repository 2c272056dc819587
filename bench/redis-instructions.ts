/**
 * Redis instructions per job of each hot-path phase — publish (batches of 1,000), claim (50 at a
 * time), complete (50 at a time), retention — counted by valgrind's callgrind on a private
 * redis-server. Unlike CPU time, an instruction count does not move when other processes share
 * the machine, so a change of a few percent in a script is visible in one run:
 *
 *   npx tsx bench/redis-instructions.ts [dir ...] [--jobs=2000] [--keep]
 *
 * Each `dir` is a Sluice checkout (default: this one) with generated Lua. Needs `valgrind`
 * (Debian package) and `redis-server` on PATH. Redis under callgrind runs ~50× slower: keep
 * --jobs small. A warm-up round loads the scripts first, so compiling them is not counted.
 * Prints thousands of instructions per job (kIr/job) per phase and their sum. With --keep the
 * callgrind dumps stay (one per phase, in the order above) for `callgrind_annotate`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type * as KeysModule from '../src/core/keys.js';
import type * as QueueModule from '../src/queue/queue.js';
import type * as CommandsModule from '../src/events/commands/index.js';

const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (dirs.length === 0) dirs.push(resolve(import.meta.dirname, '..'));
const keep = process.argv.includes('--keep');
const jobs = Number(process.argv.find((a) => a.startsWith('--jobs='))?.slice(7) ?? '2000');

const freePort = (): Promise<number> =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });

type Retention = (redis: QueueModule.Queue['redis'], queue: string, now: number, limit: number) => Promise<{ completed: number }>;

async function measure(root: string): Promise<Record<string, number>> {
  const { claimAttempts, completeAttempts } = (await import(`${root}/src/events/commands/index.ts`)) as typeof CommandsModule;
  const { Queue } = (await import(`${root}/src/queue/queue.ts`)) as typeof QueueModule;
  const { toQueueName } = (await import(`${root}/src/core/keys.ts`)) as typeof KeysModule;
  const { applyRetention } = (await import(`${root}/src/projections/retention.ts`)) as { applyRetention: Retention };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ir-'));
  const port = await freePort();
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${dir}/cg.out`, '--dump-instr=no', 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // refused until valgrind has started the server
  const dumps: string[] = [];
  /** Instructions since the last zero or dump: callgrind writes a new numbered file per dump. */
  const dump = (): number => {
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    const files = readdirSync(dir).filter((f) => /^cg\.out\.\d+$/.test(f) && !dumps.includes(f));
    const file = files.sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))[0];
    if (!file) throw new Error('callgrind wrote no dump');
    dumps.push(file);
    const summary = /^summary: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    return Number(summary?.[1] ?? Number.NaN);
  };
  try {
    for (let i = 0; ; i++) {
      try {
        await redis.connect();
        break;
      } catch {
        if (i > 600) throw new Error('redis-server under valgrind did not start in 2 minutes');
        await sleep(200);
      }
    }
    const round = async (name: string, n: number, count: boolean): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      const queue = new Queue(name, { connection: `redis://127.0.0.1:${port}` });
      const q = toQueueName(name);
      if (count) dump();
      for (let i = 0; i < n; i += 1000) await queue.publishMany(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'bench' })));
      if (count) out.publish = dump() / n;
      const claimed: [string, string][] = [];
      for (;;) {
        const outcome = await claimAttempts(queue.redis, q, Date.now(), { id: 'ir-worker', host: 'h', pid: 1 }, 50);
        if (outcome.kind !== 'jobs') break;
        for (const job of outcome.jobs) claimed.push([job.id, job.token]);
      }
      if (count) out.claim = dump() / n;
      for (let i = 0; i < claimed.length; i += 50) {
        await completeAttempts(queue.redis, q, Date.now(), claimed.slice(i, i + 50).map(([jobId, token]) => ({ jobId, token, result: undefined, durationMs: 1 })));
      }
      if (count) out.complete = dump() / n;
      // Two days on, every completed job is past the default age limit: retention removes them all.
      let removed = 0;
      for (;;) {
        const { completed } = await applyRetention(queue.redis, name, Date.now() + 48 * 3600_000, 1000);
        removed += completed;
        if (completed < 1000) break;
      }
      if (count && removed > 0) out.retention = dump() / removed;
      await queue.close();
      return out;
    };
    await round('ir-warm', 200, false);
    return await round('ir', jobs, true);
  } finally {
    redis.disconnect();
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
    if (keep) process.stderr.write(`callgrind dumps of ${root}: ${dumps.map((f) => join(dir, f)).join(' ')}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

process.stdout.write(`Redis instructions per job (thousands; callgrind, ${jobs} jobs)\n`);
process.stdout.write(`| checkout | publish | claim | complete | retention (per removed job) | sum |\n|---|---:|---:|---:|---:|---:|\n`);
for (const dir of dirs) {
  const r = await measure(resolve(dir));
  const k = (v: number | undefined): string => (v === undefined ? '–' : (v / 1000).toFixed(1));
  const sum = (r.publish ?? 0) + (r.claim ?? 0) + (r.complete ?? 0) + (r.retention ?? 0);
  process.stdout.write(`| ${dir} | ${k(r.publish)} | ${k(r.claim)} | ${k(r.complete)} | ${k(r.retention)} | ${k(sum)} |\n`);
}
