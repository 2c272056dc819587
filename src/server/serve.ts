/**
 * `startService()`: the Sluice HTTP service as a process runs it — telemetry, connections, the
 * app listening on its port, and the archivers — plus an orderly `close()`.
 *
 * @packageDocumentation
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { describeConfig, type SluiceConfig } from '../app/config.js';
import { defaultMetrics } from '../metrics/sluice-metrics.js';
import { loadTelemetry } from '../metrics/load-telemetry.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { buildApp } from './app.js';
import { ArchiverPool } from './archivers.js';
import { registryFromConfig } from './auth.js';
import { SluiceContext } from '../app/context.js';
import { logDescription } from './http-errors.js';
import { createLogger } from './logger.js';

/** A running service. */
export interface RunningService {
  readonly app: FastifyInstance;
  readonly context: SluiceContext;
  /** `http://<host>:<port>` */
  readonly url: string;
  /** Stops accepting requests, ends live feeds, stops the archivers, closes the connections. Idempotent. */
  close(): Promise<void>;
}

/** True when the configuration and the environment ask for the OpenTelemetry SDK. */
export function otelEnabled(config: SluiceConfig, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true' || config.otel === 'off') return false;
  if (config.otel === 'on') return true;
  return ['OTEL_TRACES_EXPORTER', 'OTEL_METRICS_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT'].some((name) => (env[name] ?? '') !== '');
}

/**
 * Starts the service. Refuses to start (ValidationError) without tokens unless `localNoAuth`
 * on a loopback address; see {@link registryFromConfig}.
 */
export async function startService(config: SluiceConfig, options: { logger?: Logger } = {}): Promise<RunningService> {
  const auth = registryFromConfig(config) ?? 'disabled-local';
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = defaultMetrics();
  const telemetry: Telemetry | undefined = otelEnabled(config) ? await loadTelemetry({ serviceName: 'sluice', metrics: [metrics] }) : undefined;
  const context = new SluiceContext(config);
  let app: FastifyInstance | undefined;
  let archivers: ArchiverPool | undefined;
  const close = async (): Promise<void> => {
    await archivers?.stop();
    await app?.close();
    await context.close();
    await telemetry?.shutdown().catch(() => undefined);
  };
  try {
    app = await buildApp({ context, auth, logger, metrics });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
    if (config.archiveInterval > 0) {
      archivers = new ArchiverPool({
        redis: context.redis,
        archive: context.archive,
        intervalMs: config.archiveInterval,
        trim: config.archiveTrim,
        onError: (error, queue) => logger.warn({ queue, error: logDescription(error) }, 'archiver run failed; retrying'),
      });
      await archivers.start();
    }
    const probe = await context.probe();
    logger.info(
      { config: describeConfig(config), auth: auth === 'disabled-local' ? 'disabled (local only)' : `${auth.size} token(s)`, redis: probe.redis, mongo: probe.mongo },
      'sluice service started',
    );
    let closing: Promise<void> | undefined;
    return { app, context, url: `http://${host}:${port}`, close: () => (closing ??= close()) };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
