/**
 * Queue routes: the list of queues (`/v1/queues`) and, under `/v1/queues/:queue`, stats, pause and
 * resume, retention policy, and the dead-letter list with requeue.
 *
 * @packageDocumentation
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import { requeueDead } from '../../queue/dead-letters.js';
import type { SluiceContext } from '../../app/context.js';
import { route } from '../route.js';
import { JobPageSchema, PageQuery, PauseResult, QueueList, QueueParams, RequeueBody, RequeueResult, RetentionBody, RetentionSchema, StatsSchema } from '../schemas.js';

/** The queue routes; register with the prefix `/v1/queues`. */
export const queueRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  app.get(
    '',
    route({ scope: 'read', tag: 'queues', summary: 'Queues that exist: published to or configured (those the token covers)', response: { 200: QueueList } }),
    async (request) => ({ queues: (await context.queueNames()).filter((q) => request.grant.covers(q)) }),
  );
  void app.register(oneQueueRoutes, { prefix: '/:queue', context });
  done();
};

/** The routes of one queue (prefix `/v1/queues/:queue`). */
const oneQueueRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  type Params = { Params: Static<typeof QueueParams> };

  app.get<Params>(
    '/stats',
    route({ scope: 'read', tag: 'queues', summary: 'Jobs per state, events per type, pause flag and live workers', params: QueueParams, response: { 200: StatsSchema } }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      const [stats, workers] = await Promise.all([queue.stats(), queue.workers()]);
      return { ...stats, workers };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<Params>(
      `/${action}`,
      route({
        scope: 'admin',
        tag: 'queues',
        summary: action === 'pause' ? 'Pause: workers take no new jobs (running ones finish)' : 'Resume a paused queue',
        params: QueueParams,
        response: { 200: PauseResult },
      }),
      async (request) => {
        const queue = context.queue(request.params.queue);
        await (action === 'pause' ? queue.pause() : queue.resume());
        return { queue: queue.name, paused: action === 'pause' };
      },
    );
  }

  app.get<Params>(
    '/retention',
    route({ scope: 'read', tag: 'queues', summary: 'Effective retention policy of finished jobs (null: no limit)', params: QueueParams, response: { 200: RetentionSchema } }),
    async (request) => context.queue(request.params.queue).getRetention(),
  );

  app.put<Params & { Body: Static<typeof RetentionBody> }>(
    '/retention',
    route({
      scope: 'admin',
      tag: 'queues',
      summary: 'Set the retention policy (a limit left out returns to its default; null removes it)',
      params: QueueParams,
      body: RetentionBody,
      response: { 200: RetentionSchema },
    }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      await queue.setRetention(request.body);
      return queue.getRetention();
    },
  );

  app.get<Params & { Querystring: Static<typeof PageQuery> }>(
    '/dlq',
    route({ scope: 'read', tag: 'queues', summary: 'Dead-lettered jobs, oldest first, a page at a time', params: QueueParams, querystring: PageQuery, response: { 200: JobPageSchema } }),
    async (request) => {
      const { cursor, limit } = request.query;
      return context.queue(request.params.queue).list('dead', { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) });
    },
  );

  app.post<Params & { Body: Static<typeof RequeueBody> }>(
    '/dlq/requeue',
    route({
      scope: 'admin',
      tag: 'queues',
      summary: 'Requeue dead jobs (given ids, or all: true) with a fresh attempt count',
      params: QueueParams,
      body: RequeueBody,
      response: { 200: RequeueResult },
      existingQueue: true,
    }),
    async (request) => requeueDead(context.queue(request.params.queue), request.body, request.grant.name),
  );
  done();
};
