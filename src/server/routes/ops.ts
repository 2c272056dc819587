/**
 * Operations routes: `/healthz` (the process answers), `/readyz` (Redis and MongoDB answer),
 * `/metrics` (Prometheus text format) and `/openapi.json` (this service's OpenAPI document).
 *
 * @packageDocumentation
 */
import type { FastifyInstance } from 'fastify';
import type { SluiceMetrics } from '../../metrics/sluice-metrics.js';
import type { SluiceContext } from '../../app/context.js';
import { HealthSchema, ReadySchema, errorResponses } from '../schemas.js';

/** Registers the operations routes. */
export function registerOpsRoutes(app: FastifyInstance, deps: { context: SluiceContext; metrics: SluiceMetrics; metricsPublic: boolean }): void {
  const started = performance.now();
  app.get(
    '/healthz',
    {
      config: { auth: { scope: 'public' } },
      schema: { tags: ['ops'], summary: 'Liveness: the process answers', security: [], response: { 200: HealthSchema } },
    },
    () => Promise.resolve({ status: 'ok' as const, uptimeSeconds: Math.round((performance.now() - started) / 100) / 10 }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: { scope: 'public' } },
      schema: {
        tags: ['ops'],
        summary: 'Readiness: Redis and MongoDB both answer a ping',
        security: [],
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const { redis, mongo } = await deps.context.probe();
      const ready = redis.ok && mongo.ok;
      void reply.code(ready ? 200 : 503);
      return { status: ready ? ('ready' as const) : ('unavailable' as const), redis, mongo };
    },
  );

  app.get(
    '/metrics',
    {
      config: { auth: { scope: 'read', allQueues: true, when: () => !deps.metricsPublic } },
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics of every queue (token with read on pattern *, unless SLUICE_METRICS_PUBLIC)',
        response: errorResponses(),
      },
    },
    async (_request, reply) => {
      const body = await deps.metrics.registry.metrics();
      void reply.type(deps.metrics.registry.contentType);
      return body;
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { auth: { scope: 'public' } },
      schema: { tags: ['ops'], summary: 'This OpenAPI document', security: [], hide: true },
    },
    () => Promise.resolve(app.swagger()),
  );
}
