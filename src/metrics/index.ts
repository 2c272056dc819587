/**
 * `sluice/metrics`: every Sluice metric (names, catalog), exported through prom-client and
 * OpenTelemetry from one definition; scrape-time collection of the queue-wide figures; a small
 * `/metrics` server; and the trace helpers Queue and Worker use. The OpenTelemetry SDK start-up
 * is in `sluice/otel` (src/otel.ts), so importing this loads `@opentelemetry/api` only.
 * See docs/METRICS.md.
 *
 * @packageDocumentation
 */
export * from './names.js';
export { METRICS, metricDefinition, type MetricDefinition, type MetricKind } from './catalog.js';
export {
  QueueStatsCollector,
  type ArchiveProgress,
  type CollectionSnapshot,
  type LaneSnapshot,
  type QueueSnapshot,
  type QueueStatsCollectorOptions,
} from './collector.js';
export { observe, type CollectedState, type Observation } from './values.js';
export { SluiceMetrics, defaultMetrics, type SluiceMetricsOptions } from './sluice-metrics.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './server.js';
export {
  MESSAGING_SYSTEM,
  SPAN_ATTR,
  contextFromTraceparent,
  errorType,
  formatTraceparent,
  parseTraceparent,
  partitionAttributes,
  redisServerAttributes,
  sluiceTracer,
} from './tracing.js';
export { Attempt, WorkerTelemetry, tracePublish, type AttemptJob, type PublishTelemetryOptions } from './instrumentation.js';
export { MESSAGING_ATTRIBUTES, MESSAGING_METRIC, MessagingMetrics } from './messaging.js';
