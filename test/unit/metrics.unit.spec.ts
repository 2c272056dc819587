import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { EVENT_TYPES } from '../../src/events/types.js';
import { JOB_STATES, toQueueName } from '../../src/core/keys.js';
import {
  ATTEMPT_OUTCOMES,
  formatTraceparent,
  LABEL,
  METRIC,
  METRICS,
  NAMESPACE,
  observe,
  parseTraceparent,
  SluiceMetrics,
  MESSAGING_METRIC,
  errorType,
  partitionAttributes,
  redisServerAttributes,
  type CollectionSnapshot,
  type MetricKey,
} from '../../src/metrics/index.js';
import { ValidationError } from '../../src/core/errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** OpenTelemetry's metric name → Prometheus name conversion (the parts the catalog uses). */
function otelToPrometheus(name: string, unit: string, kind: string): string {
  const units: Record<string, string> = { s: 'seconds', By: 'bytes', ms: 'milliseconds' };
  let out = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  const suffix = unit.startsWith('{') ? '' : (units[unit] ?? unit);
  if (suffix && !out.endsWith(`_${suffix}`)) out += `_${suffix}`;
  if (kind === 'counter') out += '_total';
  return out;
}

describe('metric names', () => {
  it('are all under the namespace, unique, and follow Prometheus conventions', () => {
    const names = METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(METRICS.map((m) => m.key))).toEqual(new Set(Object.keys(METRIC)));
    for (const m of METRICS) {
      expect(m.name).toMatch(new RegExp(`^${NAMESPACE}_[a-z][a-z0-9_]*$`));
      expect(m.otelName.startsWith(`${NAMESPACE}.`)).toBe(true);
      // _total only on counters, and every counter has it.
      expect([m.name, m.name.endsWith('_total')]).toEqual([m.name, m.kind === 'counter']);
      // Durations in base units.
      if (m.kind === 'histogram') expect(m.name).toMatch(/_seconds$/);
      if (m.unit === 's') expect(m.name).toMatch(/_seconds$/);
      for (const label of m.labels) expect(label).toMatch(/^[a-z][a-z0-9_]*$/);
    }
  });

  it('OpenTelemetry names convert to exactly the Prometheus names', () => {
    for (const m of METRICS) expect([m.key, otelToPrometheus(m.otelName, m.unit, m.kind)]).toEqual([m.key, m.name]);
    const { sent, consumed, processDuration } = MESSAGING_METRIC;
    expect(otelToPrometheus(sent.name, sent.unit, 'counter')).toBe(sent.prometheus);
    expect(otelToPrometheus(consumed.name, consumed.unit, 'counter')).toBe(consumed.prometheus);
    expect(otelToPrometheus(processDuration.name, processDuration.unit, 'histogram')).toBe(processDuration.prometheus);
  });

  it('span and metric attributes: error.type, the Redis server, the partition', () => {
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType(new ValidationError('f', 'bad'))).toBe('SLUICE_ERR_VALIDATION');
    expect(errorType('a string')).toBe('_OTHER');
    expect(partitionAttributes('orders#3')).toEqual({ 'messaging.destination.partition.id': '3' });
    expect(partitionAttributes('orders')).toEqual({});
    expect(redisServerAttributes({ isCluster: false, options: { host: '10.0.0.5', port: 6380 } })).toEqual({ 'server.address': '10.0.0.5', 'server.port': 6380 });
    expect(redisServerAttributes({ isCluster: false, options: { path: '/run/redis.sock' } })).toEqual({ 'server.address': '/run/redis.sock' });
    expect(redisServerAttributes({ isCluster: true, options: {} })).toEqual({});
  });

  it('job_name only with an allow-list, and only its names', async () => {
    const plain = new Registry();
    new SluiceMetrics({ registry: plain }).recordRun('q', 'completed', 0.1, 'email');
    expect(await plain.getSingleMetricAsString(METRIC.jobRunDuration)).not.toContain('job_name');
    const listed = new Registry();
    const metrics = new SluiceMetrics({ registry: listed, jobNames: ['email'] });
    metrics.recordRun('q', 'completed', 0.1, 'email');
    metrics.recordRun('q', 'completed', 0.1, `user-${Math.random()}`);
    metrics.recordWait('q', 0.1, undefined);
    const text = await listed.getMetricsAsJSON();
    const names = new Set(text.flatMap((m) => (m as { values: { labels: Record<string, unknown> }[] }).values.map((v) => v.labels.job_name)).filter((n) => n !== undefined));
    expect(names).toEqual(new Set(['email', '_other']));
    expect(() => new SluiceMetrics({ registry: new Registry(), jobNames: 'email' as unknown as string[] })).toThrow(/jobNames/);
  });

  it('every catalog metric is registered with its kind, help and labels', async () => {
    const registry = new Registry();
    new SluiceMetrics({ registry });
    const registered = await registry.getMetricsAsJSON();
    // Sluice's catalog, then the three OpenTelemetry messaging convention metrics.
    expect(registered.map((r) => r.name)).toEqual([...METRICS.map((m) => m.name), ...Object.values(MESSAGING_METRIC).map((m) => m.prometheus)]);
    for (const m of METRICS) {
      const metric = registry.getSingleMetric(m.name);
      expect(metric).toBeDefined();
      const json = registered.find((r) => r.name === m.name);
      expect(json?.type).toBe(m.kind);
      expect(json?.help).toBe(m.help);
    }
  });

  it('docs/METRICS.md documents every metric', () => {
    const doc = readFileSync(join(root, 'docs', 'METRICS.md'), 'utf8');
    for (const m of METRICS) expect([m.name, doc.includes(`\`${m.name}\``)]).toEqual([m.name, true]);
    for (const outcome of ATTEMPT_OUTCOMES) expect(doc).toContain(`\`${outcome}\``);
  });

  it('grafana/ uses only catalog names', () => {
    const known = new Set<string>();
    for (const m of METRICS) {
      known.add(m.name);
      if (m.kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) known.add(`${m.name}${s}`);
    }
    const files = [
      ...readdirSync(join(root, 'grafana', 'dashboards')).map((f) => join(root, 'grafana', 'dashboards', f)),
      ...readdirSync(join(root, 'grafana', 'alerts')).map((f) => join(root, 'grafana', 'alerts', f)),
    ];
    let used = 0;
    for (const file of files) {
      for (const [name] of readFileSync(file, 'utf8').matchAll(new RegExp(`\\b${NAMESPACE}_[a-z0-9_]+`, 'g'))) {
        used++;
        expect([file, name, known.has(name)]).toEqual([file, name, true]);
      }
    }
    expect(used).toBeGreaterThan(50);
  });
});

describe('observe', () => {
  const queue = toQueueName('mail');
  const snapshot: CollectionSnapshot = {
    at: 0,
    omitted: 2,
    durationSeconds: 0.004,
    queues: [
      {
        queue,
        paused: true,
        states: Object.fromEntries(JOB_STATES.map((s, i) => [s, i])) as CollectionSnapshot['queues'][number]['states'],
        events: Object.fromEntries(EVENT_TYPES.map((t, i) => [t, 10 * i])) as CollectionSnapshot['queues'][number]['events'],
        lanes: [0, 1, 2, 3, 4].map((lane) => ({ lane, lag: lane * 2, pending: lane })),
        eventLogEntries: 40,
        eventsAdded: 100,
        archivedEvents: 30,
        workersLive: 3,
        oldestWaitingAgeSeconds: 12.5,
      },
    ],
  };
  const state = { snapshot, errors: 7 };
  const one = (key: MetricKey): { labels: Readonly<Record<string, string>>; value: number }[] => {
    const metric = METRICS.find((m) => m.key === key);
    if (!metric) throw new Error(key);
    return observe(metric, state);
  };

  it('maps each counter to its event type total', () => {
    const created = EVENT_TYPES.indexOf('created') * 10;
    expect(one('jobsPublished')).toEqual([{ labels: { queue: 'mail' }, value: created }]);
    expect(one('jobsTimedOut')).toEqual([{ labels: { queue: 'mail' }, value: EVENT_TYPES.indexOf('timed-out') * 10 }]);
    expect(one('eventsAppended')).toHaveLength(EVENT_TYPES.length);
  });

  it('reports per-state depth, per-lane lag and pending, archive lag and self metrics', () => {
    expect(one('queueJobs')).toContainEqual({ labels: { queue: 'mail', state: 'active' }, value: JOB_STATES.indexOf('active') });
    expect(one('laneLag')).toContainEqual({ labels: { queue: 'mail', lane: '3' }, value: 6 });
    expect(one('lanePending')).toContainEqual({ labels: { queue: 'mail', lane: '3' }, value: 3 });
    expect(one('archiveLag')).toEqual([{ labels: { queue: 'mail' }, value: 70 }]);
    expect(one('queuePaused')).toEqual([{ labels: { queue: 'mail' }, value: 1 }]);
    expect(one('workersLive')).toEqual([{ labels: { queue: 'mail' }, value: 3 }]);
    expect(one('queueOldestWaitingAge')).toEqual([{ labels: { queue: 'mail' }, value: 12.5 }]);
    expect(one('collectErrors')).toEqual([{ labels: {}, value: 7 }]);
    expect(one('queuesOmitted')).toEqual([{ labels: {}, value: 2 }]);
    expect(one('jobWaitDuration')).toEqual([]);
  });

  it('uses only the label names the catalog declares', () => {
    for (const m of METRICS) {
      for (const o of observe(m, state)) expect([m.name, Object.keys(o.labels).sort()]).toEqual([m.name, [...m.labels].sort()]);
    }
    expect(Object.values(LABEL)).toContain('queue');
  });
});

describe('traceparent', () => {
  it('round-trips a span context', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const spanContext = parseTraceparent(traceparent);
    expect(spanContext).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
    expect(formatTraceparent(spanContext as NonNullable<typeof spanContext>)).toBe(traceparent);
    expect(formatTraceparent({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0 })).toBe(
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    );
  });

  it('rejects malformed and all-zero contexts', () => {
    for (const bad of [
      undefined,
      '',
      '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    expect(formatTraceparent({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 })).toBeUndefined();
  });
});
