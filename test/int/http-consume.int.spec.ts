/**
 * The HTTP consume API through `app.inject()` against the run's Redis and MongoDB wire-protocol
 * server: claim with payloads, heartbeat, progress, complete with a stored result, fail
 * (retry and dead letter), release, long poll, the events HTTP consumers leave (with
 * `via: http`), stale and foreign tokens refused with 409 and nothing changed, scopes, and the
 * reaper the service runs when no library worker exists.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { jobKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { allEvents, dropQueue, testQueueName, typesOf, waitFor } from '../helpers/dispatch.js';
import { bearer, dropDatabase, openTestApp, testDatabase, type TestApp } from '../helpers/service.js';

const database = testDatabase();
let t: TestApp;
let queue: string;

beforeEach(async () => {
  t = await openTestApp(database, {
    env: { SLUICE_LEASE: '1s' },
    tokens: [
      { name: 'admin', token: 'admin-token-000000000001', scopes: ['admin'], queues: ['*'] },
      { name: 'worker', token: 'consume-token-0000000001', scopes: ['consume'], queues: ['t-*'] },
      { name: 'other', token: 'consume-token-0000000002', scopes: ['consume'], queues: ['other-*'] },
      { name: 'reader', token: 'reader-token-00000000001', scopes: ['read'], queues: ['*'] },
    ],
  });
  queue = testQueueName();
});

afterEach(async () => {
  await dropQueue(t.context.redis, queue);
  await t.close();
});

afterAll(async () => {
  await dropDatabase(database);
});

const worker = { authorization: 'Bearer consume-token-0000000001' };

function post(path: string, body?: unknown, headers: Record<string, string> = worker): Promise<LightMyRequestResponse> {
  const request: InjectOptions = { method: 'POST', url: `/v1/queues/${queue}/claims${path}`, headers: { ...headers } };
  if (body !== undefined) {
    request.payload = JSON.stringify(body);
    (request.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  return t.app.inject(request);
}

interface ErrorReply {
  error: { code: string; field?: string };
}

interface ClaimedJob {
  id: string;
  name: string;
  payload?: unknown;
  attempt: number;
  maxAttempts: number;
  token: string;
  leaseDeadline: number;
}

async function claimOne(consumer = 'py-1', extra: Record<string, unknown> = {}): Promise<ClaimedJob> {
  const res = await post('', { consumer, max: 1, ...extra });
  expect(res.statusCode, res.body).toBe(200);
  const jobs = res.json<{ jobs: ClaimedJob[] }>().jobs;
  expect(jobs).toHaveLength(1);
  return jobs[0] as ClaimedJob;
}

const jobHash = (id: string): Promise<Record<string, string>> => t.context.redis.hgetall(jobKey(toQueueName(queue), toJobId(id)));

describe('HTTP consume API', () => {
  it('claims with the payload, records heartbeat and progress, completes with a stored result; events name the consumer and via http', async () => {
    const q = t.context.queue(queue);
    await q.publish('send', { to: 'ada' }, { jobId: 'j1' });
    const before = Date.now();
    const res = await post('', { consumer: 'py-1', max: 5 });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ jobs: ClaimedJob[]; leaseMs: number }>();
    expect(body.leaseMs).toBe(1000);
    expect(body.jobs).toHaveLength(1);
    const job = body.jobs[0] as ClaimedJob;
    expect(job).toMatchObject({ id: 'j1', name: 'send', payload: { to: 'ada' }, attempt: 1, maxAttempts: 3 });
    expect(job.leaseDeadline).toBeGreaterThanOrEqual(before + 1000);

    const beat = await post(`/${job.token}/heartbeat`);
    expect(beat.statusCode).toBe(200);
    expect(beat.json<{ leaseDeadline: number }>().leaseDeadline).toBeGreaterThanOrEqual(job.leaseDeadline);
    expect((await post(`/${job.token}/progress`, { progress: { percent: 50 } })).statusCode).toBe(200);
    const done = await post(`/${job.token}/complete`, { result: { sent: true } });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toEqual({ jobId: 'j1', state: 'completed' });

    const stored = await q.get('j1');
    expect(stored).toMatchObject({ state: 'completed', worker: 'py-1' });
    const result = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/jobs/j1?include=result`, headers: bearer('admin') });
    expect(result.json()).toMatchObject({ state: 'completed', resultValue: { sent: true }, progress: { percent: 50 } });
    const events = await allEvents(t.context.redis, queue);
    expect(typesOf(events, 'j1')).toEqual(['created', 'claimed', 'progress', 'completed']);
    const claimed = events.find((e) => e.type === 'claimed');
    expect(claimed?.data).toMatchObject({ attempt: 1, worker: { id: 'py-1', via: 'http' } });
    // The wait and run time histograms, as for a library worker.
    const text = (await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer('admin') })).body;
    expect(text).toMatch(new RegExp(`sluice_job_wait_duration_seconds_count\\{queue="${queue}"\\} 1`));
    expect(text).toMatch(new RegExp(`sluice_job_run_duration_seconds_count\\{queue="${queue}",outcome="completed"\\} 1`));
  });

  it('fails: retried by the job’s backoff, then dead-lettered; retryable false dead-letters at once', async () => {
    const q = t.context.queue(queue);
    await q.publish('a', null, { jobId: 'retry', attempts: 2, backoff: { type: 'fixed', delayMs: 10 } });
    await q.publish('b', null, { jobId: 'fatal', attempts: 5 });
    const first = await claimOne('go-1', { max: 1 });
    const second = await claimOne('go-1', { max: 1 });
    const byId = new Map([first, second].map((j) => [j.id, j]));
    const failed = await post(`/${byId.get('retry')?.token}/fail`, { error: { name: 'IOError', message: 'disk full' } });
    expect(failed.json()).toMatchObject({ jobId: 'retry', state: 'delayed' });
    const fatal = await post(`/${byId.get('fatal')?.token}/fail`, { error: { message: 'bad input' }, retryable: false });
    expect(fatal.json()).toEqual({ jobId: 'fatal', state: 'dead' });
    expect(await jobHash('fatal')).toMatchObject({ state: 'dead', deadReason: 'unrecoverable' });
    // The service's promoter brings the retry back (no library worker runs here).
    const again = await claimOne('go-1', { waitMs: 5000 });
    expect(again).toMatchObject({ id: 'retry', attempt: 2 });
    expect((await post(`/${again.token}/fail`, { error: { message: 'still full' } })).json()).toEqual({ jobId: 'retry', state: 'dead' });
    const events = await allEvents(t.context.redis, queue);
    expect(typesOf(events, 'retry')).toEqual(['created', 'claimed', 'failed', 'scheduled', 'promoted', 'claimed', 'failed', 'dead-lettered']);
  });

  it('refuses a stale token with 409 and changes nothing; a token of another queue or a forged one is foreign (409)', async () => {
    const q = t.context.queue(queue);
    await q.publish('x', { n: 1 }, { jobId: 'j' });
    const old = await claimOne('py-1');
    // No heartbeat: the service's reaper takes the job back after the 1 s lease.
    await waitFor(async () => (await jobHash('j')).state === 'waiting', 15_000, 'the reaper to reclaim the job');
    const fresh = await claimOne('go-1');
    expect(fresh.attempt).toBe(2);
    const eventsBefore = (await allEvents(t.context.redis, queue)).length;
    const hashBefore = await jobHash('j');
    for (const op of ['complete', 'fail', 'heartbeat', 'progress', 'release']) {
      const body = op === 'fail' ? { error: { message: 'late' } } : op === 'progress' ? { progress: 1 } : op === 'complete' ? { result: 'late' } : undefined;
      const res = await post(`/${old.token}/${op}`, body);
      expect(res.statusCode, op).toBe(409);
      expect(res.json<ErrorReply>().error.code).toBe('SLUICE_ERR_STALE_ATTEMPT');
    }
    expect(await jobHash('j')).toEqual(hashBefore);
    expect((await allEvents(t.context.redis, queue)).length).toBe(eventsBefore);
    expect(typesOf(await allEvents(t.context.redis, queue), 'j')).toEqual(['created', 'claimed', 'timed-out', 'claimed']);

    const forged = await post('/not-a-token/complete', {});
    expect(forged.statusCode).toBe(409);
    expect(forged.json<ErrorReply>().error.code).toBe('SLUICE_ERR_FOREIGN_CLAIM');
    const otherQueue = `${queue}-b`;
    const foreign = await t.app.inject({ method: 'POST', url: `/v1/queues/${otherQueue}/claims/${fresh.token}/complete`, headers: worker });
    expect(foreign.statusCode).toBe(409);
    expect(foreign.json<ErrorReply>().error.code).toBe('SLUICE_ERR_FOREIGN_CLAIM');
    expect((await jobHash('j')).state).toBe('active');
    expect((await post(`/${fresh.token}/complete`)).statusCode).toBe(200);
  });

  it('long-polls until a job is published, answers empty after waitMs, and release gives the job back at once', async () => {
    const empty = await post('', { consumer: 'py-1', waitMs: 200 });
    expect(empty.json()).toEqual({ jobs: [], leaseMs: 1000 });
    const waiting = post('', { consumer: 'py-1', waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await t.context.queue(queue).publish('late', 7, { jobId: 'late' });
    const res = await waiting;
    expect(res.json<{ jobs: ClaimedJob[] }>().jobs.map((j) => [j.id, j.payload])).toEqual([['late', 7]]);
    const token = res.json<{ jobs: ClaimedJob[] }>().jobs[0]?.token;
    expect((await post(`/${token}/release`)).json()).toEqual({ jobId: 'late', state: 'waiting' });
    const again = await claimOne('go-1');
    expect(again).toMatchObject({ id: 'late', attempt: 1 });
  });

  it('answers waiting claims (empty) as soon as the service closes, instead of holding the close for waitMs', async () => {
    const waiting = post('', { consumer: 'py-1', waitMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await t.app.close();
    const res = await waiting;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ jobs: [], leaseMs: 1000 });
  }, 20_000);

  it('keeps serving a queue whose keys were deleted under it', async () => {
    expect((await post('', { consumer: 'py-1' })).json()).toEqual({ jobs: [], leaseMs: 1000 });
    await dropQueue(t.context.redis, queue);
    await t.context.queue(queue).publish('again', 1, { jobId: 'again' });
    expect(await claimOne('py-1')).toMatchObject({ id: 'again', payload: 1 });
  });

  it('needs the consume scope on the queue and validates the claim', async () => {
    expect((await post('', { consumer: 'x' }, { authorization: 'Bearer consume-token-0000000002' })).statusCode).toBe(403);
    expect((await post('', { consumer: 'x' }, { authorization: 'Bearer reader-token-00000000001' })).statusCode).toBe(403);
    expect((await post('', { consumer: 'x' }, {})).statusCode).toBe(401);
    const bad = await post('', { consumer: 'x', max: 1000 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorReply>().error.field).toBe('max');
    expect((await post('', { consumer: 'has space' })).statusCode).toBe(400);
    expect((await post('', { consumer: 'x', waitMs: 60_000 })).statusCode).toBe(400);
  });

  it('lists the consume routes with examples in the OpenAPI document', async () => {
    type Media = { content: Record<string, { example?: unknown }> };
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { requestBody?: Media; responses: Record<string, Media> }>> }>();
    const paths = Object.keys(doc.paths).filter((p) => p.includes('/claims'));
    expect(paths.sort()).toEqual(
      ['', '/{token}/complete', '/{token}/fail', '/{token}/heartbeat', '/{token}/progress', '/{token}/release'].map((s) => `/v1/queues/{queue}/claims${s}`).sort(),
    );
    const claim = doc.paths['/v1/queues/{queue}/claims']?.post;
    expect(claim?.requestBody?.content['application/json']?.example).toEqual({ consumer: 'py-worker-1', max: 10, waitMs: 10000 });
    expect(claim?.responses['200']?.content['application/json']?.example).toMatchObject({ leaseMs: 30000 });
    expect(doc.paths['/v1/queues/{queue}/claims/{token}/fail']?.post?.requestBody?.content['application/json']?.example).toMatchObject({ retryable: false });
  });
});
