/**
 * Operations routes: `/healthz` (the process answers), `/readyz` (Redis and MongoDB answer),
 * `/metrics` (Prometheus text format) and `/openapi.json` (this service's OpenAPI document).
 *
 * @packageDocumentation
 */
import type { FastifyPluginCallback } from 'fastify';
import type { SluiceMetrics } from '../../metrics/sluice-metrics.js';
import type { SluiceContext } from '../../app/context.js';
import { route } from '../route.js';
import { HealthSchema, ReadySchema } from '../schemas.js';

/** Options of {@link opsRoutes}. */
export interface OpsRoutesOptions {
  context: SluiceContext;
  metrics: SluiceMetrics;
  metricsPublic: boolean;
}

/** The operations routes; register without a prefix. */
export const opsRoutes: FastifyPluginCallback<OpsRoutesOptions> = (app, deps, done) => {
  const started = performance.now();
  app.get(
    '/healthz',
    route({ scope: 'public', tag: 'ops', summary: 'Liveness: the process answers', errors: false, response: { 200: HealthSchema }, noSecurity: true }),
    () => Promise.resolve({ status: 'ok' as const, uptimeSeconds: Math.round((performance.now() - started) / 100) / 10 }),
  );

  app.get(
    '/readyz',
    route({
      scope: 'public',
      tag: 'ops',
      summary: 'Readiness: Redis and MongoDB both answer a ping',
      errors: false,
      response: { 200: ReadySchema, 503: ReadySchema },
      noSecurity: true,
    }),
    async (_request, reply) => {
      const { redis, mongo } = await deps.context.probe();
      const ready = redis.ok && mongo.ok;
      void reply.code(ready ? 200 : 503);
      return { status: ready ? ('ready' as const) : ('unavailable' as const), redis, mongo };
    },
  );

  app.get(
    '/metrics',
    route({
      scope: 'read',
      tag: 'ops',
      summary: 'Prometheus metrics of every queue (token with read on pattern *, unless SLUICE_METRICS_PUBLIC)',
      allQueues: true,
      when: () => !deps.metricsPublic,
    }),
    async (_request, reply) => {
      const body = await deps.metrics.registry.metrics();
      void reply.type(deps.metrics.registry.contentType);
      return body;
    },
  );

  app.get(
    '/openapi.json',
    route({ scope: 'public', tag: 'ops', summary: 'This OpenAPI document', errors: false, noSecurity: true, hide: true }),
    () => Promise.resolve(app.swagger()),
  );
  done();
};
