/**
 * The prom-client side: registers every metric of the catalog in a registry. Collected metrics
 * read their samples at scrape time through {@link observe}; histograms are observed in-process.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRICS, type MetricDefinition } from './catalog.js';
import { DURATION_BUCKETS_SECONDS, type MetricKey } from './names.js';
import { observe, type CollectedState } from './values.js';

/** Where collected metrics get their state from; `undefined` when no queue is observed. */
export type StateSource = () => Promise<CollectedState | undefined>;

/** The prom-client histograms the workers record into. */
export interface PrometheusHistograms {
  readonly wait: Histogram<'queue' | 'job_name'>;
  readonly run: Histogram<'queue' | 'outcome' | 'job_name'>;
}

/** Registers every catalog metric in `registry`. */
export function registerPrometheusMetrics(registry: Registry, source: StateSource): PrometheusHistograms {
  const histograms = new Map<MetricKey, Histogram>();
  for (const metric of METRICS) {
    const common = { name: metric.name, help: metric.help, labelNames: [...metric.labels], registers: [registry] };
    if (metric.kind === 'histogram') {
      histograms.set(metric.key, new Histogram({ ...common, buckets: [...DURATION_BUCKETS_SECONDS] }));
    } else if (metric.kind === 'counter') {
      new Counter({
        ...common,
        async collect() {
          const state = await source();
          // Counters here mirror totals kept elsewhere (Redis, the collector): set, not add.
          this.reset();
          for (const o of samples(metric, state)) this.inc(o.labels, o.value);
        },
      });
    } else {
      new Gauge({
        ...common,
        async collect() {
          const state = await source();
          this.reset();
          for (const o of samples(metric, state)) this.set(o.labels, o.value);
        },
      });
    }
  }
  return {
    wait: histograms.get('jobWaitDuration') as Histogram<'queue' | 'job_name'>,
    run: histograms.get('jobRunDuration') as Histogram<'queue' | 'outcome' | 'job_name'>,
  };
}

function samples(metric: MetricDefinition, state: CollectedState | undefined): ReturnType<typeof observe> {
  return state ? observe(metric, state) : [];
}

