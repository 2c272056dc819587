/**
 * The OpenTelemetry side: one instrument per catalog metric on a Meter. Collected metrics are
 * observable counters and gauges fed by one batch callback (one collection per export);
 * histograms are recorded in-process with the same bucket boundaries as prom-client.
 *
 * @packageDocumentation
 */
import type { BatchObservableCallback, Histogram, Meter, Observable } from '@opentelemetry/api';
import { METRICS, type MetricDefinition } from './catalog.js';
import { DURATION_BUCKETS_SECONDS, type MetricKey } from './names.js';
import type { StateSource } from './prometheus.js';
import { observe } from './values.js';

/** The instruments of one Meter. {@link OtelMetrics.close} unregisters the batch callback. */
export class OtelMetrics {
  /** Histogram of wait time, attributes `queue`. */
  readonly wait: Histogram;
  /** Histogram of run time, attributes `queue`, `outcome`. */
  readonly run: Histogram;
  private readonly observables: [MetricDefinition, Observable][] = [];
  private readonly callback: BatchObservableCallback;

  constructor(
    private readonly meter: Meter,
    source: StateSource,
  ) {
    const histograms = new Map<MetricKey, Histogram>();
    for (const metric of METRICS) {
      const options = { description: metric.help, unit: metric.unit };
      if (metric.kind === 'histogram') {
        histograms.set(
          metric.key,
          meter.createHistogram(metric.otelName, { ...options, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] } }),
        );
      } else if (metric.kind === 'counter') {
        this.observables.push([metric, meter.createObservableCounter(metric.otelName, options)]);
      } else {
        this.observables.push([metric, meter.createObservableGauge(metric.otelName, options)]);
      }
    }
    this.wait = histograms.get('jobWaitDuration') as Histogram;
    this.run = histograms.get('jobRunDuration') as Histogram;
    this.callback = async (result) => {
      const state = await source();
      if (!state) return;
      for (const [metric, observable] of this.observables) {
        for (const o of observe(metric, state)) result.observe(observable, o.value, o.labels);
      }
    };
    meter.addBatchObservableCallback(
      this.callback,
      this.observables.map(([, observable]) => observable),
    );
  }

  /** Stops observing (the histograms stay usable but belong to the old meter). */
  close(): void {
    this.meter.removeBatchObservableCallback(
      this.callback,
      this.observables.map(([, observable]) => observable),
    );
  }
}
