/**
 * The HTTP consume API (docs/HTTP-WORKERS.md): workers in any language claim jobs, send
 * heartbeats and progress, and complete, fail or release them, with the leases, fencing and
 * events of the library Worker — the same functions (src/consumers/attempts.ts) run the same
 * Lua scripts. Every route needs the `consume` scope on the queue.
 *
 * @packageDocumentation
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import {
  claimAttempts,
  completeAttempts,
  extendLeases,
  failAttempt,
  recordProgress,
  releaseAttempts,
  retryTime,
  staleAttempt,
  type ClaimedAttempt,
  type ClaimOutcome,
} from '../../consumers/attempts.js';
import type { JsonValue, PayloadRef } from '../../events/types.js';
import { jobKey, toJobId, toQueueName, type QueueName } from '../../core/keys.js';
import type { PayloadValue } from '../../payloads/store.js';
import { parseBackoffField } from '../../projections/job.js';
import { payloadToJson, type SluiceContext } from '../../app/context.js';
import { logDescription } from '../http-errors.js';
import type { SluiceMetrics } from '../../metrics/sluice-metrics.js';
import { decodeClaimToken, encodeClaimToken, HttpConsumers, MAX_CLAIM, MAX_WAIT_MS, type ClaimToken } from '../consume-service.js';
import { route } from '../route.js';
import { OPTIONAL_BODY, QueueName as QueueNameSchema } from '../schemas.js';
import { scriptTime, systemClock } from '../../core/clock.js';

const strict = { additionalProperties: false } as const;
const TOKEN_EXAMPLE = 'WyJlbWFpbHMiLCJqb2ItNDIiLCIxNzMzMzI0MDAwMDAwLTAiLCJweS13b3JrZXItMSIsMTczMzMyNDAwMDAwMF0';

const ClaimBody = Type.Object(
  {
    consumer: Type.String({
      pattern: '^[A-Za-z0-9._:@-]{1,100}$',
      description: 'Consumer name: recorded in `claimed` events and the job (`worker`); one name per worker process',
    }),
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CLAIM, default: 1, description: 'Most jobs to claim' })),
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_WAIT_MS, default: 0, description: 'Long poll: wait up to this long for a job when none is waiting' })),
  },
  { ...strict, examples: [{ consumer: 'py-worker-1', max: 10, waitMs: 10000 }] },
);

const ClaimedJob = Type.Object({
  id: Type.String(),
  name: Type.String(),
  payload: Type.Optional(Type.Unknown({ description: 'The payload (binary as {"$binary": base64}); absent when the job has none' })),
  attempt: Type.Integer({ description: 'This attempt, from 1' }),
  maxAttempts: Type.Integer(),
  token: Type.String({ description: 'Claim token (opaque): the path of every later call about this attempt' }),
  leaseDeadline: Type.Integer({ description: 'Time (ms since the epoch) after which the attempt may be reclaimed unless a heartbeat extends it' }),
  timeoutMs: Type.Optional(Type.Integer({ description: 'The job’s per-attempt timeout, if it has one: fail it yourself when it passes' })),
  traceparent: Type.String({ description: 'W3C traceparent of the job' }),
  createdAt: Type.Integer(),
});

const ClaimResult = Type.Object(
  {
    jobs: Type.Array(ClaimedJob, { description: 'Empty when nothing could be claimed within waitMs' }),
    leaseMs: Type.Integer({ description: 'Lease of every attempt: send a heartbeat well within it (e.g. every third)' }),
  },
  {
    examples: [
      {
        jobs: [
          {
            id: 'job-42',
            name: 'send-email',
            payload: { to: 'ada@example.com' },
            attempt: 1,
            maxAttempts: 3,
            token: TOKEN_EXAMPLE,
            leaseDeadline: 1733324030000,
            traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            createdAt: 1733323999000,
          },
        ],
        leaseMs: 30000,
      },
    ],
  },
);

const ParamsQueue = Type.Object({ queue: QueueNameSchema }, strict);
const ClaimParams = Type.Object({ queue: QueueNameSchema, token: Type.String({ minLength: 1, maxLength: 1000, description: 'Claim token from the claim' }) }, strict);

const LeaseResult = Type.Object({ jobId: Type.String(), leaseDeadline: Type.Integer() }, { examples: [{ jobId: 'job-42', leaseDeadline: 1733324060000 }] });

const ProgressBody = Type.Object({ progress: Type.Unknown({ description: 'Any JSON value' }) }, { ...strict, examples: [{ progress: { percent: 40 } }] });

const CompleteBody = Type.Object(
  { result: Type.Optional(Type.Unknown({ description: 'Stored in the payload store like a library worker’s return value' })) },
  { ...strict, [OPTIONAL_BODY]: true, examples: [{ result: { messageId: 'm-7' } }] },
);

const FailBody = Type.Object(
  {
    error: Type.Object(
      {
        message: Type.String({ maxLength: 10_000 }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, default: 'Error' })),
        stack: Type.Optional(Type.String({ maxLength: 20_000 })),
      },
      strict,
    ),
    retryable: Type.Optional(Type.Boolean({ default: true, description: '`false` dead-letters the job now (reason `unrecoverable`)' })),
    retryDelayMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Delay before the retry for jobs with `backoff: {type: "custom"}` (ignored otherwise; default 0)' })),
  },
  { ...strict, examples: [{ error: { name: 'SmtpError', message: 'mailbox unavailable' }, retryable: false }] },
);

const Outcome = Type.Object(
  {
    jobId: Type.String(),
    state: Type.Union([Type.Literal('completed'), Type.Literal('delayed'), Type.Literal('dead'), Type.Literal('waiting')], {
      description: 'The job’s state after the call: delayed (a retry is scheduled), dead (dead-lettered), waiting (released)',
    }),
    retryAt: Type.Optional(Type.Integer({ description: 'When the retry is due (ms), for state delayed' })),
  },
  { examples: [{ jobId: 'job-42', state: 'completed' }] },
);

type Params = Static<typeof ClaimParams>;

/** The consume routes (their state — housekeeping, long-poll reads — ends when the app closes); register with the prefix `/v1/queues/:queue`. */
export const consumeRoutes: FastifyPluginCallback<{ context: SluiceContext; metrics?: SluiceMetrics }> = (app, { context, metrics }, done) => {
  const consumers = new HttpConsumers(context, (error, queue) => app.log.warn({ queue, error: logDescription(error) }, 'HTTP consumers: queue housekeeping failed; retrying'));
  // Long polls would hold the close for up to waitMs: they answer (empty) as soon as it starts.
  app.addHook('preClose', (done) => {
    consumers.stopWaiting();
    done();
  });
  app.addHook('onClose', () => consumers.close());

  /** The attempt behind the path's token, after marking the queue in use. */
  const attemptOf = async (params: Params): Promise<ClaimToken> => {
    const claim = decodeClaimToken(params.queue, params.token);
    await consumers.touch(claim.queue);
    return claim;
  };

  app.post<{ Params: Static<typeof ParamsQueue>; Body: Static<typeof ClaimBody> }>(
    '/claims',
    route({ scope: 'consume', tag: 'consume', summary: 'Claim up to `max` jobs for a consumer, waiting up to `waitMs` for one', params: ParamsQueue, body: ClaimBody, response: { 200: ClaimResult } }),
    async (request) => {
      const queue = toQueueName(request.params.queue);
      const { consumer, max = 1, waitMs = 0 } = request.body;
      await consumers.touch(queue);
      const identity = { id: consumer, host: request.ip, pid: 0, via: 'http' as const };
      const deadline = Date.now() + waitMs;
      // Leases run from the claim script (the entry's idle time starts there): deadlines count from just before it.
      let leaseStart = Date.now();
      const claim = async (): Promise<ClaimOutcome> => {
        leaseStart = Date.now();
        try {
          return await claimAttempts(context.redis, queue, scriptTime(systemClock), identity, max);
        } catch (error) {
          // The queue's keys were deleted while the service ran: recreate its groups once.
          if (!(error instanceof Error && error.message.includes('NOGROUP'))) throw error;
          await consumers.recreateGroups(queue);
          return claimAttempts(context.redis, queue, scriptTime(systemClock), identity, max);
        }
      };
      let outcome = await claim();
      if (outcome.kind !== 'jobs' && waitMs > 0) {
        outcome = await consumers.countWaiting(async () => {
          let last = outcome;
          while (last.kind !== 'jobs' && !gone(request) && !consumers.stopping) {
            const left = deadline - Date.now();
            if (left <= 0) break;
            if (last.kind === 'empty') await consumers.waitForWork(queue, last.cursor, last.retryAfterMs > 0 ? Math.min(left, last.retryAfterMs) : left);
            else await sleep(Math.min(left, last.kind === 'limited' ? Math.max(1, last.retryAfterMs) : 500));
            if (consumers.stopping) break;
            last = await claim();
          }
          return last;
        });
      }
      if (outcome.kind !== 'jobs') return { jobs: [], leaseMs: consumers.leaseMs };
      let claimedAt = Date.now();
      // The wait and run time histograms, as a library worker records them (first attempts' wait only).
      for (const job of outcome.jobs) if (job.attempt === 1) metrics?.recordWait(queue, (claimedAt - job.createdAt) / 1000);
      let payloads = new Map<string, PayloadValue>();
      const refs = outcome.jobs.map((job) => job.payload).filter((ref): ref is PayloadRef => ref !== undefined);
      try {
        if (refs.length > 0) {
          payloads = await context.payloads.getMany(queue, refs);
          // A slow payload store must not eat the lease: renew it once the payloads are here.
          leaseStart = Date.now();
          const lost = new Set(await extendLeases(context.redis, queue, scriptTime(systemClock), consumer, outcome.jobs.map((job) => [job.id, job.token])));
          if (lost.size > 0) outcome = { kind: 'jobs', jobs: outcome.jobs.filter((job) => !lost.has(job.id)) }; // cancelled meanwhile
          claimedAt = leaseStart;
        }
        if (gone(request)) throw new Error('client went away');
      } catch (error) {
        // Give the jobs back without counting the attempt.
        await releaseAttempts(context.redis, queue, scriptTime(systemClock), consumer, outcome.jobs.map((job) => [job.id, job.token]));
        throw error;
      }
      return {
        jobs: outcome.jobs.map((job) => toClaimedJob(job, queue, consumer, claimedAt, leaseStart + consumers.leaseMs, payloads)),
        leaseMs: consumers.leaseMs,
      };
    },
  );

  app.post<{ Params: Params }>(
    '/claims/:token/heartbeat',
    route({
      scope: 'consume',
      tag: 'consume',
      summary: 'Extend the attempt’s lease by leaseMs from now',
      params: ClaimParams,
      response: { 200: LeaseResult },
    }),
    async (request) => {
      const claim = await attemptOf(request.params);
      const now = Date.now();
      const lost = await extendLeases(context.redis, claim.queue, scriptTime(systemClock), claim.consumer, [[claim.jobId, claim.token]]);
      if (lost.length > 0) throw staleAttempt(claim.jobId, claim.token);
      return { jobId: claim.jobId, leaseDeadline: now + consumers.leaseMs };
    },
  );

  app.post<{ Params: Params; Body: Static<typeof ProgressBody> }>(
    '/claims/:token/progress',
    route({
      scope: 'consume',
      tag: 'consume',
      summary: 'Record progress (a `progress` event)',
      params: ClaimParams,
      body: ProgressBody,
      response: { 200: Type.Object({ jobId: Type.String() }) },
    }),
    async (request) => {
      const claim = await attemptOf(request.params);
      await recordProgress(context.redis, claim.queue, scriptTime(systemClock), claim, request.body.progress as JsonValue);
      return { jobId: claim.jobId };
    },
  );

  app.post<{ Params: Params; Body: Static<typeof CompleteBody> | null }>(
    '/claims/:token/complete',
    route({
      scope: 'consume',
      tag: 'consume',
      summary: 'Complete the attempt, storing its result',
      params: ClaimParams,
      body: CompleteBody,
      response: { 200: Outcome },
    }),
    async (request) => {
      const claim = await attemptOf(request.params);
      // A stale token stores nothing: check ownership before writing the result (the script checks again).
      await ensureOwner(context, claim);
      const value = request.body?.result;
      const [ref] = value === undefined ? [undefined] : await context.payloads.put(claim.queue, [{ value }]);
      const now = Date.now();
      const [completed] = await completeAttempts(context.redis, claim.queue, scriptTime(systemClock), [{ jobId: claim.jobId, token: claim.token, result: ref, durationMs: Math.max(0, now - claim.claimedAt) }]);
      if (!completed) throw staleAttempt(claim.jobId, claim.token);
      metrics?.recordRun(claim.queue, 'completed', (now - claim.claimedAt) / 1000);
      return { jobId: claim.jobId, state: 'completed' as const };
    },
  );

  app.post<{ Params: Params; Body: Static<typeof FailBody> }>(
    '/claims/:token/fail',
    route({
      scope: 'consume',
      tag: 'consume',
      summary: 'Fail the attempt: retried by the job’s backoff while attempts remain, else dead-lettered',
      params: ClaimParams,
      body: FailBody,
      response: { 200: Outcome },
    }),
    async (request) => {
      const claim = await attemptOf(request.params);
      const job = await ensureOwner(context, claim);
      const { error, retryable = true, retryDelayMs } = request.body;
      const now = Date.now();
      const retryAt = retryTime(job, scriptTime(systemClock), { unrecoverable: !retryable, random: Math.random(), ...(retryDelayMs === undefined ? {} : { customDelayMs: retryDelayMs }) });
      const recorded = { name: error.name ?? 'Error', message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
      const outcome = await failAttempt(context.redis, claim.queue, scriptTime(systemClock), claim, recorded, retryAt);
      metrics?.recordRun(claim.queue, outcome === 'retry' ? 'retried' : 'dead_lettered', (now - claim.claimedAt) / 1000);
      return outcome === 'retry' && retryAt !== undefined ? { jobId: claim.jobId, state: 'delayed' as const, retryAt } : { jobId: claim.jobId, state: 'dead' as const };
    },
  );

  app.post<{ Params: Params }>(
    '/claims/:token/release',
    route({
      scope: 'consume',
      tag: 'consume',
      summary: 'Give the job back for immediate redelivery (the attempt does not count)',
      params: ClaimParams,
      response: { 200: Outcome },
    }),
    async (request) => {
      const claim = await attemptOf(request.params);
      const released = await releaseAttempts(context.redis, claim.queue, scriptTime(systemClock), claim.consumer, [[claim.jobId, claim.token]]);
      if (released === 0) throw staleAttempt(claim.jobId, claim.token);
      return { jobId: claim.jobId, state: 'waiting' as const };
    },
  );
  done();
};

function toClaimedJob(job: ClaimedAttempt, queue: QueueName, consumer: string, claimedAt: number, leaseDeadline: number, payloads: Map<string, PayloadValue>): Static<typeof ClaimedJob> {
  const payload = job.payload ? payloads.get(job.payload.id) : undefined;
  return {
    id: job.id,
    name: job.name,
    ...(payload === undefined ? {} : { payload: payloadToJson(payload) }),
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    token: encodeClaimToken({ queue, jobId: job.id, token: job.token, consumer, claimedAt }),
    leaseDeadline,
    ...(job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs }),
    traceparent: job.traceparent,
    createdAt: job.createdAt,
  };
}

/**
 * The attempt's job fields when the token still owns it.
 * @throws StaleAttemptError (409) otherwise.
 */
async function ensureOwner(context: SluiceContext, claim: ClaimToken): Promise<{ attempt: number; maxAttempts: number; backoff: ReturnType<typeof parseBackoffField> }> {
  const [state, token, attempt, maxAttempts, backoff] = await context.redis.hmget(jobKey(claim.queue, toJobId(claim.jobId)), 'state', 'token', 'attempt', 'maxAttempts', 'backoff');
  if (state !== 'active' || token !== claim.token) throw staleAttempt(claim.jobId, claim.token);
  return { attempt: Number(attempt), maxAttempts: Number(maxAttempts), backoff: parseBackoffField(backoff ?? '', `job ${claim.jobId}`) };
}

function gone(request: FastifyRequest): boolean {
  // The client closed the connection (gave up waiting): claim nothing more for it.
  return request.raw.socket?.destroyed === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
