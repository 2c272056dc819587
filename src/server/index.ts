/**
 * `sluice/server`: the Sluice HTTP service (Fastify) to embed or run — the app builder, the
 * whole service with its workers-facing routes, archivers and `/metrics`, and the configuration
 * loader shared with the CLI. See docs/HTTP.md and docs/CONFIGURATION.md.
 *
 * @packageDocumentation
 */
export { loadConfig, scrubSecrets, type SluiceConfig } from '../app/config.js';
export { buildApp, type AppOptions } from './app.js';
export { startService, type RunningService } from './serve.js';
