/**
 * Job routes: publish (one or many), get, list by state, history, retry, cancel, remove.
 *
 * @packageDocumentation
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginCallback } from 'fastify';
import { isTraceparent } from '../../events/traceparent.js';
import { jobHistory } from '../../history/replay.js';
import { JobNotFoundError, ValidationError } from '../../core/errors.js';
import type { JobOptions, NewJob } from '../../jobs/options.js';
import type { PayloadValue } from '../../payloads/store.js';
import type { Job } from '../../projections/job.js';
import { payloadToJson, type SluiceContext } from '../../app/context.js';
import { route } from '../route.js';
import {
  BulkBody,
  BulkResult,
  CancelBody,
  DependenciesSchema,
  FlowSchema,
  HistorySchema,
  JobPageSchema,
  JobParams,
  JobQuery,
  JobSchema,
  ListQuery,
  NewJobBody,
  PublishResult,
  QueueParams,
  TransitionResult,
  OPTIONAL_BODY,
} from '../schemas.js';

/** Request body options → library job options (ISO `runAt` → ms; the request's traceparent as default). */
export function toJobOptions(opts: Static<typeof NewJobBody>['opts'], field: string, traceparent: string | string[] | undefined): JobOptions | undefined {
  const out: JobOptions = { ...(opts ?? {}) } as JobOptions;
  if (opts?.runAt !== undefined && typeof opts.runAt === 'string') {
    const ms = Date.parse(opts.runAt);
    if (Number.isNaN(ms)) throw new ValidationError(`${field}runAt`, `${JSON.stringify(opts.runAt)} is not an ISO 8601 time or milliseconds`);
    out.runAt = ms;
  }
  if (out.traceparent === undefined && isTraceparent(traceparent)) out.traceparent = traceparent;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Library errors of a single publish name `jobs[0].…`; the request field is `…`. */
function unprefix(error: unknown): unknown {
  if (error instanceof ValidationError && error.field.startsWith('jobs[0].')) {
    const field = error.field.slice('jobs[0].'.length);
    return new ValidationError(field, error.message.slice(error.field.length + 2), { cause: error });
  }
  return error;
}

/** The job routes; register with the prefix `/v1/queues/:queue`. */
export const jobRoutes: FastifyPluginCallback<{ context: SluiceContext }> = (app, { context }, done) => {
  const jobPath = (queue: string, id: string): string => `/v1/queues/${encodeURIComponent(queue)}/jobs/${encodeURIComponent(id)}`;

  app.post<{ Params: Static<typeof QueueParams>; Body: Static<typeof NewJobBody> }>(
    '/jobs',
    route({
      scope: 'publish',
      tag: 'jobs',
      summary: 'Publish one job (201 created; 200 when a job with that id exists already)',
      params: QueueParams,
      body: NewJobBody,
      response: { 200: PublishResult, 201: PublishResult },
    }),
    async (request, reply) => {
      const { name, payload, opts } = request.body;
      const options = toJobOptions(opts, 'opts.', request.headers.traceparent);
      let result;
      try {
        result = await context.queue(request.params.queue).publish(name, payload, options);
      } catch (error) {
        throw unprefix(error);
      }
      void reply.code(result.created ? 201 : 200).header('location', jobPath(request.params.queue, result.id));
      return result;
    },
  );

  app.post<{ Params: Static<typeof QueueParams>; Body: Static<typeof BulkBody> }>(
    '/jobs/bulk',
    route({
      scope: 'publish',
      tag: 'jobs',
      summary: 'Publish many jobs at once (payloads in one insertMany, one script call); all or nothing',
      params: QueueParams,
      body: BulkBody,
      response: { 200: BulkResult },
      bodyLimit: context.config.bulkBodyLimit,
    }),
    async (request) => {
      const jobs: NewJob[] = request.body.jobs.map((job, i) => {
        const opts = toJobOptions(job.opts, `jobs[${i}].opts.`, request.headers.traceparent);
        return { name: job.name, ...(job.payload === undefined ? {} : { payload: job.payload }), ...(opts ? { opts } : {}) };
      });
      return { results: await context.queue(request.params.queue).publishMany(jobs) };
    },
  );

  app.get<{ Params: Static<typeof QueueParams>; Querystring: Static<typeof ListQuery> }>(
    '/jobs',
    route({
      scope: 'read',
      tag: 'jobs',
      summary: 'List jobs in one state, oldest first (waiting: highest priority first, then arrival), a page at a time',
      params: QueueParams,
      querystring: ListQuery,
      response: { 200: JobPageSchema },
    }),
    async (request) => {
      const { state = 'waiting', cursor, limit } = request.query;
      return context.queue(request.params.queue).list(state, { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) });
    },
  );

  app.get<{ Params: Static<typeof JobParams>; Querystring: Static<typeof JobQuery> }>(
    '/jobs/:id',
    route({
      scope: 'read',
      tag: 'jobs',
      summary: 'Get a job (include=payload,result adds its payload and result)',
      params: JobParams,
      querystring: JobQuery,
      response: { 200: JobSchema },
    }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      const job: Job & { payloadValue?: unknown; resultValue?: unknown } = await queue.getOrThrow(request.params.id);
      const include = new Set((request.query.include ?? '').split(',').filter(Boolean));
      if (include.has('payload') && job.payload) job.payloadValue = payloadToJson((await queue.getPayload(job)) as PayloadValue);
      if (include.has('result') && job.result) job.resultValue = payloadToJson((await queue.getResult(job)) as PayloadValue);
      return job;
    },
  );

  app.get<{ Params: Static<typeof JobParams> }>(
    '/jobs/:id/history',
    route({
      scope: 'read',
      tag: 'events',
      summary: "A job's audit history: every event, in order, from the archive and the live stream",
      params: JobParams,
      response: { 200: HistorySchema },
    }),
    async (request) => {
      const { queue, id } = request.params;
      const events = await jobHistory(context.replaySource(queue), id);
      if (events.length === 0) throw new JobNotFoundError(queue, id);
      return { events };
    },
  );

  app.get<{ Params: Static<typeof JobParams> }>(
    '/jobs/:id/dependencies',
    route({
      scope: 'read',
      tag: 'jobs',
      summary: "A job's prerequisites (dependsOn) with their states, and results once completed",
      params: JobParams,
      response: { 200: DependenciesSchema },
    }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      await queue.getOrThrow(request.params.id);
      const dependencies = await queue.dependencies(request.params.id);
      return {
        dependencies: dependencies.map((d) => ({
          queue: d.queue,
          jobId: d.jobId,
          ...(d.state === undefined ? {} : { state: d.state }),
          ...(d.result === undefined ? {} : { result: payloadToJson(d.result as PayloadValue) }),
        })),
      };
    },
  );

  app.get<{ Params: Static<typeof JobParams> }>(
    '/jobs/:id/flow',
    route({
      scope: 'read',
      tag: 'jobs',
      summary: 'The flow ending in a job: it and, transitively across queues, its prerequisites, counted per state',
      params: JobParams,
      response: { 200: FlowSchema },
    }),
    async (request) => {
      const queue = context.queue(request.params.queue);
      await queue.getOrThrow(request.params.id);
      return queue.flow(request.params.id);
    },
  );

  app.post<{ Params: Static<typeof JobParams> }>(
    '/jobs/:id/retry',
    route({
      scope: 'admin',
      tag: 'jobs',
      summary: 'Retry a failed, dead or cancelled job with a fresh attempt count',
      params: JobParams,
      response: { 200: TransitionResult },
      existingQueue: true,
    }),
    async (request) => {
      const { queue, id } = request.params;
      return { id, fromState: await context.queue(queue).retry(id, request.grant.name) };
    },
  );

  app.post<{ Params: Static<typeof JobParams>; Body: Static<typeof CancelBody> | undefined }>(
    '/jobs/:id/cancel',
    route({
      scope: 'publish',
      tag: 'jobs',
      summary: 'Cancel a waiting, delayed or active job (an active handler sees its signal fire)',
      params: JobParams,
      body: { ...CancelBody, [OPTIONAL_BODY]: true },
      response: { 200: TransitionResult },
      existingQueue: true,
    }),
    async (request) => {
      const { queue, id } = request.params;
      return { id, fromState: await context.queue(queue).cancel(id, request.body?.reason ?? '') };
    },
  );

  app.delete<{ Params: Static<typeof JobParams> }>(
    '/jobs/:id',
    route({
      scope: 'admin',
      tag: 'jobs',
      summary: 'Remove a job that is not active from the read models (its events stay)',
      params: JobParams,
      response: { 200: TransitionResult },
      existingQueue: true,
    }),
    async (request) => {
      const { queue, id } = request.params;
      return { id, fromState: await context.queue(queue).remove(id) };
    },
  );
  done();
};
