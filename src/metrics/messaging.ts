/**
 * The OpenTelemetry messaging semantic conventions' standard metrics, next to Sluice's own:
 * `messaging.client.sent.messages` (jobs a producer published), `messaging.client.consumed.messages`
 * (jobs a worker claimed) and `messaging.process.duration` (one attempt, start to recorded
 * outcome). Exported like the rest: OpenTelemetry instruments with the conventions' dotted
 * attribute names, and prom-client metrics with the names and labels OpenTelemetry's Prometheus
 * conversion gives them (`messaging_client_sent_messages_total{messaging_destination_name=…}`),
 * so either pipeline shows the same series.
 *
 * These are per process (each producer and worker counts what it did): sum them across
 * processes, unlike the queue-wide `sluice_*` figures read from Redis.
 *
 * @packageDocumentation
 */
import type { Attributes, Counter as OtelCounter, Histogram as OtelHistogram, Meter } from '@opentelemetry/api';
import { Counter, Histogram, type Registry } from 'prom-client';
import { DURATION_BUCKETS_SECONDS } from './names.js';

/** OpenTelemetry names and units of the messaging metrics. */
export const MESSAGING_METRIC = {
  sent: { name: 'messaging.client.sent.messages', unit: '{message}', prometheus: 'messaging_client_sent_messages_total' },
  consumed: { name: 'messaging.client.consumed.messages', unit: '{message}', prometheus: 'messaging_client_consumed_messages_total' },
  processDuration: { name: 'messaging.process.duration', unit: 's', prometheus: 'messaging_process_duration_seconds' },
} as const;

/** The attributes the messaging metrics carry (OpenTelemetry spelling; Prometheus uses `_` for `.`). */
export const MESSAGING_ATTRIBUTES = [
  'messaging.system',
  'messaging.operation.name',
  'messaging.destination.name',
  'messaging.destination.partition.id',
  'messaging.consumer.group.name',
  'error.type',
  'server.address',
  'server.port',
] as const;

const LABELS = MESSAGING_ATTRIBUTES.map(toLabel);

function toLabel(attribute: string): string {
  return attribute.replace(/\./g, '_');
}

/**
 * Labels already converted, per attributes object: a worker passes the same object for every
 * job, and the conversion cost ≈ 4 µs a job (a fifth of a worker's CPU in the drain profile).
 * Callers must not change an attributes object after passing it (none does: they are built
 * once, or built new for a failure).
 */
const converted = new WeakMap<Attributes, Record<string, string>>();

/** `attributes` as Prometheus labels (dots to underscores, values as strings). */
function labels(attributes: Attributes): Record<string, string> {
  const cached = converted.get(attributes);
  if (cached !== undefined) return cached;
  const out = convert(attributes);
  converted.set(attributes, out);
  return out;
}

function convert(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && (MESSAGING_ATTRIBUTES as readonly string[]).includes(key)) out[toLabel(key)] = String(value);
  }
  return out;
}

/** The three messaging metrics in one prom-client registry and on one meter (rebindable). */
export class MessagingMetrics {
  private readonly promSent: Counter;
  private readonly promConsumed: Counter;
  private readonly promProcess: Histogram;
  private otelSent!: OtelCounter;
  private otelConsumed!: OtelCounter;
  private otelProcess!: OtelHistogram;

  constructor(registry: Registry, meter: Meter) {
    const common = { labelNames: LABELS, registers: [registry] };
    this.promSent = new Counter({ name: MESSAGING_METRIC.sent.prometheus, help: 'Messages (jobs) a producer sent (published), per call outcome (OpenTelemetry messaging conventions).', ...common });
    this.promConsumed = new Counter({ name: MESSAGING_METRIC.consumed.prometheus, help: 'Messages (jobs) a worker received (claimed) (OpenTelemetry messaging conventions).', ...common });
    this.promProcess = new Histogram({
      name: MESSAGING_METRIC.processDuration.prometheus,
      help: 'Duration of processing one message: an attempt, from its start to its recorded outcome (OpenTelemetry messaging conventions).',
      buckets: [...DURATION_BUCKETS_SECONDS],
      ...common,
    });
    this.bindMeter(meter);
  }

  /** Records the OpenTelemetry side on `meter` from now on. */
  bindMeter(meter: Meter): void {
    this.otelSent = meter.createCounter(MESSAGING_METRIC.sent.name, { unit: MESSAGING_METRIC.sent.unit, description: 'Messages (jobs) a producer sent.' });
    this.otelConsumed = meter.createCounter(MESSAGING_METRIC.consumed.name, { unit: MESSAGING_METRIC.consumed.unit, description: 'Messages (jobs) a worker received.' });
    this.otelProcess = meter.createHistogram(MESSAGING_METRIC.processDuration.name, {
      unit: MESSAGING_METRIC.processDuration.unit,
      description: 'Duration of processing one message (an attempt).',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
    });
  }

  /** `count` messages sent with `attributes` (`error.type` set when the publish failed). */
  recordSent(count: number, attributes: Attributes): void {
    if (count <= 0) return;
    this.promSent.inc(labels(attributes), count);
    this.otelSent.add(count, attributes);
  }

  /** One message received by a worker. */
  recordConsumed(attributes: Attributes): void {
    this.promConsumed.inc(labels(attributes), 1);
    this.otelConsumed.add(1, attributes);
  }

  /** One attempt's processing time (`error.type` set when it did not complete). */
  recordProcess(seconds: number, attributes: Attributes): void {
    const value = Math.max(0, seconds);
    this.promProcess.observe(labels(attributes), value);
    this.otelProcess.record(value, attributes);
  }
}
