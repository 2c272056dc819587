/**
 * One measurement of one system: enqueue, drain or latency. Each starts from an empty private
 * Redis (FLUSHALL SYNC: the server belongs to this run alone), so memory deltas and INFO
 * counters describe this measurement only.
 */
import type { Redis } from 'ioredis';
import { waitForCompletions, type Agent, type Stopped } from './agents.js';
import { now, sleep } from './clock.js';
import { takeCommandCount } from './command-counter.js';
import { createProducer, type ProducerTarget } from './producers.js';
import { costBetween, flushAll, snapshot, type RedisCost } from './redis-stats.js';
import { percentile } from './stats.js';
import type { SystemName } from './systems.js';

/** Jobs per publish batch (Sluice publishMany, BullMQ addBulk, one raw pipeline). */
export const BATCH = 1000;
/** Handler concurrency of every worker process. */
export const CONCURRENCY = 50;

/** What every measurement needs. */
export interface Env {
  redisUrl: string;
  /** Admin connection to the private Redis (INFO, FLUSHALL). */
  admin: Redis;
  /** Worker agents; a measurement uses the first `workers` of them. */
  agents: readonly Agent[];
  /** Set when a MongoDB-compatible server runs (payload scenario). */
  mongo?: { url: string; database: string; target: Pick<ProducerTarget, 'payloads'>; reset(): Promise<void> };
}

/** A unique queue name per measurement. */
let serial = 0;
function queueName(kind: string, system: SystemName): string {
  return `bench-${kind}-${system}-${++serial}`;
}

function target(env: Env, system: SystemName, queue: string): ProducerTarget {
  if (system === 'sluice-mongo') {
    if (!env.mongo) throw new Error('sluice-mongo needs the MongoDB-compatible server');
    return { redisUrl: env.redisUrl, queue, ...env.mongo.target };
  }
  return { redisUrl: env.redisUrl, queue };
}

/** Where a measurement runs: a fixed queue, and a payload store kept as it is (pre-loaded). */
export interface MeasureOptions {
  /** Queue name instead of a new one per measurement (its payload collection may be pre-loaded). */
  queue?: string;
  /** Do not empty the payload store first. */
  keepStore?: boolean;
}

async function reset(env: Env, system: SystemName, options: MeasureOptions = {}): Promise<void> {
  await flushAll(env.admin);
  if (system === 'sluice-mongo' && !options.keepStore) await env.mongo?.reset();
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(since);
  return cpu.user + cpu.system;
}

/** Result of {@link measureEnqueue}. */
export interface EnqueueResult {
  jobsPerSec: number;
  /** Redis used_memory growth per job, all jobs waiting. */
  bytesPerWaitingJob: number;
  publisherCpuUsPerJob: number;
  /** Commands and writes (round trips) the publisher sent, per job. */
  publisherCommandsPerJob: number;
  publisherWritesPerJob: number;
  redis: RedisCost;
}

/** Publishes `jobs` jobs in batches of {@link BATCH}, no workers running. */
export async function measureEnqueue(env: Env, system: SystemName, jobs: number, options: MeasureOptions = {}): Promise<EnqueueResult> {
  await reset(env, system, options);
  const producer = createProducer(system, target(env, system, options.queue ?? queueName('enqueue', system)));
  try {
    await producer.ready();
    const before = await snapshot(env.admin);
    takeCommandCount();
    const cpu = process.cpuUsage();
    const t0 = now();
    for (let done = 0; done < jobs; done += BATCH) await producer.publishBatch(Math.min(BATCH, jobs - done));
    const elapsed = now() - t0;
    const publisherCpu = cpuUs(cpu);
    const sent = takeCommandCount();
    const after = await snapshot(env.admin);
    return {
      jobsPerSec: jobs / (elapsed / 1000),
      bytesPerWaitingJob: (after.usedMemory - before.usedMemory) / jobs,
      publisherCpuUsPerJob: publisherCpu / jobs,
      publisherCommandsPerJob: sent.commands / jobs,
      publisherWritesPerJob: sent.writes / jobs,
      redis: costBetween(before, after, jobs),
    };
  } finally {
    await producer.close();
  }
}

/** Result of {@link measureDrain}. */
export interface DrainResult {
  /** Jobs per second from the first publish to the last completion. */
  jobsPerSec: number;
  /** Redis used_memory growth per job once every job completed (default retention). */
  bytesPerCompletedJob: number;
  /** CPU of all worker processes per job, µs. */
  workerCpuUsPerJob: number;
  publisherCpuUsPerJob: number;
  /** Commands and writes sent by the workers, per job. */
  workerCommandsPerJob: number;
  workerWritesPerJob: number;
  /** Event-stream appends per job: XADDs minus the one dispatch XADD per job of Sluice and raw. */
  eventAppendsPerJob: number;
  redis: RedisCost;
}

/** XADDs per job that dispatch work rather than record an event (Sluice's lanes, the raw stream). */
function dispatchXadds(system: SystemName): number {
  return system.startsWith('bullmq') ? 0 : 1;
}

/**
 * Starts `workers` agents, then publishes `jobs` jobs in batches and waits for every completion.
 * With `profilePath`, the first agent profiles its CPU from start to stop.
 */
export async function measureDrain(
  env: Env,
  system: SystemName,
  jobs: number,
  workers: number,
  profilePath?: string,
  options: MeasureOptions = {},
): Promise<DrainResult> {
  await reset(env, system, options);
  const queue = options.queue ?? queueName(`drain${workers}`, system);
  const agents = env.agents.slice(0, workers);
  if (agents.length < workers) throw new Error(`need ${workers} agents, have ${env.agents.length}`);
  const producer = createProducer(system, target(env, system, queue));
  let stopped: Stopped[] = [];
  try {
    await producer.ready();
    await Promise.all(
      agents.map((agent, i) =>
        agent.start({
          ...(i === 0 && profilePath ? { profilePath } : {}),
          system,
          redisUrl: env.redisUrl,
          queue,
          concurrency: CONCURRENCY,
          record: false,
          ...(env.mongo ? { mongoUrl: env.mongo.url, mongoDatabase: env.mongo.database } : {}),
        }),
      ),
    );
    const before = await snapshot(env.admin);
    const cpu = process.cpuUsage();
    const t0 = now();
    for (let done = 0; done < jobs; done += BATCH) await producer.publishBatch(Math.min(BATCH, jobs - done));
    const publisherCpu = cpuUs(cpu);
    const last = await waitForCompletions(agents, jobs);
    const after = await snapshot(env.admin);
    stopped = await Promise.all(agents.map((agent) => agent.stop()));
    const completed = stopped.reduce((n, s) => n + s.count, 0);
    if (completed !== jobs) throw new Error(`${system}: ${completed} completions for ${jobs} jobs`);
    const workerCpu = stopped.reduce((n, s) => n + s.cpuUs, 0);
    const redis = costBetween(before, after, jobs);
    return {
      jobsPerSec: jobs / ((last - t0) / 1000),
      bytesPerCompletedJob: (after.usedMemory - before.usedMemory) / jobs,
      workerCpuUsPerJob: workerCpu / jobs,
      publisherCpuUsPerJob: publisherCpu / jobs,
      workerCommandsPerJob: stopped.reduce((n, s) => n + s.sent.commands, 0) / jobs,
      workerWritesPerJob: stopped.reduce((n, s) => n + s.sent.writes, 0) / jobs,
      eventAppendsPerJob: (redis.commands.xadd?.callsPerJob ?? 0) - dispatchXadds(system),
      redis,
    };
  } finally {
    if (stopped.length === 0) await Promise.allSettled(agents.map((agent) => agent.stop()));
    await producer.close();
  }
}

/** Result of {@link measureLatency}. */
export interface LatencyResult {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Publish rate actually achieved, jobs/s. */
  achievedRate: number;
  /** Largest delay of a publish call behind its schedule, ms (the publisher keeping up). */
  maxScheduleLagMs: number;
}

/**
 * Publishes single jobs at a fixed rate (open loop: each on its schedule, not after the
 * previous one returned) to one worker process, and measures publish call → completion
 * acknowledged by Redis, per job.
 */
export async function measureLatency(env: Env, system: SystemName, rate: number, seconds: number): Promise<LatencyResult> {
  await reset(env, system);
  const queue = queueName('latency', system);
  const agent = env.agents[0];
  if (!agent) throw new Error('no agent');
  const producer = createProducer(system, target(env, system, queue));
  let stopped: Stopped | undefined;
  try {
    await producer.ready();
    await agent.start({ system, redisUrl: env.redisUrl, queue, concurrency: CONCURRENCY, record: true });
    const total = Math.round(rate * seconds);
    const sentAt = new Map<string, number>();
    const publishes: Promise<void>[] = [];
    const interval = 1000 / rate;
    let maxLag = 0;
    const t0 = now();
    for (let i = 0; i < total; ) {
      const due = t0 + i * interval;
      const t = now();
      if (t >= due) {
        maxLag = Math.max(maxLag, t - due);
        publishes.push(producer.publishOne().then((id) => void sentAt.set(id, t)));
        i++;
      } else {
        await sleep(Math.min(1, due - t));
      }
    }
    const achievedRate = total / ((now() - t0) / 1000);
    await Promise.all(publishes);
    await waitForCompletions([agent], total);
    stopped = await agent.stop();
    const latencies: number[] = [];
    for (const [id, completedAt] of stopped.completions ?? []) {
      const start = sentAt.get(id);
      if (start === undefined) throw new Error(`${system}: completion of unknown job ${id}`);
      latencies.push(completedAt - start);
    }
    if (latencies.length !== total) throw new Error(`${system}: ${latencies.length} completions for ${total} jobs`);
    latencies.sort((a, b) => a - b);
    return {
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1] as number,
      achievedRate,
      maxScheduleLagMs: maxLag,
    };
  } finally {
    if (!stopped) await agent.stop().catch(() => undefined);
    await producer.close();
  }
}
