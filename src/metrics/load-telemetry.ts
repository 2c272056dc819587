/**
 * Loads `sluice/otel` ({@link startTelemetry}) on demand, for the service and the CLI: the
 * OpenTelemetry SDK is an optional peer dependency, so it is imported only when telemetry is
 * switched on, and a missing SDK is a clear start-up error instead of a failed import of the
 * whole program.
 *
 * @packageDocumentation
 */
import { ServiceStartError } from '../core/errors.js';
import type { Telemetry, TelemetryOptions } from './telemetry.js';

/** Starts the OpenTelemetry SDK through a dynamic import of ./telemetry.js. */
export async function loadTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  let loaded: typeof import('./telemetry.js');
  try {
    loaded = await import('./telemetry.js');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' && error instanceof Error && error.message.includes('@opentelemetry/sdk-node')) {
      throw new ServiceStartError(
        'OpenTelemetry is switched on (SLUICE_OTEL or OTEL_* variables) but @opentelemetry/sdk-node is not installed: run `npm install @opentelemetry/sdk-node`, or set SLUICE_OTEL=off',
        { cause: error },
      );
    }
    throw error;
  }
  return loaded.startTelemetry(options);
}
