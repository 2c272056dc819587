/**
 * `sluice/otel`: starts the OpenTelemetry Node SDK (`@opentelemetry/sdk-node`, an optional peer
 * dependency: install it next to Sluice) from the standard `OTEL_*` variables and binds Sluice's
 * metrics to it. Import this first in a service entry point; the library core never loads it.
 * See docs/METRICS.md.
 *
 * @packageDocumentation
 */
export { startTelemetry, type Telemetry, type TelemetryOptions } from './metrics/telemetry.js';
