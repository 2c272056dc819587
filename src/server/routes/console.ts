/**
 * Routes the console needs beyond the core API, usable by any client: job search, the queue as
 * of a past moment (time travel), promote a delayed job, change a job's priority, clean finished jobs older than an age,
 * audit verification, and `whoami` (the caller's scopes, so a UI can hide what it may not do).
 * The console's static files themselves are served by `console-static.ts`.
 *
 * @packageDocumentation
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import { DEFAULT_AS_OF_MAX_EVENTS, queueAsOf } from '../../audit/as-of.js';
import { verifyAudit } from '../../audit/verify-audit.js';
import { isSluiceError } from '../../core/errors.js';
import { PRIORITY_LEVELS, stateKey, toQueueName } from '../../core/keys.js';
import { verify } from '../../projections/rebuild.js';
import { searchJobs } from '../../queue/search.js';
import type { SluiceContext } from '../../app/context.js';
import { route } from '../route.js';
import { JobParams, JobSchema, JobStateSchema, QueueParams, StringEnum, TransitionResult } from '../schemas.js';
import { parseTime } from '../../history/filters.js';

const strict = { additionalProperties: false } as const;
const Time = Type.String({ maxLength: 40, description: 'ISO 8601 time or milliseconds since the epoch' });

/** `POST …/jobs/{id}/priority` body. */
export const PriorityBody = Type.Object(
  { priority: Type.Integer({ minimum: 0, maximum: PRIORITY_LEVELS - 1, description: 'The new lane, 0 (lowest) to 4 (highest)' }) },
  strict,
);

/** `POST …/jobs/{id}/priority` answer. */
export const PriorityResult = Type.Object({
  id: Type.String(),
  state: Type.String({ description: 'State of the job (waiting, delayed or blocked); unchanged' }),
  from: Type.Integer({ description: 'Priority lane before' }),
  to: Type.Integer({ description: 'Priority lane after (equal to from when nothing changed)' }),
});

/** `GET …/jobs/search` query. */
export const SearchQuery = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 200, description: 'Exactly this job id' })),
    idPrefix: Type.Optional(Type.String({ maxLength: 200, description: 'Job ids starting with this' })),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Exactly this job name' })),
    state: Type.Optional(JobStateSchema),
    from: Type.Optional(Type.String({ ...Time, description: 'Entered its current state at or after (ISO 8601 or ms)' })),
    to: Type.Optional(Type.String({ ...Time, description: 'Entered its current state at or before (ISO 8601 or ms)' })),
    error: Type.Optional(Type.String({ maxLength: 500, description: "Text in the last error's name, message or stack (case-insensitive)" })),
    payload: Type.Optional(
      Type.String({
        maxLength: 400,
        pattern: '^[^=]+=',
        description: 'path=value: a payload field equal to a value (text, or the number/boolean/null it spells); served by the index terms_1 of the payload collection',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 40, description: 'nextCursor of the previous answer' })),
  },
  strict,
);

const SearchResult = Type.Object({
  jobs: Type.Array(JobSchema),
  scanned: Type.Integer({ description: 'Jobs read to answer' }),
  via: StringEnum(['id', 'payload', 'state-index'] as const, { description: 'How candidates were found' }),
  nextCursor: Type.Optional(Type.String({ description: 'More may match: pass as cursor' })),
});

const AsOfQuery = Type.Object(
  {
    at: Type.String({ ...Time, description: 'The past moment' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Most waiting and active jobs listed' })),
  },
  strict,
);

const AsOfResult = Type.Object({
  queue: Type.String(),
  at: Type.Integer(),
  events: Type.Integer({ description: 'Events replayed (archive and stream) up to the moment' }),
  lastEventId: Type.Optional(Type.String()),
  counts: Type.Record(Type.String(), Type.Integer()),
  waiting: Type.Array(JobSchema),
  active: Type.Array(JobSchema),
  tookMs: Type.Integer(),
});

const CleanBody = Type.Object(
  {
    state: StringEnum(['completed', 'dead', 'cancelled'] as const),
    olderThanMs: Type.Integer({ minimum: 0, description: 'Jobs that entered the state at least this long ago' }),
    dryRun: Type.Optional(Type.Boolean({ description: 'Only count them' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
  },
  strict,
);

const CleanResult = Type.Object({ state: Type.String(), matched: Type.Integer(), removed: Type.Integer() });

const VerifyResult = Type.Object({
  queue: Type.String(),
  projections: Type.Object({ clean: Type.Boolean(), replayed: Type.Integer(), jobsCompared: Type.Integer(), differences: Type.Array(Type.String()) }),
  archive: Type.Object({ ok: Type.Boolean(), checked: Type.Integer(), broken: Type.Optional(Type.Object({ n: Type.Integer(), id: Type.Optional(Type.String()), reason: Type.String() })) }),
});

const WhoAmI = Type.Object({ name: Type.String(), scopes: Type.Array(Type.String()), queues: Type.Array(Type.String()) });

/** The console's API routes; register with the prefix `/v1`. */
export const consoleRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  app.get(
    '/whoami',
    route({ scope: 'read', tag: 'ops', summary: "The caller's token: name, scopes and queue patterns", response: { 200: WhoAmI } }),
    (request) => Promise.resolve({ name: request.grant.name, scopes: [...request.grant.scopes], queues: [...request.grant.patterns] }),
  );
  void app.register(consoleQueueRoutes, { prefix: '/queues/:queue', context });
  done();
};

/** The console's routes about one queue (prefix `/v1/queues/:queue`). */
const consoleQueueRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  type Params = { Params: Static<typeof QueueParams> };

  app.get<Params & { Querystring: Static<typeof SearchQuery> }>(
    '/jobs/search',
    route({
      scope: 'read',
      tag: 'jobs',
      summary: 'Search jobs by id (exact or prefix), name, state, time range, error text and a payload field',
      params: QueueParams,
      querystring: SearchQuery,
      response: { 200: SearchResult },
    }),
    async (request) => {
      const q = request.query;
      let payload: { path: string; value: string } | undefined;
      if (q.payload !== undefined) {
        const eq = q.payload.indexOf('=');
        payload = { path: q.payload.slice(0, eq), value: q.payload.slice(eq + 1) };
      }
      return searchJobs(
        context.redis,
        request.params.queue,
        {
          ...(q.id === undefined ? {} : { id: q.id }),
          ...(q.idPrefix === undefined ? {} : { idPrefix: q.idPrefix }),
          ...(q.name === undefined ? {} : { name: q.name }),
          ...(q.state === undefined ? {} : { state: q.state }),
          ...(q.from === undefined ? {} : { from: parseTime(q.from, 'from') }),
          ...(q.to === undefined ? {} : { to: parseTime(q.to, 'to') }),
          ...(q.error === undefined ? {} : { error: q.error }),
          ...(payload === undefined ? {} : { payload }),
          ...(q.limit === undefined ? {} : { limit: q.limit }),
          ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
        },
        context.payloads,
      );
    },
  );

  app.get<Params & { Querystring: Static<typeof AsOfQuery> }>(
    '/as-of',
    route({
      scope: 'read',
      tag: 'events',
      summary: `Time travel: jobs per state and the waiting and active jobs at a past moment, by replaying the history up to it (at most ${DEFAULT_AS_OF_MAX_EVENTS} events)`,
      params: QueueParams,
      querystring: AsOfQuery,
      response: { 200: AsOfResult },
    }),
    async (request) => {
      const at = parseTime(request.query.at, 'at');
      return queueAsOf(context.replaySource(request.params.queue), at, {
        ...(request.query.limit === undefined ? {} : { listLimit: request.query.limit }),
      });
    },
  );

  app.post<{ Params: Static<typeof JobParams> }>(
    '/jobs/:id/promote',
    route({
      scope: 'admin',
      tag: 'jobs',
      summary: 'Promote a delayed job (delay or retry backoff) to its lane now',
      params: JobParams,
      response: { 200: TransitionResult },
    }),
    async (request) => {
      const { queue, id } = request.params;
      return { id, fromState: await context.queue(queue).promote(id) };
    },
  );

  app.post<{ Params: Static<typeof JobParams>; Body: Static<typeof PriorityBody> }>(
    '/jobs/:id/priority',
    route({
      scope: 'admin',
      tag: 'jobs',
      summary: 'Change the priority lane of a waiting, delayed or blocked job (not grouped): appends `reprioritized`; a waiting job is claimed from its new lane',
      params: JobParams,
      body: PriorityBody,
      response: { 200: PriorityResult },
    }),
    async (request) => {
      const { queue, id } = request.params;
      return { id, ...(await context.queue(queue).changePriority(id, request.body.priority)) };
    },
  );

  app.post<Params & { Body: Static<typeof CleanBody> }>(
    '/clean',
    route({
      scope: 'admin',
      tag: 'queues',
      summary: 'Remove completed, dead or cancelled jobs older than an age from the read models (their events stay); dryRun counts them',
      params: QueueParams,
      body: CleanBody,
      response: { 200: CleanResult },
    }),
    async (request) => {
      const { state, olderThanMs, dryRun, limit = 10_000 } = request.body;
      const queue = context.queue(request.params.queue);
      const key = stateKey(toQueueName(request.params.queue), state);
      const cutoff = String(Date.now() - olderThanMs);
      if (dryRun) return { state, matched: Math.min(limit, await context.redis.zcount(key, '-inf', cutoff)), removed: 0 };
      const ids = await context.redis.zrangebyscore(key, '-inf', cutoff, 'LIMIT', 0, limit);
      let removed = 0;
      for (const id of ids) {
        try {
          await queue.remove(id);
          removed++;
        } catch (error) {
          // A job that moved on (e.g. retried) since it was listed is left alone.
          if (!isSluiceError(error)) throw error;
        }
      }
      return { state, matched: ids.length, removed };
    },
  );

  app.post<Params>(
    '/verify',
    route({
      scope: 'admin',
      tag: 'events',
      summary: "Verify the queue: replay its history against the read models, and check the archive's hash chain",
      params: QueueParams,
      response: { 200: VerifyResult },
    }),
    async (request) => {
      const queue = request.params.queue;
      const [projections, archive] = await Promise.all([verify(context.redis, queue, { archive: context.archive }), verifyAudit(context.archive, queue)]);
      return {
        queue,
        projections: { clean: projections.clean, replayed: projections.replayed, jobsCompared: projections.jobsCompared, differences: projections.differences },
        archive: { ok: archive.ok, checked: archive.checked, ...(archive.broken ? { broken: archive.broken } : {}) },
      };
    },
  );
  done();
};
