/**
 * Dashboard proof: a real Prometheus (Debian's package, installed when missing) scrapes a Sluice
 * metrics endpoint every second while a producer and two workers put a queue under load
 * (completions, retries, dead letters, a lease timeout, a cancellation, a manual retry). Every
 * PromQL expression of every dashboard panel, with its Grafana variables filled in, must return
 * data through /api/v1/query. The alert rules and the example configuration pass promtool.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { Worker } from '../../src/consumers/worker.js';
import { claimAttempts } from '../../src/events/commands/index.js';
import { toQueueName } from '../../src/core/keys.js';
import { SluiceMetrics, startMetricsServer, type MetricsServer } from '../../src/metrics/index.js';
import { Queue } from '../../src/queue/queue.js';
import { sleep } from '../../src/services/process.js';
import { dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';
import {
  dashboardQueries,
  ensurePrometheus,
  PrometheusServer,
  substituteVariables,
  type PanelQuery,
  type PrometheusBinaries,
} from '../helpers/prometheus.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const grafana = join(root, 'grafana');
const rulesFile = join(grafana, 'alerts', 'sluice-rules.yml');

let binaries: PrometheusBinaries;
let prometheus: PrometheusServer | undefined;
let server: MetricsServer | undefined;
let redis: Redis;
let queue: Queue;
let name: string;
const workers: Worker[] = [];
let stopLoad: (() => Promise<void>) | undefined;

/** A producer publishing a mix of jobs every 50 ms until stopped. */
function startProducer(): () => Promise<void> {
  let stopped = false;
  let tick = 0;
  const loop = (async () => {
    while (!stopped) {
      tick++;
      const priority = tick % 5;
      await queue.publishMany([
        { name: 'ok', opts: { priority } },
        { name: 'ok', opts: { priority: (priority + 2) % 5 } },
        {
          name: tick % 2 === 0 ? 'flaky' : 'doomed',
          opts: { attempts: 2, backoff: { type: 'fixed', delayMs: 100 } },
        },
      ]);
      if (tick % 20 === 0) {
        // Manual retries of dead-lettered jobs.
        for (const job of (await queue.list('dead', { limit: 3 })).jobs) await queue.retry(job.id).catch(() => undefined);
      }
      await sleep(50);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

beforeAll(async () => {
  binaries = ensurePrometheus();
  redis = testRedis();
  name = testQueueName();
  queue = new Queue(name, { connection: redis });
  const registry = new Registry();
  const metrics = new SluiceMetrics({ registry });
  metrics.observeQueues({ redis, queues: [name], maxAgeMs: 500 });
  server = await startMetricsServer({ port: 0, registry });

  // A job claimed by a worker that never comes back: its lease expires and a reaper takes it back.
  await queue.publish('ghosted', undefined, { priority: 4 });
  await claimAttempts(redis, toQueueName(name), Date.now(), { id: 'ghost', host: 'test', pid: 0 }, 1);
  // A delayed job, cancelled.
  const { id: later } = await queue.publish('later', undefined, { delayMs: 600_000 });
  await queue.cancel(later, 'not needed');

  for (let i = 0; i < 2; i++) {
    workers.push(
      new Worker(
        name,
        async (job) => {
          await sleep(5 + Math.floor(Math.random() * 20));
          if (job.name === 'doomed' || (job.name === 'flaky' && job.attempt === 1)) throw new Error(`${job.name} fails`);
          return undefined;
        },
        { connection: redis, metrics, concurrency: 5, leaseMs: 1000, blockMs: 200, promoteIntervalMs: 50 },
      ),
    );
  }
  stopLoad = startProducer();
  prometheus = await PrometheusServer.start({
    binary: binaries.prometheus,
    targets: [`127.0.0.1:${server.port}`],
    ruleFiles: [rulesFile],
    scrapeIntervalSeconds: 1,
  });
}, 180_000);

afterAll(async () => {
  await stopLoad?.();
  await Promise.all(workers.map((w) => w.close(1000)));
  await prometheus?.stop();
  await server?.close();
  await queue?.close();
  if (redis) {
    await dropQueue(redis, name);
    await redis.quit();
  }
});

function panelQueries(): PanelQuery[] {
  const dir = join(grafana, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => dashboardQueries(JSON.parse(readFileSync(join(dir, f), 'utf8')) as { title?: unknown; panels?: unknown }));
}

describe('dashboards on a real Prometheus', () => {
  it('every panel query returns data from Prometheus scraping Sluice under load', async () => {
    const live = prometheus as PrometheusServer;
    const values = { queue: name, __rate_interval: '10s', __interval: '5s', __range: '1m' };
    const queries = panelQueries().map((q) => ({ ...q, promql: substituteVariables(q.expr, values) }));
    expect(queries.length).toBeGreaterThan(50);

    // Wait until every series has been scraped often enough for each expression to have data.
    const empty = new Map<string, string>();
    await waitFor(
      async () => {
        empty.clear();
        for (const q of queries) {
          const result = await live.query(q.promql);
          if (result.result.length === 0) empty.set(`${q.dashboard} / ${q.panel} / ${q.refId}`, q.promql);
        }
        return empty.size === 0;
      },
      90_000,
      'every panel query to return data',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; still empty:\n${[...empty].map(([k, v]) => `${k}: ${v}`).join('\n')}`);
    });

    // Spot checks that the data is the load's, not zeros from an idle queue.
    const scalar = async (promql: string): Promise<number> => {
      const { result } = await live.query(promql);
      return Number((result[0] as { value: [number, string] }).value[1]);
    };
    await waitFor(async () => (await scalar(`max(sluice_jobs_timed_out_total{queue="${name}"})`)) >= 1, 30_000, 'the ghost timeout');
    expect(await scalar(`max(sluice_jobs_completed_total{queue="${name}"})`)).toBeGreaterThan(0);
    expect(await scalar(`max(sluice_jobs_dead_lettered_total{queue="${name}"})`)).toBeGreaterThan(0);
    expect(await scalar(`max(sluice_jobs_cancelled_total{queue="${name}"})`)).toBe(1);
    expect(await scalar(`sum(sluice_job_run_duration_seconds_count{queue="${name}", outcome="retried"})`)).toBeGreaterThan(0);

    // The dashboards' queue variable (label_values(sluice_queue_jobs, queue)) offers the queue.
    const labelValues = await live.api<string[]>('label/queue/values', { 'match[]': 'sluice_queue_jobs' });
    expect(labelValues).toContain(name);
  });

  it('loads the alert rules, and each rule expression evaluates', async () => {
    const live = prometheus as PrometheusServer;
    const { groups } = await live.api<{ groups: { name: string; rules: { name: string; query: string; type: string }[] }[] }>('rules');
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(rules.every((r) => r.type === 'alerting' && r.name.startsWith('Sluice'))).toBe(true);
    for (const rule of rules) await expect(live.query(rule.query), rule.name).resolves.toBeDefined();
  });

  it('passes promtool: rules check, rules unit tests and the example configuration', () => {
    const promtool = (...args: string[]): string => execFileSync(binaries.promtool, args, { cwd: grafana, encoding: 'utf8' });
    expect(promtool('check', 'rules', rulesFile)).toMatch(/SUCCESS: \d+ rules found/);
    expect(promtool('test', 'rules', join(grafana, 'alerts', 'sluice-rules.test.yml'))).toMatch(/SUCCESS/);
    expect(promtool('check', 'config', join(grafana, 'prometheus.yml'))).toMatch(/is valid prometheus config file syntax/);
  });
});
