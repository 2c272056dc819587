/**
 * The Sluice HTTP service as a fastify instance: JSON-schema validation on every route (ajv;
 * unknown fields refused, no type coercion of bodies), bearer-token auth with scopes and queue
 * patterns, one error mapping, an OpenAPI document at `/openapi.json`, `/metrics`, `/healthz`
 * and `/readyz`. See docs/HTTP.md.
 *
 * Build it with {@link buildApp} (no port is opened: tests call `app.inject()`), then
 * `app.listen()`. Closing the app ends the live event feeds and stops observing queue metrics;
 * the {@link SluiceContext} stays open: its creator closes it.
 *
 * @packageDocumentation
 */
import swagger from '@fastify/swagger';
import { isUtf8 } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { NoQuery, OPTIONAL_BODY } from './schemas.js';
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ClosedError, QueueNotFoundError, SluiceError, ValidationError } from '../core/errors.js';
import { SluiceMetrics } from '../metrics/sluice-metrics.js';
import { authorize, LOCAL_GRANT, type Grant, type TokenRegistry } from './auth.js';
import type { SluiceContext } from '../app/context.js';
import { clientError, errorResponse, fromAjv, logDescription, MAX_PARAM_LENGTH, toSluiceError } from './http-errors.js';
import { consoleStatic } from './console-static.js';
import { consoleRoutes } from './routes/console.js';
import { consumeRoutes } from './routes/consume.js';
import { eventRoutes } from './routes/events.js';
import { jobRoutes } from './routes/jobs.js';
import { limitRoutes } from './routes/limits.js';
import { opsRoutes } from './routes/ops.js';
import { queueRoutes } from './routes/queues.js';

/** Options of {@link buildApp}. */
export interface AppOptions {
  /** Connections and queue handles (the caller closes it after the app). */
  context: SluiceContext;
  /** Known tokens, or `'disabled-local'` to serve without authentication (local use only). */
  auth: TokenRegistry | 'disabled-local';
  /**
   * Logger (pino); `false` logs nothing.
   * @default false
   */
  logger?: Logger | false;
  /**
   * Metrics served at `/metrics`; the app makes them observe every queue through the context's
   * Redis connection.
   * @default a new SluiceMetrics with its own registry
   */
  metrics?: SluiceMetrics;
  /**
   * Serve `/metrics` without a token.
   * @default context.config.metricsPublic
   */
  metricsPublic?: boolean;
}


/** Ops routes outside `/v1/` that follow the API's rules for query strings too. */
const OPS_PATHS = new Set(['/metrics', '/healthz', '/readyz', '/openapi.json']);

/**
 * Answers a request Node's HTTP parser refused (it never reached fastify) in the documented
 * error shape, then closes the connection.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, body } = errorResponse(clientError(error));
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

function validatorCompilers(): (input: { schema: TSchema; httpPart?: string }) => Validator {
  // Bodies are validated as sent: a string is never taken for a number. Query strings and path
  // parameters are text by nature and are coerced to the schema's types.
  const body = new Ajv({ strict: false, allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: false });
  const parts = new Ajv({ strict: false, allErrors: false, removeAdditional: false, useDefaults: true, coerceTypes: 'array' });
  return ({ schema, httpPart }) => {
    const validate = (httpPart === 'body' ? body : parts).compile(schema);
    if (httpPart !== 'body' || (schema as Record<string, unknown>)[OPTIONAL_BODY] !== true) return validate;
    const optional: Validator = (data: unknown) => {
      // fastify hands a missing body to the validator as null.
      if (data === undefined || data === null) {
        optional.errors = null;
        return true;
      }
      const ok = validate(data);
      optional.errors = validate.errors;
      return ok;
    };
    return optional;
  };
}

/** Builds the service. Call `app.ready()` or `app.listen()` next. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { context } = options;
  const config = context.config;
  const metrics = options.metrics ?? new SluiceMetrics();
  const metricsPublic = options.metricsPublic ?? config.metricsPublic;
  // Typed as fastify's base logger, so the instance has the default FastifyInstance type.
  const baseLogger: FastifyBaseLogger | undefined = options.logger || undefined;
  const sendError = (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const limit = request.routeOptions.bodyLimit ?? config.bodyLimit;
    let mapped: SluiceError | undefined;
    const validation = (error as { validation?: ErrorObject[]; validationContext?: string }).validation;
    if (validation) {
      const part = (error as { validationContext?: string }).validationContext ?? 'body';
      const data = part === 'body' ? request.body : part === 'querystring' ? request.query : part === 'params' ? request.params : request.headers;
      mapped = fromAjv(validation, part, data);
    } else {
      mapped = toSluiceError(error, limit);
    }
    mapped = context.redisUnavailable(mapped, 'request') as SluiceError | undefined;
    // A request still running while the service shuts down finds its connections closed
    // (MongoClientClosedError, a closed Redis connection): 503 SLUICE_ERR_CLOSED, logged as part
    // of the shutdown rather than as a failure.
    if (context.isClosed && (mapped === undefined || mapped.httpStatus >= 500)) mapped = new ClosedError('the service (shutting down)');
    const { status, headers, body } = errorResponse(mapped);
    if (body.error.code === 'SLUICE_ERR_CLOSED') request.log.info({ code: body.error.code, message: body.error.message }, 'request refused: shutting down');
    else if (status >= 500) request.log.error({ code: body.error.code, error: logDescription(error) }, 'request failed');
    else request.log.debug({ code: body.error.code, message: body.error.message }, 'request refused');
    void reply.code(status).headers(headers).send(body);
  };
  const app: FastifyInstance = Fastify({
    ...(baseLogger ? { loggerInstance: baseLogger } : { logger: false }),
    bodyLimit: config.bodyLimit,
    // Route parameters hold job ids, which may be up to 200 characters plus URL encoding.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (bad URL encoding, an over-long parameter) and requests Node's
    // parser refuses answer in the documented error shape too.
    frameworkErrors: sendError,
    clientErrorHandler: answerClientError,
    // Access lines at debug (SLUICE_LOG_LEVEL=debug), not info: a busy service would log little else.
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  app.setValidatorCompiler(validatorCompilers());
  app.decorateRequest('grant', null as unknown as Grant);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sluice',
        description: 'Event-sourced job queue on Redis Streams with payloads in MongoDB. Errors are `{error: {code, message, field?}}`; retryable ones answer 503 with Retry-After.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'jobs', description: 'Publish and manage jobs' },
        { name: 'queues', description: 'Queues, stats, pause, retention, dead letters' },
        { name: 'limits', description: 'Queue rate limit and group limits' },
        { name: 'repeatables', description: 'Repeatable (cron or interval) jobs' },
        { name: 'events', description: 'Audit history, replay and the live event feed' },
        { name: 'consume', description: 'HTTP workers: claim jobs, heartbeat, progress, complete, fail, release (docs/HTTP-WORKERS.md)' },
        { name: 'ops', description: 'Health, readiness, metrics, this document' },
      ],
    },
  });

  const registry = options.auth === 'disabled-local' ? undefined : options.auth;
  app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    const auth = request.routeOptions.config.auth;
    if (!auth || auth.scope === 'public' || (auth.when && !auth.when())) {
      request.grant = LOCAL_GRANT;
      done();
      return;
    }
    try {
      const grant = registry ? registry.authenticate(request.headers.authorization) : LOCAL_GRANT;
      const queue = auth.queue ? (request.params as { queue?: unknown }).queue : undefined;
      authorize(grant, auth.scope, {
        ...(typeof queue === 'string' ? { queue } : {}),
        ...(auth.allQueues ? { allQueues: true } : {}),
      });
      request.grant = grant;
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    done();
  });

  app.setErrorHandler(sendError);

  // Bodies are JSON only (anything else: 415), and must be valid UTF-8 (RFC 8259 §8.1): a byte
  // sequence that is not is refused rather than decoded to U+FFFD, so nothing sent is changed.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(new ValidationError('body', 'is not valid UTF-8 (RFC 8259 §8.1); nothing was changed'), undefined);
      return;
    }
    // The default parser calls `done`; its return value (typed as a possible promise) carries nothing.
    void parseJson(request, bytes.toString('utf8'), done);
  });

  // One rule for query strings: a route that declares no parameters refuses any (400 naming it).
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/') && !OPS_PATHS.has(route.url)) return;
    if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NoQuery };
  });

  // Reads and operations on existing jobs refuse a queue that does not exist, after
  // authentication and validation, without creating it.
  app.addHook('preHandler', async (request) => {
    const queue = (request.params as { queue?: unknown } | undefined)?.queue;
    if (typeof queue !== 'string') return;
    const existing = request.routeOptions.config.existingQueue ?? (request.method === 'GET' || request.method === 'HEAD');
    if (existing && !(await context.queueExists(queue))) throw new QueueNotFoundError(queue);
  });

  app.setNotFoundHandler((request, reply) => {
    const { status, body } = errorResponse(
      new SluiceError('SLUICE_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}; the routes are listed in /openapi.json`),
    );
    void reply.code(status).send(body);
  });

  metrics.observeQueues({ redis: context.redis });
  app.addHook('onClose', () => {
    metrics.stopObservingQueues();
  });

  // Every route states its needs through route() (src/server/route.ts); the hooks above apply
  // them. The routes of one queue live under its prefix.
  const QUEUE = '/v1/queues/:queue';
  await app.register(opsRoutes, { context, metrics, metricsPublic });
  await app.register(queueRoutes, { prefix: '/v1/queues', context });
  await app.register(jobRoutes, { prefix: QUEUE, context });
  await app.register(limitRoutes, { prefix: QUEUE, context });
  await app.register(eventRoutes, { prefix: QUEUE, context });
  await app.register(consoleRoutes, { prefix: '/v1', context });
  await app.register(consoleStatic);
  await app.register(consumeRoutes, { prefix: QUEUE, context, metrics });
  return app;
}
