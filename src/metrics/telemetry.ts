/**
 * `startTelemetry()`: the OpenTelemetry SDK for a Sluice service entry point, configured by the
 * standard `OTEL_*` environment variables (exporters, endpoints, sampler, resource, propagators;
 * `OTEL_SDK_DISABLED=true` turns it off). Call it first, before creating queues and workers.
 *
 * Without any `OTEL_*` variable the SDK follows the specification's defaults: traces and
 * metrics go to an OTLP/HTTP collector on localhost:4318. Set `OTEL_TRACES_EXPORTER=none` and
 * `OTEL_METRICS_EXPORTER=none` (or `OTEL_SDK_DISABLED=true`) where there is no collector.
 *
 * @packageDocumentation
 */
import { context, metrics as otelMetrics, propagation, trace } from '@opentelemetry/api';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { INSTRUMENTATION_SCOPE } from './names.js';
import { defaultMetrics, type SluiceMetrics } from './sluice-metrics.js';

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  /**
   * `service.name` when `OTEL_SERVICE_NAME` is not set.
   * @default 'sluice'
   */
  serviceName?: string;
  /**
   * SDK components that replace what the environment would configure (e.g. in-memory
   * exporters in tests, or instrumentations).
   * @default {} (everything from the environment)
   */
  sdk?: Partial<NodeSDKConfiguration>;
  /**
   * Sluice metrics to move onto the SDK's meter provider once it is registered.
   * @default [defaultMetrics()]
   */
  metrics?: readonly SluiceMetrics[];
}

/** The running SDK. */
export interface Telemetry {
  /** The SDK instance. */
  readonly sdk: NodeSDK;
  /**
   * Flushes and stops the SDK, then unregisters the global OpenTelemetry providers, context
   * manager and propagator, so telemetry can be started again (tests) or the process can exit.
   */
  shutdown(): Promise<void>;
}

/** Starts the OpenTelemetry Node SDK from `OTEL_*` and binds Sluice's metrics to it. */
export function startTelemetry(options: TelemetryOptions = {}): Telemetry {
  const serviceName = process.env.OTEL_SERVICE_NAME ? {} : { serviceName: options.serviceName ?? 'sluice' };
  const sdk = new NodeSDK({ ...serviceName, ...options.sdk });
  sdk.start();
  // The metrics API has no proxy provider: instruments made before the SDK started stay no-ops,
  // so Sluice's metrics are rebound to the meter provider the SDK just registered.
  const meter = otelMetrics.getMeter(INSTRUMENTATION_SCOPE);
  const bound = options.metrics ?? [defaultMetrics()];
  for (const m of bound) m.bindMeter(meter);
  let stopping: Promise<void> | undefined;
  return {
    sdk,
    shutdown() {
      stopping ??= sdk.shutdown().finally(() => {
        trace.disable();
        otelMetrics.disable();
        context.disable();
        propagation.disable();
        // Back to the (now no-op) global meter, so nothing records into a stopped provider.
        for (const m of bound) m.bindMeter(otelMetrics.getMeter(INSTRUMENTATION_SCOPE));
      });
      return stopping;
    },
  };
}
