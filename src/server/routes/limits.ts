/**
 * Queue configuration routes of the dispatch features: the queue rate limit, group limits
 * (defaults and per group) and repeatable jobs. Configuration appends no event.
 *
 * @packageDocumentation
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import { groupStateKey, groupsKey, groupsParkedKey, groupWaitPrefix, toQueueName } from '../../core/keys.js';
import type { Queue } from '../../queue/queue.js';
import type { RepeatSchedule } from '../../queue/repeat.js';
import type { SluiceContext } from '../../app/context.js';
import { route } from '../route.js';
import {
  GroupList,
  GroupLimitsBody,
  GroupsQuery,
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

/**
 * The groups of the scheduler's dispatch state (read only): runnable ones (`groups`), parked
 * ones (`groups:parked`) and those with active jobs (`active:<group>` of `groups:state`).
 */
export async function listGroups(context: SluiceContext, queueName: string, limit: number): Promise<Static<typeof GroupList>> {
  const queue = toQueueName(queueName);
  const redis = context.redis;
  const [runnable, parked, state] = await Promise.all([
    redis.zrange(groupsKey(queue), '0', '-1'),
    redis.zrange(groupsParkedKey(queue), '0', '-1', 'WITHSCORES'),
    redis.hgetall(groupStateKey(queue)),
  ]);
  const parkedUntil = new Map<string, number>();
  for (let i = 0; i + 1 < parked.length; i += 2) parkedUntil.set(parked[i] as string, Number(parked[i + 1]));
  const active = new Map<string, number>();
  for (const [field, value] of Object.entries(state)) if (field.startsWith('active:')) active.set(field.slice('active:'.length), Number(value));
  const names = [...new Set([...runnable, ...parkedUntil.keys(), ...[...active].filter(([, n]) => n > 0).map(([g]) => g)])].sort();
  const shown = names.slice(0, limit);
  const ready = new Set(runnable);
  const pipeline = redis.pipeline();
  for (const g of shown) pipeline.llen(`${groupWaitPrefix(queue)}${g}`);
  const lengths = (await pipeline.exec()) ?? [];
  return {
    queue,
    groups: shown.map((group, i) => {
      const [error, waiting] = lengths[i] ?? [null, 0];
      if (error) throw error;
      const until = parkedUntil.get(group);
      return {
        group,
        status: until !== undefined ? 'parked' : ready.has(group) ? 'runnable' : 'busy',
        waiting: Number(waiting),
        active: Math.max(0, active.get(group) ?? 0),
        ...(until === undefined ? {} : { parkedUntil: until }),
      } as const;
    }),
    truncated: names.length > shown.length,
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

/** The limit and repeatable routes; register with the prefix `/v1/queues/:queue`. */
export const limitRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  type Params = { Params: Static<typeof QueueParams> };

  app.get<Params>(
    '/rate-limit',
    route({ scope: 'read', tag: 'limits', summary: "The queue's rate limit (null: none)", params: QueueParams, response: { 200: RateLimitResult } }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      return { queue: queue.name, rate: await queue.getRateLimit() };
    },
  );

  app.put<Params & { Body: Static<typeof RateLimitBody> }>(
    '/rate-limit',
    route({
      scope: 'admin',
      tag: 'limits',
      summary: 'Set the queue rate limit: at most max starts in any durationMs window, shared by every worker (null removes it)',
      params: QueueParams,
      body: RateLimitBody,
      response: { 200: RateLimitResult },
    }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      await queue.setRateLimit(request.body.rate);
      return { queue: queue.name, rate: await queue.getRateLimit() };
    },
  );

  app.get<Params & { Querystring: Static<typeof GroupsQuery> }>(
    '/groups',
    route({
      scope: 'read',
      tag: 'limits',
      summary: 'Groups the scheduler knows (waiting or running jobs), with their waiting and active counts, by name',
      params: QueueParams,
      querystring: GroupsQuery,
      response: { 200: GroupList },
    }),
    async (request) => listGroups(context, request.params.queue, request.query.limit ?? 1000),
  );

  const groupLimitRoutes = [
    { path: '/groups/limits', what: 'the defaults of every group', params: QueueParams },
    { path: '/groups/:group/limits', what: 'one group (falling back to the defaults)', params: GroupParams },
  ] as const;
  for (const limits of groupLimitRoutes) {
    type P = { Params: { queue: string; group?: string } };
    app.get<P>(
      limits.path,
      route({ scope: 'read', tag: 'limits', summary: `Effective limits of ${limits.what}`, params: limits.params, response: { 200: GroupLimitsResult } }),
      async (request) => groupLimitsOf(context.queue(request.params.queue), request.params.group),
    );
    app.put<P & { Body: Static<typeof GroupLimitsBody> }>(
      limits.path,
      route({
        scope: 'admin',
        tag: 'limits',
        summary: `Set concurrency, rate limit and weight of ${limits.what}: values left out are unchanged, null removes one`,
        params: limits.params,
        body: GroupLimitsBody,
        response: { 200: GroupLimitsResult },
      }),
      async (request) => {
        const queue = context.queue(request.params.queue);
        await queue.setGroupLimits(request.body, request.params.group);
        return groupLimitsOf(queue, request.params.group);
      },
    );
  }

  app.get<Params>(
    '/repeatables',
    route({ scope: 'read', tag: 'repeatables', summary: 'Repeatable jobs, soonest first', params: QueueParams, response: { 200: RepeatableList } }),
    async (request) => ({ repeatables: await context.queue(request.params.queue).listRepeatables() }),
  );

  app.put<{ Params: Static<typeof RepeatParams>; Body: Static<typeof RepeatableBody> }>(
    '/repeatables/:key',
    route({
      scope: 'admin',
      tag: 'repeatables',
      summary: 'Create or replace a repeatable job: each occurrence of the schedule publishes the template as job repeat:<key>:<occurrence ms>',
      params: RepeatParams,
      body: RepeatableBody,
      response: { 200: RepeatableSchema },
    }),
    async (request) => {
      const { schedule, template } = request.body;
      return context.queue(request.params.queue).upsertRepeatable(request.params.key, toRepeatSchedule(schedule), template);
    },
  );

  app.delete<{ Params: Static<typeof RepeatParams> }>(
    '/repeatables/:key',
    route({
      scope: 'admin',
      tag: 'repeatables',
      summary: 'Remove a repeatable job (occurrences already published stay)',
      params: RepeatParams,
      response: { 200: RepeatableRemoved },
      existingQueue: true,
    }),
    async (request) => ({ key: request.params.key, removed: await context.queue(request.params.queue).removeRepeatable(request.params.key) }),
  );
  done();
};
