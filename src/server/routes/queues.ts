/**
 * Queue routes: list of queues, stats, pause and resume, retention policy, and the dead-letter
 * list with requeue.
 *
 * @packageDocumentation
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requeueDead } from '../../queue/dead-letters.js';
import type { SluiceContext } from '../../app/context.js';
import {
  JobPageSchema,
  PageQuery,
  PauseResult,
  QueueList,
  QueueParams,
  RequeueBody,
  RequeueResult,
  RetentionBody,
  RetentionSchema,
  StatsSchema,
  errorResponses,
} from '../schemas.js';

/** Registers the queue routes. */
export function registerQueueRoutes(app: FastifyInstance, { context }: { context: SluiceContext }): void {
  type Params = { Params: Static<typeof QueueParams> };

  app.get(
    '/v1/queues',
    {
      config: { auth: { scope: 'read' } },
      schema: { tags: ['queues'], summary: 'Queues that exist: published to or configured (those the token covers)', response: { 200: QueueList, ...errorResponses() } },
    },
    async (request) => ({ queues: (await context.queueNames()).filter((q) => request.grant.covers(q)) }),
  );

  app.get<Params>(
    '/v1/queues/:queue/stats',
    {
      config: { auth: { scope: 'read', queue: true } },
      schema: {
        tags: ['queues'],
        summary: 'Jobs per state, events per type, pause flag and live workers',
        params: QueueParams,
        response: { 200: StatsSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const queue = context.queue(request.params.queue);
      const [stats, workers] = await Promise.all([queue.stats(), queue.workers()]);
      return { ...stats, workers };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<Params>(
      `/v1/queues/:queue/${action}`,
      {
        config: { auth: { scope: 'admin', queue: true } },
        schema: {
          tags: ['queues'],
          summary: action === 'pause' ? 'Pause: workers take no new jobs (running ones finish)' : 'Resume a paused queue',
          params: QueueParams,
          response: { 200: PauseResult, ...errorResponses() },
        },
      },
      async (request) => {
        const queue = context.queue(request.params.queue);
        await (action === 'pause' ? queue.pause() : queue.resume());
        return { queue: queue.name, paused: action === 'pause' };
      },
    );
  }

  app.get<Params>(
    '/v1/queues/:queue/retention',
    {
      config: { auth: { scope: 'read', queue: true } },
      schema: {
        tags: ['queues'],
        summary: 'Effective retention policy of finished jobs (null: no limit)',
        params: QueueParams,
        response: { 200: RetentionSchema, ...errorResponses() },
      },
    },
    async (request) => context.queue(request.params.queue).getRetention(),
  );

  app.put<Params & { Body: Static<typeof RetentionBody> }>(
    '/v1/queues/:queue/retention',
    {
      config: { auth: { scope: 'admin', queue: true } },
      schema: {
        tags: ['queues'],
        summary: 'Set the retention policy (a limit left out returns to its default; null removes it)',
        params: QueueParams,
        body: RetentionBody,
        response: { 200: RetentionSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const queue = context.queue(request.params.queue);
      await queue.setRetention(request.body);
      return queue.getRetention();
    },
  );

  app.get<Params & { Querystring: Static<typeof PageQuery> }>(
    '/v1/queues/:queue/dlq',
    {
      config: { auth: { scope: 'read', queue: true } },
      schema: {
        tags: ['queues'],
        summary: 'Dead-lettered jobs, oldest first, a page at a time',
        params: QueueParams,
        querystring: PageQuery,
        response: { 200: JobPageSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      return context.queue(request.params.queue).list('dead', { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) });
    },
  );

  app.post<Params & { Body: Static<typeof RequeueBody> }>(
    '/v1/queues/:queue/dlq/requeue',
    {
      config: { auth: { scope: 'admin', queue: true }, existingQueue: true },
      schema: {
        tags: ['queues'],
        summary: 'Requeue dead jobs (given ids, or all: true) with a fresh attempt count',
        params: QueueParams,
        body: RequeueBody,
        response: { 200: RequeueResult, ...errorResponses() },
      },
    },
    async (request) => requeueDead(context.queue(request.params.queue), request.body, request.grant.name),
  );
}
