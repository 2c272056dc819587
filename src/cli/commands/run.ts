/**
 * Long-running commands: `serve` (the HTTP service) and `worker <module>` (runs a handler
 * module), both with graceful shutdown on SIGTERM and SIGINT; plus `token` (makes a bearer token).
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { Worker, type Handler, type WorkerOptions } from '../../consumers/worker.js';
import { retentionFromConfig } from '../../app/config.js';
import { describe, ValidationError } from '../../core/errors.js';
import { defaultMetrics } from '../../metrics/sluice-metrics.js';
import { startMetricsServer, type MetricsServer } from '../../metrics/server.js';
import { loadTelemetry } from '../../metrics/load-telemetry.js';
import { generateToken, SCOPES, type Scope } from '../../server/auth.js';
import { SluiceContext } from '../../app/context.js';
import { createLogger } from '../../server/logger.js';
import { otelEnabled, startService } from '../../server/serve.js';
import { printJson, type Io } from '../output.js';
import { addConfigOptions, configOf, jsonOutput } from '../shared.js';

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once with code 130. */
function shutdownSignal(onSecond: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolvePromise) => {
    let seen = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (seen) onSecond();
      seen = true;
      resolvePromise(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

/** What a handler module exports. */
export interface HandlerModule {
  /** The handler, as the default export or `handler`. */
  default?: unknown;
  handler?: unknown;
  /** The queue it serves, when `--queue` is not given. */
  queue?: unknown;
  /** Worker options (concurrency, leaseMs, backoff…); flags and configuration win. */
  options?: unknown;
}

/** Loads a handler module by path (relative to the working directory) or package name. */
export async function loadHandlerModule(specifier: string): Promise<{ handler: Handler; queue: string | undefined; options: Partial<WorkerOptions> }> {
  // A path that exists is a file; anything else is taken for a package name.
  const url = existsSync(resolve(specifier)) ? pathToFileURL(resolve(specifier)).href : specifier;
  let loaded: HandlerModule;
  try {
    loaded = (await import(url)) as HandlerModule;
  } catch (error) {
    throw new ValidationError('module', `cannot load ${specifier}: ${describe(error)}`);
  }
  const handler = typeof loaded.handler === 'function' ? loaded.handler : loaded.default;
  if (typeof handler !== 'function') throw new ValidationError('module', `${specifier} exports no handler function (export default or export const handler)`);
  if (loaded.queue !== undefined && typeof loaded.queue !== 'string') throw new ValidationError('module', `${specifier}: export queue must be a string`);
  const options = typeof loaded.options === 'object' && loaded.options !== null ? (loaded.options as Partial<WorkerOptions>) : {};
  return { handler: handler as Handler, queue: loaded.queue, options };
}

/** Registers `serve`, `worker` and `token`. */
export function registerRunCommands(program: Command, io: Io): void {
  addConfigOptions(program.command('serve').description('Run the HTTP service (API, live events, /metrics, /openapi.json) until SIGTERM or SIGINT'), [
    'server',
    'jobs',
    'logging',
  ]).action(async (_opts, command: Command) => {
    const config = configOf(command);
    const logger = createLogger({ level: config.logLevel });
    const service = await startService(config, { logger });
    logger.info({ url: service.url, openapi: `${service.url}/openapi.json`, metrics: `${service.url}/metrics` }, 'listening');
    const signal = await shutdownSignal(() => process.exit(130));
    logger.info({ signal }, 'shutting down');
    await service.close();
    logger.info('stopped');
  });

  addConfigOptions(
    program
      .command('worker')
      .description('Run a handler module (export default async (job) => result) as a worker until SIGTERM or SIGINT, then finish running jobs gracefully')
      .argument('<module>', 'path of the handler module (./dist/handlers/mail.js) or a package name')
      .option('--queue <queue>', 'queue to serve (default: the module\'s `export const queue`)')
      .option('--host <address>', 'address of the --worker-metrics-port endpoint [env: SLUICE_HOST]'),
    ['worker', 'logging'],
  ).action(async (specifier: string, opts: { queue?: string }, command: Command) => {
    const config = configOf(command);
    const logger = createLogger({ level: config.logLevel, name: 'sluice-worker' });
    const telemetry = otelEnabled(config) ? await loadTelemetry({ serviceName: 'sluice-worker' }) : undefined;
    const loaded = await loadHandlerModule(specifier);
    const queueName = opts.queue ?? loaded.queue;
    if (queueName === undefined) throw new ValidationError('--queue', 'give --queue or export const queue from the module');
    const context = new SluiceContext(config, { connectionName: 'sluice:worker' });
    const retention = retentionFromConfig(config);
    if (retention) await context.queue(queueName).setRetention(retention);
    const worker = new Worker(queueName, loaded.handler, {
      ...loaded.options,
      connection: context.redis,
      payloads: context.payloads,
      concurrency: config.concurrency,
      leaseMs: config.lease,
      graceMs: config.grace,
    });
    worker.on('error', (error) => logger.warn({ error: describe(error) }, 'worker background error; continuing'));
    worker.on('failed', (job, error, willRetry) => logger.info({ job: job.id, attempt: job.attempt, willRetry, error: describe(error) }, 'job failed'));
    worker.on('completed', (job) => logger.debug({ job: job.id, attempt: job.attempt }, 'job completed'));
    let metrics: MetricsServer | undefined;
    if (config.workerMetricsPort !== undefined) {
      metrics = await startMetricsServer({ port: config.workerMetricsPort, host: config.host, registry: defaultMetrics().registry });
    }
    logger.info({ worker: worker.id, queue: queueName, concurrency: config.concurrency, leaseMs: config.lease, metrics: metrics?.url }, 'worker started');
    const signal = await shutdownSignal(() => process.exit(130));
    logger.info({ signal, graceMs: config.grace }, 'shutting down: running jobs may finish');
    await worker.close(config.grace);
    await metrics?.close();
    await context.close();
    await telemetry?.shutdown().catch(() => undefined);
    logger.info('stopped');
  });

  program
    .command('token')
    .description('Make a new bearer token and print its entry for the auth file (the file may keep only its sha256)')
    .option('--name <name>', 'name shown in logs', 'client')
    .option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, 'read')
    .option('--queues <list>', 'comma-separated queue patterns (* and ? wildcards)', '*')
    .action((opts: { name: string; scopes: string; queues: string }, command: Command) => {
      const scopes = opts.scopes.split(',').map((s) => s.trim());
      for (const scope of scopes) {
        if (!(SCOPES as readonly string[]).includes(scope)) throw new ValidationError('--scopes', `unknown scope ${JSON.stringify(scope)}; known: ${SCOPES.join(', ')}`);
      }
      const queues = opts.queues.split(',').map((q) => q.trim());
      const { token, sha256 } = generateToken();
      const entry = { name: opts.name, sha256, scopes: scopes as Scope[], queues };
      if (jsonOutput(command)) return printJson(io, { token, entry });
      io.out.write(`token (give it to the client; it is not stored anywhere): ${token}\n`);
      io.out.write(`auth file entry: ${JSON.stringify(entry)}\n`);
    });
}
