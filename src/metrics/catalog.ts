/**
 * The one definition of every Sluice metric: kind, help text, labels and where the value comes
 * from. The prom-client registry ({@link ./prometheus.ts}) and the OpenTelemetry instruments
 * ({@link ./otel.ts}) are both built from this table, so the two exports cannot drift apart.
 *
 * Two sources:
 * - `redis`: queue-wide figures read from Redis when scraped (counts hash, lanes' consumer
 *   group, event log, workers set). Every process that collects them reports the same value,
 *   so dashboards aggregate them with `max by (queue)`, never `sum`.
 * - `process`: recorded in-process by the workers (histograms) or by the collector itself;
 *   summed across processes.
 *
 * @packageDocumentation
 */
import type { EventType } from '../events/types.js';
import { LABEL, METRIC, OTEL_METRIC, type LabelName, type MetricKey } from './names.js';

/** The kind of a metric. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** One metric definition. */
export interface MetricDefinition {
  readonly key: MetricKey;
  /** Prometheus name. */
  readonly name: string;
  /** OpenTelemetry instrument name. */
  readonly otelName: string;
  /** OpenTelemetry unit (UCUM). */
  readonly unit: string;
  readonly kind: MetricKind;
  readonly help: string;
  readonly labels: readonly LabelName[];
  readonly source: 'redis' | 'process';
  /** For counters read from the counts hash: the event type whose `events:<type>` total they report. */
  readonly eventType?: EventType;
}

function def(
  key: MetricKey,
  kind: MetricKind,
  source: MetricDefinition['source'],
  labels: readonly LabelName[],
  help: string,
  eventType?: EventType,
): MetricDefinition {
  const base = { key, name: METRIC[key], otelName: OTEL_METRIC[key].name, unit: OTEL_METRIC[key].unit, kind, help, labels, source };
  return eventType === undefined ? base : { ...base, eventType };
}

const Q = [LABEL.queue] as const;

/** Every metric, in the order they are registered and documented. */
export const METRICS: readonly MetricDefinition[] = [
  def('jobsPublished', 'counter', 'redis', Q, 'Jobs published (created events), queue-wide.', 'created'),
  def('jobsCompleted', 'counter', 'redis', Q, 'Jobs completed (completed events), queue-wide.', 'completed'),
  def('jobsFailed', 'counter', 'redis', Q, 'Failed attempts (failed events, retried or final), queue-wide.', 'failed'),
  def('jobsRetried', 'counter', 'redis', Q, 'Manual retries of failed, dead or cancelled jobs (retried events), queue-wide.', 'retried'),
  def(
    'jobsTimedOut',
    'counter',
    'redis',
    Q,
    'Attempts taken back from their worker (timed-out events: lease expired, or given back on graceful shutdown), queue-wide.',
    'timed-out',
  ),
  def('jobsDeadLettered', 'counter', 'redis', Q, 'Jobs dead-lettered (dead-lettered events), queue-wide.', 'dead-lettered'),
  def('jobsCancelled', 'counter', 'redis', Q, 'Jobs cancelled (cancelled events), queue-wide.', 'cancelled'),
  def('eventsAppended', 'counter', 'redis', [LABEL.queue, LABEL.type], 'Events appended to the event log, per event type, queue-wide.'),
  def('queueJobs', 'gauge', 'redis', [LABEL.queue, LABEL.state], 'Jobs in each state (the depth of the queue per state).'),
  def('queuePaused', 'gauge', 'redis', Q, '1 when the queue is paused, else 0.'),
  def(
    'laneLag',
    'gauge',
    'redis',
    [LABEL.queue, LABEL.lane],
    'Lane entries not yet delivered to the consumer group (XINFO GROUPS lag), per priority lane.',
  ),
  def(
    'lanePending',
    'gauge',
    'redis',
    [LABEL.queue, LABEL.lane],
    'Lane entries delivered but not yet acknowledged (the consumer group pending list: attempts in flight), per priority lane.',
  ),
  def('eventLogEntries', 'gauge', 'redis', Q, 'Entries in the live event log stream (XLEN).'),
  def(
    'archiveLag',
    'gauge',
    'redis',
    Q,
    'Events appended to the log but not yet archived (entries ever added minus archived; archived is 0 until an archiver reports progress).',
  ),
  def('workersLive', 'gauge', 'redis', Q, 'Workers seen on the queue within the live window (claim or heartbeat).'),
  def(
    'queueOldestWaitingAge',
    'gauge',
    'redis',
    Q,
    "Age of the oldest waiting job: Redis's clock minus the time the job entered the waiting state (0 when no job waits).",
  ),
  def(
    'jobWaitDuration',
    'histogram',
    'process',
    [LABEL.queue, LABEL.jobName],
    'Time from publish to the start of the first attempt (includes any requested delay), recorded by workers.',
  ),
  def(
    'jobRunDuration',
    'histogram',
    'process',
    [LABEL.queue, LABEL.outcome, LABEL.jobName],
    'Time from the start of an attempt to its recorded outcome, per outcome, recorded by workers.',
  ),
  def('collectDuration', 'gauge', 'process', [], 'Duration of the last scrape-time collection of queue figures from Redis.'),
  def('collectErrors', 'counter', 'process', [], 'Scrape-time collections of one queue that failed (the queue was left out of that scrape).'),
  def('queuesOmitted', 'gauge', 'process', [], 'Queues left out of the last collection because of the maxQueues bound.'),
];

/** The definition of one metric. */
export function metricDefinition(key: MetricKey): MetricDefinition {
  const found = METRICS.find((m) => m.key === key);
  if (!found) throw new Error(`no metric ${key}`);
  return found;
}
