/**
 * Queue configuration routes of the dispatch features: the queue rate limit, group limits
 * (defaults and per group) and repeatable jobs. Configuration appends no event.
 *
 * @packageDocumentation
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../errors.js';
import type { Queue } from '../../queue.js';
import type { RepeatSchedule, RepeatTemplate } from '../../repeat.js';
import type { SluiceContext } from '../context.js';
import {
  GroupLimitsBody,
  GroupLimitsResult,
  GroupParams,
  QueueParams,
  RateLimitBody,
  RateLimitResult,
  RepeatableBody,
  RepeatableList,
  RepeatableRemoved,
  RepeatableSchema,
  RepeatParams,
  errorResponses,
} from '../schemas.js';

/** The effective limits of `group` (or the defaults) as the API reports them. */
async function groupLimitsOf(queue: Queue, group: string | undefined): Promise<Static<typeof GroupLimitsResult>> {
  const limits = await queue.getGroupLimits(group);
  return {
    queue: queue.name,
    ...(group === undefined ? {} : { group }),
    concurrency: limits.concurrency ?? null,
    rate: limits.rate ?? null,
    weight: limits.weight ?? 1,
  };
}

/** Request schedule → library schedule (ISO times → ms). */
export function toRepeatSchedule(body: Static<typeof RepeatableBody>['schedule'], field = 'schedule.'): RepeatSchedule {
  const out: RepeatSchedule = { ...body } as RepeatSchedule;
  for (const name of ['startAt', 'endAt'] as const) {
    const value = body[name];
    if (typeof value === 'string') {
      const ms = /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value);
      if (Number.isNaN(ms)) throw new ValidationError(`${field}${name}`, `${JSON.stringify(value)} is not an ISO 8601 time or milliseconds`);
      out[name] = ms;
    }
  }
  return out;
}

/** Registers the rate-limit, group-limit and repeatable-job routes. */
export function registerLimitRoutes(app: FastifyInstance, { context }: { context: SluiceContext }): void {
  type Params = { Params: Static<typeof QueueParams> };

  app.get<Params>(
    '/v1/queues/:queue/rate-limit',
    {
      config: { auth: { scope: 'read', queue: true } },
      schema: { tags: ['limits'], summary: "The queue's rate limit (null: none)", params: QueueParams, response: { 200: RateLimitResult, ...errorResponses() } },
    },
    async (request) => {
      const queue = context.queue(request.params.queue);
      return { queue: queue.name, rate: await queue.getRateLimit() };
    },
  );

  app.put<Params & { Body: Static<typeof RateLimitBody> }>(
    '/v1/queues/:queue/rate-limit',
    {
      config: { auth: { scope: 'admin', queue: true } },
      schema: {
        tags: ['limits'],
        summary: 'Set the queue rate limit: at most max starts in any durationMs window, shared by every worker (null removes it)',
        params: QueueParams,
        body: RateLimitBody,
        response: { 200: RateLimitResult, ...errorResponses() },
      },
    },
    async (request) => {
      const queue = context.queue(request.params.queue);
      await queue.setRateLimit(request.body.rate);
      return { queue: queue.name, rate: await queue.getRateLimit() };
    },
  );

  const groupLimitRoutes = [
    { path: '/v1/queues/:queue/groups/limits', what: 'the defaults of every group', params: QueueParams },
    { path: '/v1/queues/:queue/groups/:group/limits', what: 'one group (falling back to the defaults)', params: GroupParams },
  ] as const;
  for (const route of groupLimitRoutes) {
    type P = { Params: { queue: string; group?: string } };
    app.get<P>(
      route.path,
      {
        config: { auth: { scope: 'read', queue: true } },
        schema: { tags: ['limits'], summary: `Effective limits of ${route.what}`, params: route.params, response: { 200: GroupLimitsResult, ...errorResponses() } },
      },
      async (request) => groupLimitsOf(context.queue(request.params.queue), request.params.group),
    );
    app.put<P & { Body: Static<typeof GroupLimitsBody> }>(
      route.path,
      {
        config: { auth: { scope: 'admin', queue: true } },
        schema: {
          tags: ['limits'],
          summary: `Set concurrency, rate limit and weight of ${route.what}: values left out are unchanged, null removes one`,
          params: route.params,
          body: GroupLimitsBody,
          response: { 200: GroupLimitsResult, ...errorResponses() },
        },
      },
      async (request) => {
        const queue = context.queue(request.params.queue);
        await queue.setGroupLimits(request.body, request.params.group);
        return groupLimitsOf(queue, request.params.group);
      },
    );
  }

  app.get<Params>(
    '/v1/queues/:queue/repeatables',
    {
      config: { auth: { scope: 'read', queue: true } },
      schema: { tags: ['repeatables'], summary: 'Repeatable jobs, soonest first', params: QueueParams, response: { 200: RepeatableList, ...errorResponses() } },
    },
    async (request) => ({ repeatables: await context.queue(request.params.queue).listRepeatables() }),
  );

  app.put<{ Params: Static<typeof RepeatParams>; Body: Static<typeof RepeatableBody> }>(
    '/v1/queues/:queue/repeatables/:key',
    {
      config: { auth: { scope: 'admin', queue: true } },
      schema: {
        tags: ['repeatables'],
        summary: 'Create or replace a repeatable job: each occurrence of the schedule publishes the template as job repeat:<key>:<occurrence ms>',
        params: RepeatParams,
        body: RepeatableBody,
        response: { 200: RepeatableSchema, ...errorResponses() },
      },
    },
    async (request) => {
      const { schedule, template } = request.body;
      return context.queue(request.params.queue).upsertRepeatable(request.params.key, toRepeatSchedule(schedule), template as RepeatTemplate);
    },
  );

  app.delete<{ Params: Static<typeof RepeatParams> }>(
    '/v1/queues/:queue/repeatables/:key',
    {
      config: { auth: { scope: 'admin', queue: true } },
      schema: {
        tags: ['repeatables'],
        summary: 'Remove a repeatable job (occurrences already published stay)',
        params: RepeatParams,
        response: { 200: RepeatableRemoved, ...errorResponses() },
      },
    },
    async (request) => ({ key: request.params.key, removed: await context.queue(request.params.queue).removeRepeatable(request.params.key) }),
  );
}
