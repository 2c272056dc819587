import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { MeterProvider, MetricReader, DataPointType } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { Worker } from '../../src/consumers/worker.js';
import { claimAttempts } from '../../src/events/commands/index.js';
import { EVENT_TYPES } from '../../src/events/types.js';
import { JOB_STATES, toQueueName } from '../../src/core/keys.js';
import { METRIC, METRICS, SluiceMetrics, startMetricsServer } from '../../src/metrics/index.js';
import { Queue } from '../../src/queue/queue.js';
import { freePort } from '../../src/services/process.js';
import { allEvents, dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';
import { parseExposition, type ExpositionSample } from '../helpers/prometheus.js';

/** A metric reader the test pulls from (the SDK's own pull API). */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let redis: Redis;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  redis = testRedis();
});

afterAll(async () => {
  await redis.quit();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(): { name: string; queue: Queue; metrics: SluiceMetrics; reader: PullReader; registry: Registry } {
  const name = testQueueName();
  const queue = new Queue(name, { connection: redis });
  const registry = new Registry();
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  const metrics = new SluiceMetrics({ registry, meter: provider.getMeter('sluice') });
  cleanups.push(async () => {
    await provider.shutdown();
    await queue.close();
    await dropQueue(redis, name);
  });
  return { name, queue, metrics, reader, registry };
}

async function scrape(registry: Registry): Promise<ExpositionSample[]> {
  return parseExposition(await registry.metrics()).samples;
}

function value(samples: ExpositionSample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

describe('queue metrics move as jobs flow', () => {
  it('counters, depth, lag, pending, workers, event log and histograms follow publish, claim, timeout, retry, cancel and completion', async () => {
    const { name, queue, metrics, registry } = setup();
    metrics.observeQueues({ redis, queues: [name], maxAgeMs: 0 });
    const q = { queue: name };
    const at = async (metric: string, labels: Record<string, string> = {}): Promise<number | undefined> =>
      value(await scrape(registry), metric, { ...q, ...labels });

    // Nothing published yet: the queue reports zeros, not missing series.
    expect(await at(METRIC.jobsPublished)).toBe(0);
    expect(await at(METRIC.queueJobs, { state: 'waiting' })).toBe(0);

    const { id: a } = await queue.publish('ok', undefined, { jobId: 'a' });
    const { id: b } = await queue.publish('bad', undefined, { jobId: 'b', attempts: 2, backoff: { type: 'fixed', delayMs: 50 } });
    const { id: c } = await queue.publish('later', undefined, { jobId: 'c', delayMs: 60_000 });
    const { id: d } = await queue.publish('ok', undefined, { jobId: 'd', priority: 4 });

    let s = await scrape(registry);
    expect(value(s, METRIC.jobsPublished, q)).toBe(4);
    expect(value(s, METRIC.eventsAppended, { ...q, type: 'created' })).toBe(4);
    expect(value(s, METRIC.eventsAppended, { ...q, type: 'scheduled' })).toBe(1);
    expect(value(s, METRIC.queueJobs, { ...q, state: 'waiting' })).toBe(3);
    expect(value(s, METRIC.queueJobs, { ...q, state: 'delayed' })).toBe(1);
    expect(value(s, METRIC.laneLag, { ...q, lane: '2' })).toBe(2);
    expect(value(s, METRIC.laneLag, { ...q, lane: '4' })).toBe(1);
    expect(value(s, METRIC.eventLogEntries, q)).toBe(5);
    expect(value(s, METRIC.archiveLag, q)).toBe(5);
    expect(value(s, METRIC.workersLive, q)).toBe(0);
    expect(value(s, METRIC.queuePaused, q)).toBe(0);

    // A "ghost" worker claims d (lane 4 first) and never comes back: its lease will expire.
    const claimed = await claimAttempts(redis, toQueueName(name), Date.now(), { id: 'ghost', host: 'test', pid: 0 }, 1);
    expect(claimed.kind === 'jobs' ? claimed.jobs.map((job) => job.id) : claimed).toEqual([d]);
    s = await scrape(registry);
    expect(value(s, METRIC.lanePending, { ...q, lane: '4' })).toBe(1);
    expect(value(s, METRIC.laneLag, { ...q, lane: '4' })).toBe(0);
    expect(value(s, METRIC.queueJobs, { ...q, state: 'active' })).toBe(1);
    expect(value(s, METRIC.workersLive, q)).toBe(1);

    await queue.pause();
    expect(await at(METRIC.queuePaused)).toBe(1);
    await queue.resume();
    expect(await at(METRIC.queuePaused)).toBe(0);

    const worker = new Worker(
      name,
      (job) => {
        if (job.name === 'bad') throw new Error('always fails');
        return { ok: true };
      },
      { connection: redis, metrics, leaseMs: 400, reapIntervalMs: 200, blockMs: 100, promoteIntervalMs: 50 },
    );
    cleanups.push(() => worker.close(500));
    await waitFor(async () => {
      const [ja, jb, jd] = await Promise.all([queue.get(a), queue.get(b), queue.get(d)]);
      return ja?.state === 'completed' && jb?.state === 'dead' && jd?.state === 'completed';
    }, 20_000, 'a and d completed, b dead');
    await queue.cancel(c);
    await queue.retry(b);
    await waitFor(async () => (await allEvents(redis, name)).filter((e) => e.type === 'dead-lettered').length === 2, 20_000, 'b dead again');
    await worker.close(500);

    s = await scrape(registry);
    expect(value(s, METRIC.jobsPublished, q)).toBe(4);
    expect(value(s, METRIC.jobsCompleted, q)).toBe(2);
    expect(value(s, METRIC.jobsFailed, q)).toBe(4);
    expect(value(s, METRIC.jobsRetried, q)).toBe(1);
    expect(value(s, METRIC.jobsTimedOut, q)).toBe(1);
    expect(value(s, METRIC.jobsDeadLettered, q)).toBe(2);
    expect(value(s, METRIC.jobsCancelled, q)).toBe(1);
    // Events appended per type agree with the event log itself.
    const events = await allEvents(redis, name);
    for (const type of EVENT_TYPES) {
      expect([type, value(s, METRIC.eventsAppended, { ...q, type })]).toEqual([type, events.filter((e) => e.type === type).length]);
    }
    const states: Record<string, number> = { completed: 2, dead: 1, cancelled: 1 };
    for (const state of JOB_STATES) expect([state, value(s, METRIC.queueJobs, { ...q, state })]).toEqual([state, states[state] ?? 0]);
    for (let lane = 0; lane < 5; lane++) {
      expect(value(s, METRIC.laneLag, { ...q, lane: String(lane) })).toBe(0);
      expect(value(s, METRIC.lanePending, { ...q, lane: String(lane) })).toBe(0);
    }
    expect(value(s, METRIC.eventLogEntries, q)).toBe(events.length);
    expect(value(s, METRIC.archiveLag, q)).toBe(events.length);
    expect(value(s, METRIC.workersLive, q)).toBe(2);
    // Wait time: first attempts the worker ran (a, b, b again after the manual retry; d's was the ghost's).
    expect(value(s, `${METRIC.jobWaitDuration}_count`, q)).toBe(3);
    expect(value(s, `${METRIC.jobRunDuration}_count`, { ...q, outcome: 'completed' })).toBe(2);
    expect(value(s, `${METRIC.jobRunDuration}_count`, { ...q, outcome: 'retried' })).toBe(2);
    expect(value(s, `${METRIC.jobRunDuration}_count`, { ...q, outcome: 'dead_lettered' })).toBe(2);
    expect(value(s, `${METRIC.jobWaitDuration}_bucket`, { ...q, le: '+Inf' })).toBe(3);
  });

  it('reports the age of the oldest waiting job, 0 once none waits', async () => {
    const { name, queue, metrics, registry } = setup();
    metrics.observeQueues({ redis, queues: [name], maxAgeMs: 0 });
    const age = async (): Promise<number | undefined> => value(await scrape(registry), METRIC.queueOldestWaitingAge, { queue: name });
    expect(await age()).toBe(0);
    await queue.publish('first', undefined, { jobId: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await queue.publish('second', undefined, { jobId: 'second', priority: 4 });
    // The first job has waited at least the 1.5 s slept (a lower bound only: the machine may be slow).
    const waited = (await age()) as number;
    expect(waited).toBeGreaterThanOrEqual(1.4);
    expect(waited).toBeLessThan(600);
    const worker = new Worker(name, () => 'done', { connection: redis, metrics, blockMs: 100 });
    cleanups.push(() => worker.close(500));
    await waitFor(async () => (await queue.stats()).counts.completed === 2, 20_000, 'both jobs completed');
    expect(await age()).toBe(0);
  });

  it('reports the same figures through prom-client and OpenTelemetry', async () => {
    const { name, queue, metrics, reader, registry } = setup();
    // One collection serves both exports, so even the collection duration must agree.
    metrics.observeQueues({ redis, queues: [name], maxAgeMs: 60_000 });
    await queue.publishMany([{ name: 'x' }, { name: 'x', opts: { priority: 0 } }, { name: 'x', opts: { delayMs: 60_000 } }]);
    metrics.recordWait(name, 0.2);
    metrics.recordRun(name, 'completed', 0.05);
    metrics.recordRun(name, 'retried', 1.5);

    const promSamples = await scrape(registry);
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const otel = new Map(resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).map((m) => [m.descriptor.name, m]));
    const key = (labels: Record<string, unknown>): string => JSON.stringify(Object.entries(labels).sort(([x], [y]) => x.localeCompare(y)));
    for (const metric of METRICS) {
      const data = otel.get(metric.otelName);
      expect(data, metric.otelName).toBeDefined();
      if (!data) continue;
      const fromOtel = new Map<string, number>();
      if (data.dataPointType === DataPointType.HISTOGRAM) {
        for (const p of data.dataPoints) fromOtel.set(key(p.attributes), p.value.count);
      } else {
        for (const p of data.dataPoints) fromOtel.set(key(p.attributes), p.value as number);
      }
      const promName = metric.kind === 'histogram' ? `${metric.name}_count` : metric.name;
      const fromProm = new Map(promSamples.filter((x) => x.name === promName).map((x) => [key(x.labels), x.value]));
      expect([metric.name, fromOtel]).toEqual([metric.name, fromProm]);
      expect(data.descriptor.unit).toBe(metric.unit);
    }
    expect(value(promSamples, METRIC.queueJobs, { queue: name, state: 'waiting' })).toBe(2);
  });
});

describe('messaging convention metrics and the job_name allow-list', () => {
  it('counts sent and consumed messages and times processing, with error.type, the Redis server and bounded job names', async () => {
    const name = testQueueName();
    const registry = new Registry();
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = new SluiceMetrics({ registry, meter: provider.getMeter('sluice'), jobNames: ['email'] });
    const queue = new Queue(name, { connection: redis, metrics });
    const worker = new Worker(
      name,
      (job) => {
        if (job.name === 'sms') throw new TypeError('no phone number');
        return 'sent';
      },
      { connection: redis, metrics, blockMs: 100 },
    );
    cleanups.push(async () => {
      await worker.close(500);
      await provider.shutdown();
      await queue.close();
      await dropQueue(redis, name);
    });
    await queue.publishMany([{ name: 'email' }, { name: 'email' }, { name: 'sms', opts: { attempts: 1 } }]);
    // A refused publish is counted with its error type.
    await expect(queue.publish('email', undefined, { attempts: -1 })).rejects.toThrow(/attempts/);
    await waitFor(async () => {
      const { counts } = await queue.stats();
      return counts.completed === 2 && counts.dead === 1;
    }, 20_000, 'two completed, one dead');

    const s = await scrape(registry);
    const server = new URL(inject('redisUrl'));
    const dest = { messaging_system: 'sluice', messaging_destination_name: name, server_address: server.hostname, server_port: server.port };
    const samples = (metric: string, labels: Record<string, string>): ExpositionSample[] =>
      s.filter((x) => x.name === metric && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    const ok = (list: ExpositionSample[]): ExpositionSample[] => list.filter((x) => x.labels.error_type === undefined);
    expect(ok(samples('messaging_client_sent_messages_total', { ...dest, messaging_operation_name: 'publish' })).map((x) => x.value)).toEqual([3]);
    expect(value(s, 'messaging_client_sent_messages_total', { ...dest, error_type: 'SLUICE_ERR_VALIDATION' })).toBe(1);
    expect(value(s, 'messaging_client_consumed_messages_total', { ...dest, messaging_operation_name: 'process', messaging_consumer_group_name: 'workers' })).toBe(3);
    expect(ok(samples('messaging_process_duration_seconds_count', dest)).map((x) => x.value)).toEqual([2]);
    expect(value(s, 'messaging_process_duration_seconds_count', { ...dest, error_type: 'TypeError' })).toBe(1);
    // job_name: listed names as themselves, the rest as _other.
    expect(value(s, `${METRIC.jobRunDuration}_count`, { queue: name, outcome: 'completed', job_name: 'email' })).toBe(2);
    expect(value(s, `${METRIC.jobRunDuration}_count`, { queue: name, outcome: 'dead_lettered', job_name: '_other' })).toBe(1);
    expect(value(s, `${METRIC.jobWaitDuration}_count`, { queue: name, job_name: '_other' })).toBe(1);
    expect(s.some((x) => x.labels.job_name === 'sms')).toBe(false);

    // The same on the OpenTelemetry side, under the conventions' names and dotted attributes.
    const { resourceMetrics } = await reader.collect();
    const otel = new Map(resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics).map((m) => [m.descriptor.name, m]));
    const sent = otel.get('messaging.client.sent.messages');
    const total = (sent?.dataPoints ?? []).reduce((sum, p) => sum + (p.value as number), 0);
    expect(total).toBe(4);
    expect(sent?.dataPoints.some((p) => p.attributes['messaging.destination.name'] === name && p.attributes['server.port'] === Number(server.port))).toBe(true);
    expect(otel.get('messaging.client.consumed.messages')?.descriptor.unit).toBe('{message}');
    expect(otel.get('messaging.process.duration')?.descriptor.unit).toBe('s');
  });
});

describe('scrape-time collection', () => {
  it('uses one pipeline per queue, shares one collection between concurrent scrapes and bounds the queues', async () => {
    const names = [testQueueName(), testQueueName(), testQueueName()].sort();
    const queues = names.map((n) => new Queue(n, { connection: redis }));
    const collectorRedis = testRedis();
    cleanups.push(async () => {
      await collectorRedis.quit();
      for (const [i, q] of queues.entries()) {
        await q.close();
        await dropQueue(redis, names[i] as string);
      }
    });
    for (const q of queues) await q.publish('x');
    const registry = new Registry();
    const metrics = new SluiceMetrics({ registry });
    metrics.observeQueues({ redis: collectorRedis, queues: names, maxQueues: 2, maxAgeMs: 0 });
    const pipelines = vi.spyOn(collectorRedis, 'pipeline');

    const scrapes = await Promise.all([scrape(registry), scrape(registry), scrape(registry)]);
    expect(pipelines).toHaveBeenCalledTimes(2);
    for (const s of scrapes) {
      expect(new Set(s.filter((x) => x.name === METRIC.jobsPublished).map((x) => x.labels.queue))).toEqual(new Set(names.slice(0, 2)));
      expect(value(s, METRIC.queuesOmitted, {})).toBe(1);
      expect(value(s, METRIC.collectErrors, {})).toBe(0);
      expect(value(s, METRIC.collectDuration, {})).toBeGreaterThan(0);
    }
    await scrape(registry);
    expect(pipelines).toHaveBeenCalledTimes(4);

    // A collection younger than maxAgeMs is reused.
    metrics.observeQueues({ redis: collectorRedis, queues: names, maxQueues: 2, maxAgeMs: 60_000 });
    await scrape(registry);
    await scrape(registry);
    expect(pipelines).toHaveBeenCalledTimes(6);
  });

  it('discovers published queues when none are listed', async () => {
    const name = testQueueName();
    const queue = new Queue(name, { connection: redis });
    cleanups.push(async () => {
      await queue.close();
      await dropQueue(redis, name);
    });
    await queue.publish('x');
    const registry = new Registry();
    new SluiceMetrics({ registry }).observeQueues({ redis, maxQueues: 100_000 });
    expect(value(await scrape(registry), METRIC.jobsPublished, { queue: name })).toBe(1);
  });

  it('keeps serving when Redis is unreachable and counts the failed queue collections', async () => {
    const dead = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    dead.on('error', () => undefined);
    cleanups.push(() => {
      dead.disconnect();
      return Promise.resolve();
    });
    const registry = new Registry();
    const metrics = new SluiceMetrics({ registry });
    metrics.observeQueues({ redis: dead, queues: ['a', 'b'], maxAgeMs: 0 });
    metrics.recordRun('a', 'completed', 0.1);
    const s = await scrape(registry);
    expect(value(s, METRIC.collectErrors, {})).toBe(2);
    expect(s.filter((x) => x.name === METRIC.queueJobs)).toEqual([]);
    expect(value(s, `${METRIC.jobRunDuration}_count`, { queue: 'a', outcome: 'completed' })).toBe(1);
  });
});

describe('metrics server', () => {
  it('serves the registry at /metrics in the text exposition format', async () => {
    const { name, queue, metrics, registry } = setup();
    metrics.observeQueues({ redis, queues: [name] });
    await queue.publish('x');
    const server = await startMetricsServer({ port: 0, registry });
    cleanups.push(() => server.close());
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(registry.contentType);
    const { samples, types } = parseExposition(await response.text());
    expect(value(samples, METRIC.jobsPublished, { queue: name })).toBe(1);
    for (const metric of METRICS) expect([metric.name, types.get(metric.name)]).toEqual([metric.name, metric.kind]);
    expect((await fetch(new URL('/other', server.url))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });
});
