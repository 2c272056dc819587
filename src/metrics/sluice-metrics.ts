/**
 * `SluiceMetrics`: every Sluice metric, exported two ways from the one catalog — a prom-client
 * registry (serve it at `/metrics`, or merge it into an embedder's) and OpenTelemetry
 * instruments on a Meter. Workers record the wait and run time histograms into it; a process
 * that serves metrics calls {@link SluiceMetrics.observeQueues} so the queue-wide figures are
 * read from Redis at scrape (or export) time.
 *
 * @packageDocumentation
 */
import { metrics as otelMetrics, type Meter } from '@opentelemetry/api';
import { Registry, register as globalRegistry } from 'prom-client';
import { QueueStatsCollector, type QueueStatsCollectorOptions } from './collector.js';
import { ValidationError } from '../core/errors.js';
import { MessagingMetrics } from './messaging.js';
import { INSTRUMENTATION_SCOPE, LABEL, OTHER_JOB_NAME, type AttemptOutcome } from './names.js';
import { OtelMetrics } from './otel.js';
import { registerPrometheusMetrics, type PrometheusHistograms, type StateSource } from './prometheus.js';
import type { CollectedState } from './values.js';

/** Options of {@link SluiceMetrics}. */
export interface SluiceMetricsOptions {
  /**
   * prom-client registry the metrics are registered in.
   * @default a new `Registry`
   */
  registry?: Registry;
  /**
   * OpenTelemetry meter for the same metrics; replace it later with {@link SluiceMetrics.bindMeter}.
   * @default the `sluice` meter of the global meter provider at construction time
   */
  meter?: Meter;
  /**
   * Job names to report as the `job_name` label of the wait and run time histograms. Names
   * outside the list are reported as `_other`, so the label's cardinality stays bounded by the
   * list. Without a list the histograms have no `job_name` label.
   * @default none (no `job_name` label)
   */
  jobNames?: readonly string[];
}

/** Every Sluice metric, in a prom-client registry and on an OpenTelemetry meter. */
export class SluiceMetrics {
  /** The prom-client registry holding every Sluice metric. */
  readonly registry: Registry;
  /** The OpenTelemetry messaging conventions' standard metrics, recorded by queues and workers. */
  readonly messaging: MessagingMetrics;
  private readonly prometheus: PrometheusHistograms;
  private otel: OtelMetrics;
  private readonly jobNames: ReadonlySet<string> | undefined;
  private collector: QueueStatsCollector | undefined;
  private readonly source: StateSource = async () => {
    const collector = this.collector;
    if (!collector) return undefined;
    const snapshot = await collector.snapshot();
    const state: CollectedState = { snapshot, errors: collector.errorCount };
    return state;
  };

  constructor(options: SluiceMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.prometheus = registerPrometheusMetrics(this.registry, this.source);
    const meter = options.meter ?? otelMetrics.getMeter(INSTRUMENTATION_SCOPE);
    this.otel = new OtelMetrics(meter, this.source);
    this.messaging = new MessagingMetrics(this.registry, meter);
    if (options.jobNames !== undefined) {
      const names: unknown = options.jobNames;
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new ValidationError('jobNames', 'must be an array of job names');
      this.jobNames = new Set(options.jobNames);
    }
  }

  /** The labels of a histogram sample: `queue`, plus `job_name` when an allow-list is set. */
  private jobLabels(queue: string, jobName: string | undefined): { queue: string; job_name?: string } {
    if (this.jobNames === undefined) return { [LABEL.queue]: queue };
    return { [LABEL.queue]: queue, [LABEL.jobName]: jobName !== undefined && this.jobNames.has(jobName) ? jobName : OTHER_JOB_NAME };
  }

  /**
   * Reads the queue-wide figures (counters from the counts hash, depth, lag, pending, workers,
   * event log) from Redis whenever the registry is scraped or OpenTelemetry collects.
   * Replaces a previous observation. The caller keeps ownership of `options.redis`.
   */
  observeQueues(options: QueueStatsCollectorOptions): QueueStatsCollector {
    this.collector = new QueueStatsCollector(options);
    return this.collector;
  }

  /** Stops reading queue figures; the collected metrics report no samples. */
  stopObservingQueues(): void {
    this.collector = undefined;
  }

  /**
   * Records the OpenTelemetry side on `meter` from now on (e.g. once the SDK is started:
   * {@link startTelemetry} does this). The previous meter's callback is removed.
   */
  bindMeter(meter: Meter): void {
    this.otel.close();
    this.otel = new OtelMetrics(meter, this.source);
    this.messaging.bindMeter(meter);
  }

  /** Records a job's wait time (publish → start of its first attempt). */
  recordWait(queue: string, seconds: number, jobName?: string): void {
    const value = Math.max(0, seconds);
    const labels = this.jobLabels(queue, jobName);
    this.prometheus.wait.observe(labels, value);
    this.otel.wait.record(value, labels);
  }

  /** Records an attempt's run time (attempt start → recorded outcome). */
  recordRun(queue: string, outcome: AttemptOutcome, seconds: number, jobName?: string): void {
    const value = Math.max(0, seconds);
    const labels = { ...this.jobLabels(queue, jobName), [LABEL.outcome]: outcome };
    this.prometheus.run.observe(labels, value);
    this.otel.run.record(value, labels);
  }
}

let shared: SluiceMetrics | undefined;

/**
 * The process-wide instance Workers record into unless given their own. Its metrics are
 * registered in prom-client's global `register`, so an embedder's existing `/metrics` shows
 * them; its meter is the global one when first used (then rebound by {@link startTelemetry}).
 */
export function defaultMetrics(): SluiceMetrics {
  shared ??= new SluiceMetrics({ registry: globalRegistry });
  return shared;
}
