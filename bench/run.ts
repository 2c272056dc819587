/**
 * Sluice benchmarks, side by side with BullMQ in the same run (issue 6).
 *
 *   npm run bench                 full sizes (several minutes)
 *   npm run bench -- --quick      every scenario, scaled down (under 3 minutes on 2 cores)
 *   options: --reps=N  --only=enqueue,drain,latency,scaling,payloads,http,profile  --profile  --no-profile
 *            --out=<file> (default bench/results/latest.json)
 *
 * Starts a private redis-server (no persistence), worker agents in child processes and, for the
 * payload scenario, the MongoDB-compatible server (FerretDB here); prints Markdown tables and
 * writes every figure, with machine info and versions, as JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisServer } from '../src/services/redis-server.js';
import { runHttpWorker } from './http-worker.js';
import { Agent } from './lib/agents.js';
import { now } from './lib/clock.js';
import { FULL, QUICK, type Sizes } from './lib/config.js';
import { installCommandCounter } from './lib/command-counter.js';
import { summarizeProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { measureDrain, type DrainResult, type Env } from './lib/measure.js';
import { scenarioMarkdown, targetsMarkdown } from './lib/report.js';
import type { MongoKind, SystemName } from './lib/systems.js';
import {
  buildScenarios,
  emptyMeasurements,
  evaluateTargets,
  runDrain,
  runEnqueue,
  runLatency,
  runPayloads,
  runScaling,
  warmUp,
  type Context,
} from './scenarios.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const GROUPS = ['enqueue', 'drain', 'latency', 'scaling', 'payloads', 'http', 'profile'] as const;
type Group = (typeof GROUPS)[number];

interface Args {
  quick: boolean;
  reps?: number;
  only: Set<Group>;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, only: new Set(GROUPS), out: join(benchDir, 'results', 'latest.json') };
  let profile: boolean | undefined;
  for (const arg of argv) {
    const [key, value] = arg.split('=', 2) as [string, string | undefined];
    if (key === '--quick') args.quick = true;
    else if (key === '--reps' && value) args.reps = Number(value);
    else if (key === '--out' && value) args.out = value;
    else if (key === '--profile') profile = true;
    else if (key === '--no-profile') profile = false;
    else if (key === '--only' && value) {
      const groups = value.split(',');
      for (const g of groups) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--only: unknown group ${g}; groups: ${GROUPS.join(', ')}`);
      args.only = new Set(groups as Group[]);
    } else throw new Error(`unknown argument ${arg}`);
  }
  // The profile costs a full extra drain per system: on by default in full runs only.
  if (profile === false || (profile === undefined && args.quick)) args.only.delete('profile');
  if (profile === true) args.only.add('profile');
  if (args.reps !== undefined && !(Number.isInteger(args.reps) && args.reps >= 1)) throw new Error('--reps must be a positive integer');
  return args;
}

function packageVersion(name: string): string {
  const file = name === 'sluice' ? join(root, 'package.json') : join(root, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The MongoDB-compatible server and a payload store on it, or why there is none. */
interface Mongo {
  kind: MongoKind;
  version: string;
  stop(): Promise<void>;
  env: NonNullable<Env['mongo']>;
}

async function startMongo(log: (line: string) => void): Promise<Mongo | string> {
  try {
    // Imported lazily: the Redis-only scenarios must not depend on the payload module.
    const { MongoServer } = await import('../src/services/mongo-server.js');
    const { MongoPayloadStore } = await import('../src/payloads/mongo-store.js');
    const server = await MongoServer.start();
    const database = 'sluice_bench';
    const store = new MongoPayloadStore({ url: server.url, database });
    const info = await store.client.db('admin').command({ buildInfo: 1 });
    const ferret = typeof info.ferretdbVersion === 'string' ? info.ferretdbVersion : undefined;
    const version = ferret ? `FerretDB ${ferret} (MongoDB ${String(info.version)} wire compatibility)` : `MongoDB ${String(info.version)}`;
    log(`payload store: ${version} (${server.kind}) at ${server.url}`);
    return {
      kind: server.kind,
      version,
      async stop() {
        await store.close();
        await server.stop();
      },
      env: {
        url: server.url,
        database,
        target: { payloads: store },
        async reset() {
          await store.client.db(database).dropDatabase();
        },
      },
    };
  } catch (error) {
    return `payload scenario skipped: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Sluice's default retention of completed jobs, read from src so the note follows the code. */
async function describeRetention(): Promise<string> {
  try {
    const { DEFAULT_RETENTION } = await import('../src/projections/retention.js');
    const { maxAgeMs, maxCount } = DEFAULT_RETENTION.completed as { maxAgeMs: number | null; maxCount: number | null };
    const age = maxAgeMs === null ? 'no age limit' : `${maxAgeMs / 3_600_000} h`;
    const count = maxCount === null ? 'no count limit' : `the newest ${maxCount.toLocaleString('en-US')}`;
    return (
      `completed jobs leave the read models (job hash, state index) after ${age} or beyond ${count} (the worker's retention sweep, through \`removed\` events); ` +
      'their events stay in the stream until archived and trimmed, so with N above the count limit the per-job figure is mostly events.'
    );
  } catch {
    return 'none in this version: every completed job keeps its job hash, its state-index entry and all its events.';
  }
}

/**
 * One profiled drain per system on a warm agent: V8's CPU profiler (what `--cpu-prof` runs),
 * started when the consumer is ready and stopped after the last completion.
 */
async function runProfiles(ctx: Context, dir: string): Promise<Record<string, unknown>[]> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out: Record<string, unknown>[] = [];
  for (const system of ['sluice', 'bullmq'] as SystemName[]) {
    const file = join(dir, `${system}-worker.cpuprofile`);
    const result: DrainResult = await measureDrain(ctx.env, system, ctx.sizes.profileJobs, 1, file);
    const summary: ProfileSummary = summarizeProfile(file);
    ctx.log(`  profile ${system}: ${Math.round(result.jobsPerSec)} jobs/s under the profiler; busy ${summary.busyMs.toFixed(0)} ms of ${summary.wallMs.toFixed(0)} ms`);
    out.push({
      system,
      file: relative(root, file),
      jobs: ctx.sizes.profileJobs,
      jobsPerSecUnderProfiler: result.jobsPerSec,
      workerCpuUsPerJob: result.workerCpuUsPerJob,
      redisCpuUsPerJob: result.redis.cpuUsPerJob,
      redisCommands: Object.fromEntries(Object.entries(result.redis.commands).sort((a, b) => b[1].usecPerJob - a[1].usecPerJob)),
      summary,
    });
  }
  return out;
}

function profileMarkdown(profiles: readonly Record<string, unknown>[]): string {
  const lines: string[] = ['### Worker profiles (V8 CPU profiler on the warm worker, one drain each; throughput under the profiler is not a benchmark figure)'];
  for (const p of profiles) {
    const summary = p.summary as ProfileSummary;
    lines.push('', `**${String(p.system)}**: busy ${summary.busyMs.toFixed(0)} ms of ${summary.wallMs.toFixed(0)} ms wall (${String(p.file)})`, '');
    lines.push('| component | self ms | % of busy |', '|---|---:|---:|');
    for (const c of summary.components.slice(0, 10)) lines.push(`| ${c.name} | ${c.selfMs.toFixed(0)} | ${c.busyPct.toFixed(1)} |`);
    lines.push('', '| function | self ms | % of busy |', '|---|---:|---:|');
    for (const f of summary.functions.slice(0, 15)) lines.push(`| \`${f.name}\` | ${f.selfMs.toFixed(0)} | ${f.busyPct.toFixed(1)} |`);
    const cmds = Object.entries(p.redisCommands as Record<string, { callsPerJob: number; usecPerCall: number; usecPerJob: number }>).slice(0, 10);
    lines.push('', '| Redis command | calls/job | µs/call | µs/job |', '|---|---:|---:|---:|');
    for (const [name, c] of cmds) lines.push(`| ${name} | ${c.callsPerJob.toFixed(2)} | ${c.usecPerCall.toFixed(2)} | ${c.usecPerJob.toFixed(2)} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = now();
  const sizes: Sizes = { ...(args.quick ? QUICK : FULL), ...(args.reps ? { reps: args.reps } : {}) };
  const log = (line: string): void => {
    process.stderr.write(`[${((now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  };
  const loadStart = loadavg();
  log(`${args.quick ? 'QUICK mode: sizes scaled down (see "sizes" in the JSON); figures are noisier than a full run' : 'full run'}; groups: ${[...args.only].join(', ')}`);
  installCommandCounter();

  const redisServer = await RedisServer.start({ persistence: 'no-aof' });
  const admin = new Redis(redisServer.url);
  const serverInfo = await admin.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(serverInfo)?.[1] ?? 'unknown';
  log(`redis-server ${redisVersion} on ${redisServer.url} (no persistence)`);
  const agentCount = Math.max(1, ...(args.only.has('scaling') ? sizes.scalingWorkers : [1]));
  const agents = Array.from({ length: agentCount }, () => new Agent());
  let mongo: Mongo | undefined;
  const skipped: string[] = [];
  const m = emptyMeasurements();
  let profiles: Record<string, unknown>[] = [];
  try {
    if (args.only.has('payloads')) {
      const started = await startMongo(log);
      if (typeof started === 'string') {
        skipped.push(started);
        log(started);
      } else mongo = started;
    }
    const env: Env = { redisUrl: redisServer.url, admin, agents };
    const retentionNote = await describeRetention();
    const ctx: Context = { env, sizes, log, retentionNote, ...(mongo ? { mongoKind: mongo.kind } : {}) };
    const warm: SystemName[] = ['sluice', 'bullmq'];
    if (args.only.has('drain') || args.only.has('enqueue')) warm.push('raw');
    await warmUp(ctx, warm);
    if (args.only.has('enqueue')) await runEnqueue(ctx, m);
    if (args.only.has('drain')) await runDrain(ctx, m);
    if (args.only.has('latency')) await runLatency(ctx, m);
    if (args.only.has('scaling')) await runScaling(ctx, m);
    if (mongo) {
      const payloadCtx: Context = { ...ctx, env: { ...env, mongo: mongo.env } };
      const few = { ...sizes, warmupJobs: Math.min(sizes.warmupJobs, 500) };
      await warmUp({ ...payloadCtx, sizes: few, env: { ...payloadCtx.env, agents: agents.slice(0, 1) } }, ['sluice-mongo']);
      await runPayloads(payloadCtx, m);
    }
    if (args.only.has('profile')) profiles = await runProfiles(ctx, join(benchDir, 'results', 'profiles'));
    const httpLibrary = m.drain.get('sluice')?.map((r) => r.jobsPerSec);
    const http = args.only.has('http')
      ? await runHttpWorker({ redisUrl: redisServer.url, jobs: args.quick ? 2000 : 10_000, reps: sizes.reps, log, ...(httpLibrary ? { libraryDrain: httpLibrary } : {}) })
      : undefined;

    const scenarios = [...buildScenarios(ctx, m), ...(http ? [http] : [])];
    const targets = evaluateTargets(m);
    const durationSec = (now() - started) / 1000;
    const cpu = cpus();
    const result = {
      generatedAt: new Date().toISOString(),
      mode: args.quick ? 'quick' : 'full',
      durationSec,
      sizes,
      machine: {
        cpuModel: cpu[0]?.model ?? 'unknown',
        cores: cpu.length,
        memoryGiB: totalmem() / 2 ** 30,
        platform: `${platform()} ${release()}`,
        loadAverage: { atStart: loadStart, atEnd: loadavg() },
      },
      versions: {
        sluice: packageVersion('sluice'),
        gitCommit: git(['rev-parse', 'HEAD']),
        worktreeChangesInSrc: git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length,
        node: process.version,
        redis: redisVersion,
        bullmq: packageVersion('bullmq'),
        ioredis: packageVersion('ioredis'),
        mongodbDriver: packageVersion('mongodb'),
        payloadStore: mongo?.version ?? 'not started',
      },
      method: {
        redis: 'private redis-server per run, no persistence (no AOF, no RDB); FLUSHALL SYNC before every measurement',
        workers: 'each worker is a child process (node --import tsx bench/agent.ts), concurrency 50, no-op async handler; agents serve every repetition',
        repetitions: `${sizes.reps}, systems interleaved within each repetition; median, min and max reported`,
        payload: '1 KiB JSON (exactly 1,024 bytes serialised) wherever a system carries a payload',
      },
      skipped,
      scenarios,
      targets,
      profiles,
    };
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);

    const md = [
      `## Sluice vs BullMQ — ${result.mode} run, ${result.generatedAt}`,
      '',
      `${result.machine.cpuModel}, ${result.machine.cores} cores; Node ${result.versions.node}; Redis ${redisVersion}; BullMQ ${result.versions.bullmq}; ioredis ${result.versions.ioredis}; payload store: ${result.versions.payloadStore}; load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} → ${result.machine.loadAverage.atEnd.map((l) => l.toFixed(2)).join(' ')}`,
      ...(args.quick ? ['', `QUICK mode: N scaled down (enqueue ${sizes.enqueueJobs}, drain ${sizes.drainJobs}, latency ${sizes.latencySeconds} s, payloads ${sizes.payloadJobs}); run \`npm run bench\` for the full sizes.`] : []),
      ...skipped.map((s) => `\n${s}`),
      '',
      ...scenarios.map((s) => `${scenarioMarkdown(s)}\n`),
      targetsMarkdown(targets),
      ...(profiles.length > 0 ? ['', profileMarkdown(profiles)] : []),
      '',
      `Run took ${durationSec.toFixed(0)} s. JSON: ${relative(process.cwd(), args.out)}`,
    ].join('\n');
    process.stdout.write(`${md}\n`);
  } finally {
    await Promise.allSettled(agents.map((a) => a.exit()));
    admin.disconnect();
    await mongo?.stop().catch(() => undefined);
    await redisServer.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
