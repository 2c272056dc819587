/**
 * The seven scenarios of issue 6, built from repeated measurements (lib/measure.ts). Systems
 * are interleaved inside every repetition (Sluice, BullMQ, ... then again), so slow drifts of
 * the machine (other processes, thermal) hit every system alike.
 */
import type { Sizes } from './lib/config.js';
import { measureDrain, measureEnqueue, measureLatency, BATCH, CONCURRENCY, type DrainResult, type EnqueueResult, type Env, type LatencyResult } from './lib/measure.js';
import { measureStoreCapacity, preloadPayloads, type CapacityResult } from './lib/payload-capacity.js';
import type { RedisCost } from './lib/redis-stats.js';
import { summarize, type Summary } from './lib/stats.js';
import { describeSystem, type MongoKind, type SystemName } from './lib/systems.js';

/** One row of a scenario table: one system (and variant), every figure over the repetitions. */
export interface Row {
  system: SystemName;
  label: string;
  /** Where the 1 KiB payload lives for this row (short) and in full. */
  where: string;
  payload: string;
  variant?: string;
  jobs: number;
  metrics: Record<string, Summary>;
  /** Redis commands of the median repetition: calls per job and µs per call, costliest first. */
  redisCommands?: Record<string, { callsPerJob: number; usecPerCall: number; usecPerJob: number }>;
}

/** A side-by-side ratio of two rows' medians, and its range over paired repetitions. */
export interface Ratio {
  name: string;
  metric: string;
  numerator: string;
  denominator: string;
  ofMedians: number;
  perRepetition: Summary;
}

/** One scenario of the JSON file. */
export interface ScenarioResult {
  id: string;
  title: string;
  /** What each figure is. */
  measures: string;
  rows: Row[];
  ratios: Ratio[];
  notes: string[];
}

/** A performance target of the issue and how the run did. */
export interface TargetResult {
  target: string;
  ratio: string;
  goal: string;
  value: number;
  perRepetition: Summary;
  met: boolean;
  /** By how much it was missed (or beaten), in words. */
  verdict: string;
}

/** Everything the scenarios share. */
export interface Context {
  env: Env;
  sizes: Sizes;
  mongoKind?: MongoKind;
  /** Sluice's default retention of completed jobs, in words (read from src at run time). */
  retentionNote?: string;
  log: (line: string) => void;
}

/** The measurements taken, kept for scenarios that reuse them (memory, scaling, raw ceiling). */
export interface Measurements {
  enqueue: Map<SystemName, EnqueueResult[]>;
  drain: Map<SystemName, DrainResult[]>;
  latency: Map<SystemName, LatencyResult[]>;
  scaling: Map<number, Map<SystemName, DrainResult[]>>;
  payloadEnqueue: Map<SystemName, EnqueueResult[]>;
  payloadDrain: Map<SystemName, DrainResult[]>;
  /** The payload store alone: insert + point read + result write per job, empty then pre-loaded. */
  payloadCapacity: CapacityResult[];
  /** Sluice with payloads after the pre-load (same queue's collection holds `payloadPreload` payloads). */
  preloaded?: { payloads: number; enqueue: EnqueueResult[]; drain: DrainResult[]; capacity: CapacityResult[] };
}

export function emptyMeasurements(): Measurements {
  return { enqueue: new Map(), drain: new Map(), latency: new Map(), scaling: new Map(), payloadEnqueue: new Map(), payloadDrain: new Map(), payloadCapacity: [] };
}

/** Runs `fn` for every system in every repetition, interleaved; returns the results per system. */
async function repeat<T>(
  ctx: Context,
  what: string,
  systems: readonly SystemName[],
  fn: (system: SystemName) => Promise<T>,
  show: (result: T) => string,
): Promise<Map<SystemName, T[]>> {
  const out = new Map<SystemName, T[]>(systems.map((s) => [s, []]));
  for (let rep = 1; rep <= ctx.sizes.reps; rep++) {
    for (const system of systems) {
      const result = await fn(system);
      out.get(system)?.push(result);
      ctx.log(`  ${what} rep ${rep}/${ctx.sizes.reps} ${system}: ${show(result)}`);
    }
  }
  return out;
}

const fmtRate = (n: number): string => `${Math.round(n).toLocaleString('en-US')} jobs/s`;

/** Untimed: every system drains a few thousand jobs on every agent, so JIT warm-up is not measured. */
export async function warmUp(ctx: Context, systems: readonly SystemName[]): Promise<void> {
  for (const system of systems) {
    await measureEnqueue(ctx.env, system, ctx.sizes.warmupJobs);
    await measureDrain(ctx.env, system, ctx.sizes.warmupJobs, ctx.env.agents.length);
  }
  ctx.log(`  warm-up done (${ctx.sizes.warmupJobs} jobs per system, enqueue and drain on ${ctx.env.agents.length} agents)`);
}

function row<T>(
  ctx: Context,
  system: SystemName,
  results: readonly T[],
  jobs: number,
  pick: Record<string, (r: T) => number>,
  redis?: (r: T) => RedisCost,
  variant?: string,
): Row {
  const metrics: Record<string, Summary> = {};
  for (const [name, f] of Object.entries(pick)) metrics[name] = summarize(results.map(f));
  const d = describeSystem(system, ctx.mongoKind);
  const out: Row = { system, label: d.label, where: d.where, payload: d.payload, jobs, metrics };
  if (variant !== undefined) out.variant = variant;
  if (redis && results.length > 0) {
    // The repetition whose first metric is the median one.
    const first = Object.values(pick)[0] as (r: T) => number;
    const median = metrics[Object.keys(pick)[0] as string]?.median;
    const chosen = results.find((r) => first(r) === median) ?? results[0];
    if (chosen !== undefined) {
      const commands = Object.entries(redis(chosen).commands).sort((a, b) => b[1].usecPerJob - a[1].usecPerJob);
      out.redisCommands = Object.fromEntries(commands.slice(0, 15));
    }
  }
  return out;
}

/** How scenario 6 names Sluice with its payload store. */
function mongoName(ctx: Context): string {
  return ctx.mongoKind === 'ferretdb' || ctx.mongoKind === undefined ? 'Sluice + FerretDB' : 'Sluice + MongoDB';
}

function ratio<T>(name: string, metric: string, a: readonly T[], b: readonly T[], f: (r: T) => number, labels: [string, string]): Ratio {
  const perRep = a.map((r, i) => f(r) / f(b[i] as T));
  return {
    name,
    metric,
    numerator: labels[0],
    denominator: labels[1],
    ofMedians: summarize(a.map(f)).median / summarize(b.map(f)).median,
    perRepetition: summarize(perRep),
  };
}

const enqueuePick: Record<string, (r: EnqueueResult) => number> = {
  jobsPerSec: (r) => r.jobsPerSec,
  publisherCpuUsPerJob: (r) => r.publisherCpuUsPerJob,
  publisherWritesPerJob: (r) => r.publisherWritesPerJob,
  redisCpuUsPerJob: (r) => r.redis.cpuUsPerJob,
  redisCommandsPerJob: (r) => r.redis.commandsPerJob,
  bytesPerWaitingJob: (r) => r.bytesPerWaitingJob,
};

const drainPick: Record<string, (r: DrainResult) => number> = {
  jobsPerSec: (r) => r.jobsPerSec,
  workerCpuUsPerJob: (r) => r.workerCpuUsPerJob,
  publisherCpuUsPerJob: (r) => r.publisherCpuUsPerJob,
  workerWritesPerJob: (r) => r.workerWritesPerJob,
  redisCpuUsPerJob: (r) => r.redis.cpuUsPerJob,
  redisCommandsPerJob: (r) => r.redis.commandsPerJob,
  eventAppendsPerJob: (r) => r.eventAppendsPerJob,
  bytesPerCompletedJob: (r) => r.bytesPerCompletedJob,
};

const get = <K, V>(map: Map<K, V>, key: K): V => {
  const value = map.get(key);
  if (value === undefined) throw new Error(`missing measurement ${String(key)}`);
  return value;
};

/** Measures enqueue (scenario 1, and 5 for waiting jobs) for Sluice, BullMQ (1 KiB and {}) and raw. */
export async function runEnqueue(ctx: Context, m: Measurements): Promise<void> {
  const n = ctx.sizes.enqueueJobs;
  ctx.log(`Enqueue: ${n.toLocaleString('en-US')} jobs in batches of ${BATCH}, no workers`);
  const results = await repeat(ctx, 'enqueue', ['sluice', 'bullmq', 'bullmq-empty', 'raw'], (s) => measureEnqueue(ctx.env, s, n), (r) =>
    `${fmtRate(r.jobsPerSec)}, ${Math.round(r.bytesPerWaitingJob)} B/job`,
  );
  for (const [s, r] of results) m.enqueue.set(s, r);
}

/** Measures end-to-end drain with one worker process (scenario 2, 7, and 5 for completed jobs). */
export async function runDrain(ctx: Context, m: Measurements): Promise<void> {
  const n = ctx.sizes.drainJobs;
  ctx.log(`Drain: ${n.toLocaleString('en-US')} jobs, 1 worker process, concurrency ${CONCURRENCY}`);
  const results = await repeat(ctx, 'drain', ['sluice', 'bullmq', 'raw', 'raw-1k'], (s) => measureDrain(ctx.env, s, n, 1), (r) =>
    `${fmtRate(r.jobsPerSec)}, worker ${r.workerCpuUsPerJob.toFixed(0)} µs/job, Redis ${r.redis.cpuUsPerJob.toFixed(0)} µs/job`,
  );
  for (const [s, r] of results) m.drain.set(s, r);
}

/** Measures publish→completion latency at a fixed rate (scenario 3). */
export async function runLatency(ctx: Context, m: Measurements): Promise<void> {
  const { latencyRate: rate, latencySeconds: seconds } = ctx.sizes;
  ctx.log(`Latency: ${rate}/s for ${seconds} s, one at a time, 1 worker process, concurrency ${CONCURRENCY}`);
  const results = await repeat(ctx, 'latency', ['sluice', 'bullmq'], (s) => measureLatency(ctx.env, s, rate, seconds), (r) =>
    `p50 ${r.p50Ms.toFixed(2)} p95 ${r.p95Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} max ${r.maxMs.toFixed(1)} ms`,
  );
  for (const [s, r] of results) m.latency.set(s, r);
}

/** Measures drain with 1, 2 and 4 worker processes (scenario 4); reuses the drain run for 1 when sizes match. */
export async function runScaling(ctx: Context, m: Measurements): Promise<void> {
  const n = ctx.sizes.scalingJobs;
  for (const workers of ctx.sizes.scalingWorkers) {
    if (workers === 1 && n === ctx.sizes.drainJobs && m.drain.has('sluice') && m.drain.has('bullmq')) {
      m.scaling.set(1, new Map([['sluice', get(m.drain, 'sluice')], ['bullmq', get(m.drain, 'bullmq')]]));
      continue;
    }
    ctx.log(`Scaling: ${n.toLocaleString('en-US')} jobs, ${workers} worker processes × concurrency ${CONCURRENCY}`);
    m.scaling.set(
      workers,
      await repeat(ctx, `scaling×${workers}`, ['sluice', 'bullmq'], (s) => measureDrain(ctx.env, s, n, workers), (r) => fmtRate(r.jobsPerSec)),
    );
  }
}

/** Measures Sluice with payloads in the MongoDB-compatible server beside Sluice and BullMQ (scenario 6). */
export async function runPayloads(ctx: Context, m: Measurements): Promise<void> {
  const n = ctx.sizes.payloadJobs;
  const systems: SystemName[] = ['sluice-mongo', 'sluice', 'bullmq'];
  ctx.log(`Payloads: ${n.toLocaleString('en-US')} jobs, enqueue then drain`);
  const enqueue = await repeat(ctx, 'payload enqueue', systems, (s) => measureEnqueue(ctx.env, s, n), (r) =>
    `${fmtRate(r.jobsPerSec)}, ${Math.round(r.bytesPerWaitingJob)} B/job in Redis`,
  );
  const drain = await repeat(ctx, 'payload drain', systems, (s) => measureDrain(ctx.env, s, n, 1), (r) => fmtRate(r.jobsPerSec));
  for (const [s, r] of enqueue) m.payloadEnqueue.set(s, r);
  for (const [s, r] of drain) m.payloadDrain.set(s, r);
  const store = ctx.env.mongo?.target.payloads;
  if (!store || !ctx.env.mongo) return;
  const capacity = async (queue: string): Promise<CapacityResult> => measureStoreCapacity(store, queue, n, CONCURRENCY);
  for (let rep = 1; rep <= ctx.sizes.reps; rep++) {
    await ctx.env.mongo.reset();
    const r = await capacity(`bench-capacity-${rep}`);
    m.payloadCapacity.push(r);
    ctx.log(`  payload store capacity rep ${rep}/${ctx.sizes.reps}: ${fmtRate(r.jobsPerSec)}`);
  }
  // The same after a pre-load: one queue whose payload collection already holds ~300k payloads.
  const queue = 'bench-preloaded';
  const payloads = ctx.sizes.payloadPreload;
  await ctx.env.mongo.reset();
  const t0 = performance.now();
  await preloadPayloads(store, queue, payloads);
  ctx.log(`Payloads: pre-loaded ${payloads.toLocaleString('en-US')} payloads of 1 KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const pre: NonNullable<Measurements['preloaded']> = { payloads, enqueue: [], drain: [], capacity: [] };
  const keep = { queue, keepStore: true };
  for (let rep = 1; rep <= ctx.sizes.reps; rep++) {
    pre.enqueue.push(await measureEnqueue(ctx.env, 'sluice-mongo', n, keep));
    pre.drain.push(await measureDrain(ctx.env, 'sluice-mongo', n, 1, undefined, keep));
    pre.capacity.push(await capacity(queue));
    ctx.log(
      `  pre-loaded rep ${rep}/${ctx.sizes.reps}: enqueue ${fmtRate(pre.enqueue.at(-1)?.jobsPerSec ?? 0)}, ` +
        `drain ${fmtRate(pre.drain.at(-1)?.jobsPerSec ?? 0)}, store capacity ${fmtRate(pre.capacity.at(-1)?.jobsPerSec ?? 0)}`,
    );
  }
  m.preloaded = pre;
}

/** Turns the measurements into the seven scenario objects (skipping those not measured). */
export function buildScenarios(ctx: Context, m: Measurements): ScenarioResult[] {
  const s = ctx.sizes;
  const out: ScenarioResult[] = [];
  const reps = `${s.reps} repetitions`;
  const sb: [string, string] = ['Sluice', 'BullMQ'];

  if (m.enqueue.has('sluice')) {
    const sl = get(m.enqueue, 'sluice');
    const bq = get(m.enqueue, 'bullmq');
    out.push({
      id: 'enqueue',
      title: `1. Enqueue throughput (${s.enqueueJobs.toLocaleString('en-US')} jobs, batches of ${BATCH}: publishMany vs addBulk, ${reps})`,
      measures: 'jobs/s from the first batch call to the last reply, one client, batches awaited in turn, no workers',
      rows: [
        row(ctx, 'sluice', sl, s.enqueueJobs, enqueuePick, (r) => r.redis),
        row(ctx, 'bullmq', bq, s.enqueueJobs, enqueuePick, (r) => r.redis),
      ],
      ratios: [ratio('enqueue', 'jobsPerSec', sl, bq, (r) => r.jobsPerSec, sb)],
      notes: [
        'Sluice appends a `created` event per job and updates its projections (job hash, priority sorted set — the index of waiting jobs —, counters) in the same script call.',
      ],
    });
  }

  if (m.drain.has('sluice')) {
    const sl = get(m.drain, 'sluice');
    const bq = get(m.drain, 'bullmq');
    out.push({
      id: 'drain',
      title: `2. End-to-end drain (${s.drainJobs.toLocaleString('en-US')} jobs, 1 worker process, concurrency ${CONCURRENCY}, ${reps})`,
      measures: 'jobs/s from the first publish to the last completion acknowledged by Redis; the worker runs in its own process and waits before the first publish',
      rows: [
        row(ctx, 'sluice', sl, s.drainJobs, drainPick, (r) => r.redis),
        row(ctx, 'bullmq', bq, s.drainJobs, drainPick, (r) => r.redis),
      ],
      ratios: [ratio('drain', 'jobsPerSec', sl, bq, (r) => r.jobsPerSec, sb)],
      notes: [
        'Sluice appends every transition event: created, claimed, completed (3 per job), plus `removed` for the jobs its default retention takes out of the read models during the run; the "events/job" column counts the event-stream XADDs per job of each system.',
      ],
    });
  }

  if (m.latency.has('sluice')) {
    const sl = get(m.latency, 'sluice');
    const bq = get(m.latency, 'bullmq');
    const pick: Record<string, (r: LatencyResult) => number> = {
      p50Ms: (r) => r.p50Ms,
      p95Ms: (r) => r.p95Ms,
      p99Ms: (r) => r.p99Ms,
      maxMs: (r) => r.maxMs,
      achievedRate: (r) => r.achievedRate,
      maxScheduleLagMs: (r) => r.maxScheduleLagMs,
    };
    out.push({
      id: 'latency',
      title: `3. Latency (${s.latencyRate}/s for ${s.latencySeconds} s, single publishes, 1 worker process, concurrency ${CONCURRENCY}, ${reps})`,
      measures: 'per job: from the publish call to the completion acknowledged by Redis (seen in the worker), ms; percentiles per repetition',
      rows: [row(ctx, 'sluice', sl, s.latencyRate * s.latencySeconds, pick), row(ctx, 'bullmq', bq, s.latencyRate * s.latencySeconds, pick)],
      ratios: [ratio('p99', 'p99Ms', sl, bq, (r) => r.p99Ms, sb), ratio('p50', 'p50Ms', sl, bq, (r) => r.p50Ms, sb)],
      notes: ['Open loop: each publish starts on its schedule (timer granularity ~1 ms), not when the previous one returned.'],
    });
  }

  if (m.scaling.size > 0) {
    const rows: Row[] = [];
    const ratios: Ratio[] = [];
    for (const [workers, bySystem] of [...m.scaling.entries()].sort((a, b) => a[0] - b[0])) {
      const sl = get(bySystem, 'sluice');
      const bq = get(bySystem, 'bullmq');
      const pick = { jobsPerSec: drainPick.jobsPerSec as (r: DrainResult) => number, workerCpuUsPerJob: drainPick.workerCpuUsPerJob as (r: DrainResult) => number, redisCpuUsPerJob: drainPick.redisCpuUsPerJob as (r: DrainResult) => number };
      rows.push(row(ctx, 'sluice', sl, s.scalingJobs, pick, undefined, `${workers} worker${workers > 1 ? 's' : ''}`));
      rows.push(row(ctx, 'bullmq', bq, s.scalingJobs, pick, undefined, `${workers} worker${workers > 1 ? 's' : ''}`));
      ratios.push(ratio(`${workers} worker${workers > 1 ? 's' : ''}`, 'jobsPerSec', sl, bq, (r) => r.jobsPerSec, sb));
    }
    out.push({
      id: 'scaling',
      title: `4. Scaling (${s.scalingJobs.toLocaleString('en-US')} jobs, ${s.scalingWorkers.join('/')} worker processes × concurrency ${CONCURRENCY}, ${reps})`,
      measures: 'end-to-end drain jobs/s as in scenario 2, with more worker processes',
      rows,
      ratios,
      notes: ['The machine has 2 cores shared by Redis, the publisher and the workers: beyond 1–2 worker processes they compete for CPU with Redis itself.'],
    });
  }

  if (m.enqueue.has('sluice') || m.drain.has('sluice')) {
    const rows: Row[] = [];
    const ratios: Ratio[] = [];
    const waitPick = { bytesPerWaitingJob: (r: EnqueueResult) => r.bytesPerWaitingJob };
    const donePick = { bytesPerCompletedJob: (r: DrainResult) => r.bytesPerCompletedJob };
    if (m.enqueue.has('sluice')) {
      for (const sys of ['sluice', 'bullmq', 'bullmq-empty'] as const) rows.push(row(ctx, sys, get(m.enqueue, sys), s.enqueueJobs, waitPick, undefined, 'waiting'));
      ratios.push(ratio('waiting, Sluice (no payload) / BullMQ 1 KiB', 'bytesPerWaitingJob', get(m.enqueue, 'sluice'), get(m.enqueue, 'bullmq'), (r) => r.bytesPerWaitingJob, sb));
      ratios.push(
        ratio('waiting, Sluice (no payload) / BullMQ {}', 'bytesPerWaitingJob', get(m.enqueue, 'sluice'), get(m.enqueue, 'bullmq-empty'), (r) => r.bytesPerWaitingJob, ['Sluice', 'BullMQ {}']),
      );
    }
    if (m.payloadEnqueue.has('sluice-mongo')) {
      rows.push(row(ctx, 'sluice-mongo', get(m.payloadEnqueue, 'sluice-mongo'), s.payloadJobs, waitPick, undefined, 'waiting'));
      if (m.enqueue.has('bullmq')) {
        ratios.push(
          ratio('waiting, Sluice+payload ref / BullMQ 1 KiB', 'bytesPerWaitingJob', get(m.payloadEnqueue, 'sluice-mongo'), get(m.enqueue, 'bullmq'), (r) => r.bytesPerWaitingJob, ['Sluice + FerretDB', 'BullMQ']),
        );
      }
    }
    if (m.drain.has('sluice')) {
      for (const sys of ['sluice', 'bullmq'] as const) rows.push(row(ctx, sys, get(m.drain, sys), s.drainJobs, donePick, undefined, 'completed'));
      ratios.push(ratio('completed, Sluice / BullMQ', 'bytesPerCompletedJob', get(m.drain, 'sluice'), get(m.drain, 'bullmq'), (r) => r.bytesPerCompletedJob, sb));
    }
    if (m.payloadDrain.has('sluice-mongo')) {
      rows.push(row(ctx, 'sluice-mongo', get(m.payloadDrain, 'sluice-mongo'), s.payloadJobs, donePick, undefined, 'completed'));
    }
    out.push({
      id: 'memory',
      title: `5. Redis memory per job (used_memory delta / N; waiting: N = ${s.enqueueJobs.toLocaleString('en-US')}, completed: N = ${s.drainJobs.toLocaleString('en-US')}, ${reps})`,
      measures: 'bytes of Redis used_memory per job: waiting = after enqueueing N jobs with no worker; completed = after N jobs completed under each system’s default retention',
      rows,
      ratios,
      notes: [
        `Default retention, Sluice: ${ctx.retentionNote ?? 'none'}`,
        'BullMQ by default keeps every completed job (removeOnComplete: false) with its data and return value, and trims its event stream to about 10,000 entries.',
        'Sluice + FerretDB rows hold the payload reference in Redis (the payload itself is in FerretDB); measured in scenario 6 with its own N.',
      ],
    });
  }

  if (m.payloadEnqueue.has('sluice-mongo')) {
    const en = m.payloadEnqueue;
    const dr = m.payloadDrain;
    const rows: Row[] = [];
    for (const sys of ['sluice-mongo', 'sluice', 'bullmq'] as const) {
      rows.push(row(ctx, sys, get(en, sys), s.payloadJobs, { jobsPerSec: (r: EnqueueResult) => r.jobsPerSec, publisherCpuUsPerJob: (r: EnqueueResult) => r.publisherCpuUsPerJob }, undefined, 'enqueue'));
    }
    for (const sys of ['sluice-mongo', 'sluice', 'bullmq'] as const) {
      rows.push(row(ctx, sys, get(dr, sys), s.payloadJobs, { jobsPerSec: (r: DrainResult) => r.jobsPerSec, workerCpuUsPerJob: (r: DrainResult) => r.workerCpuUsPerJob }, undefined, 'drain'));
    }
    const rate = { jobsPerSec: (r: { jobsPerSec: number }) => r.jobsPerSec };
    const extraRatios: Ratio[] = [];
    if (m.payloadCapacity.length > 0) {
      rows.push(row(ctx, 'sluice-mongo', m.payloadCapacity, s.payloadJobs, rate, undefined, 'store capacity alone (insert + point read + result write per job)'));
      extraRatios.push(ratio('drain, with payload / store capacity', 'jobsPerSec', get(dr, 'sluice-mongo'), m.payloadCapacity, (r) => r.jobsPerSec, [mongoName(ctx), 'store alone']));
    }
    const pre = m.preloaded;
    if (pre) {
      const after = `after pre-load of ${pre.payloads.toLocaleString('en-US')} payloads`;
      rows.push(row(ctx, 'sluice-mongo', pre.enqueue, s.payloadJobs, rate, undefined, `enqueue, ${after}`));
      rows.push(row(ctx, 'sluice-mongo', pre.drain, s.payloadJobs, rate, undefined, `drain, ${after}`));
      rows.push(row(ctx, 'sluice-mongo', pre.capacity, s.payloadJobs, rate, undefined, `store capacity alone, ${after}`));
      extraRatios.push(
        ratio('drain with payload, pre-loaded / empty store', 'jobsPerSec', pre.drain, get(dr, 'sluice-mongo'), (r) => r.jobsPerSec, ['pre-loaded', 'empty']),
        ratio('enqueue with payload, pre-loaded / empty store', 'jobsPerSec', pre.enqueue, get(en, 'sluice-mongo'), (r) => r.jobsPerSec, ['pre-loaded', 'empty']),
        ratio('drain with payload, pre-loaded / store capacity pre-loaded', 'jobsPerSec', pre.drain, pre.capacity, (r) => r.jobsPerSec, [mongoName(ctx), 'store alone']),
      );
    }
    const name = mongoName(ctx);
    out.push({
      id: 'payloads',
      title: `6. Payloads in ${ctx.mongoKind === 'ferretdb' || ctx.mongoKind === undefined ? 'FerretDB (MongoDB-compatible, PostgreSQL backend with equality indexes)' : 'MongoDB'} (${s.payloadJobs.toLocaleString('en-US')} jobs, ${reps})`,
      measures:
        'enqueue jobs/s (batches of 1,000: one insertMany + one script call) and end-to-end drain jobs/s (publish while 1 worker process drains; with payloads the handler returns a result, stored in grouped inserts; payloads read by group of 25 or by `_id`), beside Sluice without payload and BullMQ at the same N; then the payload store alone doing the same per-job work, and the Sluice payload rows again after a bulk pre-load',
      rows,
      ratios: [
        ratio('enqueue, with payload / without', 'jobsPerSec', get(en, 'sluice-mongo'), get(en, 'sluice'), (r) => r.jobsPerSec, [name, 'Sluice']),
        ratio('drain, with payload / without', 'jobsPerSec', get(dr, 'sluice-mongo'), get(dr, 'sluice'), (r) => r.jobsPerSec, [name, 'Sluice']),
        ratio('enqueue, with payload / BullMQ', 'jobsPerSec', get(en, 'sluice-mongo'), get(en, 'bullmq'), (r) => r.jobsPerSec, [name, 'BullMQ']),
        ratio('drain, with payload / BullMQ', 'jobsPerSec', get(dr, 'sluice-mongo'), get(dr, 'bullmq'), (r) => r.jobsPerSec, [name, 'BullMQ']),
        ...extraRatios,
      ],
      notes: [
        'Sluice offers no inline-payload threshold: payloads always go to the payload store, so there is no "inline" Sluice row; the no-payload row is the Redis-only bound.',
        'FerretDB is not MongoDB: it translates the wire protocol to SQL on a private PostgreSQL cluster here, so these rows say how Sluice behaves with this store on this machine, not what a production MongoDB would do.',
        'Every payload and result access is an equality on `_id` or on the read `group`, which FerretDB pushes down and PostgreSQL answers from the GIN indexes the embedded set-up adds (docs/PAYLOADS.md); the pre-loaded rows check that the cost does not grow with the collection.',
      ],
    });
  }

  if (m.enqueue.has('raw') || m.drain.has('raw')) {
    const rows: Row[] = [];
    const ratios: Ratio[] = [];
    if (m.enqueue.has('raw')) {
      const pick = { jobsPerSec: enqueuePick.jobsPerSec as (r: EnqueueResult) => number };
      rows.push(row(ctx, 'raw', get(m.enqueue, 'raw'), s.enqueueJobs, pick, (r) => r.redis, 'enqueue (XADD, pipelined)'));
      if (m.enqueue.has('sluice')) {
        ratios.push(ratio('enqueue, Sluice / raw', 'jobsPerSec', get(m.enqueue, 'sluice'), get(m.enqueue, 'raw'), (r) => r.jobsPerSec, ['Sluice', 'raw']));
        ratios.push(ratio('enqueue, BullMQ / raw', 'jobsPerSec', get(m.enqueue, 'bullmq'), get(m.enqueue, 'raw'), (r) => r.jobsPerSec, ['BullMQ', 'raw']));
      }
    }
    if (m.drain.has('raw')) {
      for (const sys of ['raw', 'raw-1k'] as const) rows.push(row(ctx, sys, get(m.drain, sys), s.drainJobs, drainPick, (r) => r.redis, 'lifecycle'));
      if (m.drain.has('sluice')) {
        ratios.push(ratio('drain, Sluice / raw', 'jobsPerSec', get(m.drain, 'sluice'), get(m.drain, 'raw'), (r) => r.jobsPerSec, ['Sluice', 'raw']));
        ratios.push(ratio('drain, BullMQ / raw + 1 KiB', 'jobsPerSec', get(m.drain, 'bullmq'), get(m.drain, 'raw-1k'), (r) => r.jobsPerSec, ['BullMQ', 'raw + 1 KiB']));
      }
    }
    out.push({
      id: 'raw',
      title: `7. Raw Redis Streams lifecycle from Node, the ceiling (${reps})`,
      measures: `enqueue: XADD per job, ${BATCH} per pipeline; lifecycle: XADD per job + XREADGROUP (COUNT ${CONCURRENCY}) + per job XACK and one event XADD, pipelined with the next read, 1 worker process`,
      rows,
      ratios,
      notes: ['No projections, no job state, no fencing, no retries: the floor of Redis work any Streams-based queue must do per job.'],
    });
  }
  return out;
}

/** The performance targets, evaluated on this run's ratios. */
export function evaluateTargets(m: Measurements): TargetResult[] {
  const targets: TargetResult[] = [];
  const add = (target: string, ratioText: string, goal: string, r: Ratio, atLeast: number | undefined, atMost: number | undefined): void => {
    const value = r.ofMedians;
    const met = atLeast !== undefined ? value >= atLeast : value <= (atMost as number);
    const bound = (atLeast ?? atMost) as number;
    const verdict = met
      ? `met (${value.toFixed(2)} vs ${goal})`
      : atLeast !== undefined
        ? `missed: ${value.toFixed(2)}, ${((1 - value / bound) * 100).toFixed(0)} % short of ${bound}`
        : `missed: ${value.toFixed(2)}, ${((value / bound - 1) * 100).toFixed(0)} % over ${bound}`;
    targets.push({ target, ratio: ratioText, goal, value, perRepetition: r.perRepetition, met, verdict });
  };
  const sb: [string, string] = ['Sluice', 'BullMQ'];
  if (m.drain.has('sluice') && m.drain.has('bullmq')) {
    add('end-to-end drain ≥ 2× BullMQ (Sluice appends every event)', 'Sluice / BullMQ jobs/s', '≥ 2', ratio('', '', get(m.drain, 'sluice'), get(m.drain, 'bullmq'), (r) => r.jobsPerSec, sb), 2, undefined);
  }
  if (m.enqueue.has('sluice') && m.enqueue.has('bullmq')) {
    add('enqueue ≥ 3× BullMQ addBulk', 'Sluice / BullMQ jobs/s', '≥ 3', ratio('', '', get(m.enqueue, 'sluice'), get(m.enqueue, 'bullmq'), (r) => r.jobsPerSec, sb), 3, undefined);
  }
  if (m.drain.has('sluice') && m.drain.has('raw')) {
    add('end-to-end ≥ 50 % of the raw Streams lifecycle', 'Sluice / raw jobs/s', '≥ 0.5', ratio('', '', get(m.drain, 'sluice'), get(m.drain, 'raw'), (r) => r.jobsPerSec, ['Sluice', 'raw']), 0.5, undefined);
  }
  if (m.latency.has('sluice') && m.latency.has('bullmq')) {
    add('p99 latency at 2,000/s ≤ BullMQ p99', 'Sluice / BullMQ p99', '≤ 1', ratio('', '', get(m.latency, 'sluice'), get(m.latency, 'bullmq'), (r) => r.p99Ms, sb), undefined, 1);
  }
  if (m.enqueue.has('bullmq')) {
    const sluiceWaiting = m.payloadEnqueue.get('sluice-mongo') ?? m.enqueue.get('sluice');
    const which = m.payloadEnqueue.has('sluice-mongo') ? 'Sluice with 1 KiB payload (ref in Redis, payload in FerretDB)' : 'Sluice without payload';
    if (sluiceWaiting) {
      add(`Redis bytes per waiting job ≤ 0.5× BullMQ (${which} vs BullMQ with 1 KiB inline)`, 'Sluice / BullMQ bytes', '≤ 0.5', ratio('', '', sluiceWaiting, get(m.enqueue, 'bullmq'), (r) => r.bytesPerWaitingJob, sb), undefined, 0.5);
    }
  }
  return targets;
}
