/**
 * The HTTP contract of docs/HTTP.md beyond the routes' happy paths (issue #14, part 2): every
 * error answer — fastify's own too — is `{error: {code, message, field?}}`; bodies that are not
 * JSON get 415; too deep payloads name the request field; invalid UTF-8 is refused; unknown
 * queues are 404 on read routes; unknown query parameters are refused on every route; and the
 * retention policy covers cancelled jobs.
 */
import type { InjectOptions } from 'fastify';
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsKey, QUEUES_KEY, toQueueName } from '../../src/core/keys.js';
import { Worker } from '../../src/consumers/worker.js';
import { dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { bearer, dropDatabase, openTestApp, testDatabase, type TestApp } from '../helpers/service.js';

const database = testDatabase();
const admin = bearer('admin');

let t: TestApp;
let queue: string;

beforeEach(async () => {
  t = await openTestApp(database);
  queue = testQueueName();
});

afterEach(async () => {
  await dropQueue(t.context.redis, queue);
  await t.close();
});

afterAll(async () => {
  await dropDatabase(database);
});

type ErrorAnswer = { error: { code: string; message: string; field?: string } };

/** The answer's status and error body; fails unless the body has exactly the documented shape. */
async function refusal(options: InjectOptions): Promise<{ status: number; body: ErrorAnswer }> {
  const response = await t.app.inject(options);
  const body = response.json<ErrorAnswer>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'field'].includes(k))).toEqual([]);
  expect(body.error.code).toMatch(/^SLUICE_ERR_[A-Z_]+$/);
  expect(typeof body.error.message).toBe('string');
  return { status: response.statusCode, body };
}

const jsonHeaders = { ...admin, 'content-type': 'application/json' };

/** `depth` nested arrays around 1. */
function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

describe('HTTP error contract', () => {
  it("answers fastify's own refusals in the documented shape: bad URL encoding, over-long parameters", async () => {
    await t.context.queue(queue).publish('seed');
    const badUrl = await refusal({ method: 'GET', url: '/v1/queues/a%FFb/stats', headers: admin });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error).toMatchObject({ code: 'SLUICE_ERR_VALIDATION', field: 'url' });
    const badJobUrl = await refusal({ method: 'GET', url: `/v1/queues/${queue}/jobs/%E0%A4%A`, headers: admin });
    expect(badJobUrl.status).toBe(400);
    expect(badJobUrl.body.error.code).toBe('SLUICE_ERR_VALIDATION');
    const long = await refusal({ method: 'GET', url: `/v1/queues/${queue}/jobs/${'x'.repeat(1200)}`, headers: admin });
    expect(long.status).toBe(414);
    expect(long.body.error.code).toBe('SLUICE_ERR_URI_TOO_LONG');
    expect(long.body.error.message).toMatch(/1000/);
  });

  it('answers malformed HTTP and oversized headers in the documented shape over a real socket', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const raw = (text: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
        socket.write(text);
      });
    const garbage = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'SLUICE_ERR_VALIDATION', field: 'request' } });
    const headers = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest({ port, host: '127.0.0.1', path: '/healthz', headers: { 'x-big': 'a'.repeat(20_000) } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.end();
    });
    expect(headers.status).toBe(431);
    expect(JSON.parse(headers.body)).toMatchObject({ error: { code: 'SLUICE_ERR_HEADERS_TOO_LARGE' } });
  });

  it('refuses every body that is not application/json with 415, whatever it holds', async () => {
    const publish = `/v1/queues/${queue}/jobs`;
    for (const contentType of ['text/plain', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const answer = await refusal({ method: 'POST', url: publish, payload: '{"name":"x"}', headers: { ...admin, 'content-type': contentType } });
      expect({ contentType, status: answer.status, code: answer.body.error.code }).toEqual({ contentType, status: 415, code: 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE' });
    }
    const none = await refusal({ method: 'POST', url: publish, payload: Buffer.from('{"name":"x"}'), headers: { ...admin, 'content-type': '' } });
    expect(none.status).toBe(415);
    expect(await t.context.redis.sismember(QUEUES_KEY, queue)).toBe(0);
    // JSON with a charset parameter is JSON.
    const ok = await t.app.inject({ method: 'POST', url: publish, payload: '{"name":"x"}', headers: { ...admin, 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.statusCode).toBe(201);
  });

  it('names the request field of a too deeply nested payload, single and in bulk, and publishes nothing', async () => {
    const publish = `/v1/queues/${queue}/jobs`;
    const deep = await refusal({ method: 'POST', url: publish, payload: `{"name":"x","payload":${nested(10_000)}}`, headers: jsonHeaders });
    expect(deep.status).toBe(400);
    expect(deep.body.error.field).toBe('payload');
    expect(deep.body.error.message).toMatch(/nested more than 256 levels/);
    const jobs = Array.from({ length: 1000 }, (_, i) => (i === 321 ? `{"name":"x","payload":${nested(257)}}` : `{"name":"x","payload":{"n":${i}}}`));
    const bulk = await refusal({ method: 'POST', url: `${publish}/bulk`, payload: `{"jobs":[${jobs.join(',')}]}`, headers: jsonHeaders });
    expect(bulk.status).toBe(400);
    expect(bulk.body.error.field).toBe('jobs[321].payload');
    expect(await t.context.redis.exists(eventsKey(toQueueName(queue)))).toBe(0);
    // At the limit it is accepted.
    const atLimit = await t.app.inject({ method: 'POST', url: publish, payload: `{"name":"x","payload":${nested(256)}}`, headers: jsonHeaders });
    expect(atLimit.statusCode).toBe(201);
  });

  it('refuses invalid UTF-8 in a JSON body instead of rewriting it to U+FFFD', async () => {
    const publish = `/v1/queues/${queue}/jobs`;
    for (const bad of [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])]) {
      const body = Buffer.concat([Buffer.from('{"name":"x","payload":"a'), bad, Buffer.from('"}')]);
      const answer = await refusal({ method: 'POST', url: publish, payload: body, headers: jsonHeaders });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'SLUICE_ERR_VALIDATION', field: 'body' });
      expect(answer.body.error.message).toMatch(/UTF-8/);
    }
    const name = await refusal({ method: 'POST', url: publish, payload: Buffer.concat([Buffer.from('{"name":"x'), Buffer.from([0xff]), Buffer.from('"}')]), headers: jsonHeaders });
    expect(name.status).toBe(400);
    expect(await t.context.redis.exists(eventsKey(toQueueName(queue)))).toBe(0);
    // Valid multi-byte UTF-8 passes unchanged.
    const ok = await t.app.inject({ method: 'POST', url: publish, payload: Buffer.from('{"name":"x","payload":"é😀","opts":{"jobId":"u"}}'), headers: jsonHeaders });
    expect(ok.statusCode).toBe(201);
    const job = await t.app.inject({ method: 'GET', url: `${publish}/u?include=payload`, headers: admin });
    expect(job.json<{ payloadValue: string }>().payloadValue).toBe('é😀');
  });

  it('answers 404 SLUICE_ERR_QUEUE_NOT_FOUND for an unknown queue on every read route, registering nothing', async () => {
    const base = `/v1/queues/${queue}`;
    const reads = [
      `${base}/stats`,
      `${base}/jobs`,
      `${base}/jobs/j1`,
      `${base}/jobs/j1/history`,
      `${base}/jobs/j1/dependencies`,
      `${base}/jobs/j1/flow`,
      `${base}/dlq`,
      `${base}/retention`,
      `${base}/rate-limit`,
      `${base}/groups`,
      `${base}/groups/limits`,
      `${base}/groups/g1/limits`,
      `${base}/repeatables`,
      `${base}/replay`,
    ];
    for (const url of reads) {
      const answer = await refusal({ method: 'GET', url, headers: admin });
      expect({ url, status: answer.status, code: answer.body.error.code }).toEqual({ url, status: 404, code: 'SLUICE_ERR_QUEUE_NOT_FOUND' });
      expect(answer.body.error.message).toContain(queue);
    }
    for (const [method, url] of [
      ['POST', `${base}/jobs/j1/cancel`],
      ['POST', `${base}/jobs/j1/retry`],
      ['DELETE', `${base}/jobs/j1`],
      ['DELETE', `${base}/repeatables/r1`],
    ] as const) {
      const answer = await refusal({ method, url, headers: admin });
      expect({ url, status: answer.status, code: answer.body.error.code }).toEqual({ url, status: 404, code: 'SLUICE_ERR_QUEUE_NOT_FOUND' });
    }
    // The live feed is the exception: it may be opened before the first publish, and waits.
    expect(await t.context.redis.exists(eventsKey(toQueueName(queue)))).toBe(0);
    const requeue = await refusal({ method: 'POST', url: `${base}/dlq/requeue`, payload: '{"all":true}', headers: jsonHeaders });
    expect(requeue.status).toBe(404);
    expect(await t.context.redis.sismember(QUEUES_KEY, queue)).toBe(0);
    expect(await t.context.redis.exists(eventsKey(toQueueName(queue)))).toBe(0);

    // Configuring a queue creates it (like publishing): afterwards every read answers.
    expect((await t.app.inject({ method: 'POST', url: `${base}/pause`, headers: admin })).statusCode).toBe(200);
    expect(await t.context.redis.sismember(QUEUES_KEY, queue)).toBe(1);
    const stats = await t.app.inject({ method: 'GET', url: `${base}/stats`, headers: admin });
    expect(stats.statusCode).toBe(200);
    expect(stats.json()).toMatchObject({ paused: true });
    expect((await t.app.inject({ method: 'GET', url: `${base}/jobs/j1`, headers: admin })).json<ErrorAnswer>().error.code).toBe('SLUICE_ERR_JOB_NOT_FOUND');
  });

  it('knows a queue a worker consumes before anything is published to it', async () => {
    const worker = new Worker(queue, () => Promise.resolve(), { connection: t.context.redis, blockMs: 50, metrics: false });
    try {
      await waitFor(async () => (await t.context.redis.sismember(QUEUES_KEY, queue)) === 1, 20_000, 'the worker to register the queue');
      const stats = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/stats`, headers: admin });
      expect(stats.statusCode).toBe(200);
      expect(stats.json()).toMatchObject({ queue, counts: { waiting: 0 } });
    } finally {
      await worker.close();
    }
  });

  it('refuses unknown query parameters on every route with 400 naming the parameter', async () => {
    await t.context.queue(queue).publish('seed', { n: 1 }, { jobId: 's1' });
    const base = `/v1/queues/${queue}`;
    const routes: [InjectOptions['method'], string][] = [
      ['GET', '/v1/queues'],
      ['GET', `${base}/stats`],
      ['GET', `${base}/jobs`],
      ['GET', `${base}/jobs/s1`],
      ['GET', `${base}/jobs/s1/history`],
      ['GET', `${base}/jobs/s1/dependencies`],
      ['GET', `${base}/jobs/s1/flow`],
      ['GET', `${base}/dlq`],
      ['GET', `${base}/retention`],
      ['GET', `${base}/rate-limit`],
      ['GET', `${base}/groups`],
      ['GET', `${base}/groups/limits`],
      ['GET', `${base}/repeatables`],
      ['GET', `${base}/replay`],
      ['GET', `${base}/events`],
      ['POST', `${base}/pause`],
      ['POST', `${base}/jobs/s1/cancel`],
      ['DELETE', `${base}/repeatables/r1`],
      ['GET', '/metrics'],
      ['GET', '/healthz'],
      ['GET', '/readyz'],
    ];
    for (const [method, url] of routes) {
      const answer = await refusal({ method, url: `${url}?foo=1`, headers: admin });
      expect({ url, status: answer.status, code: answer.body.error.code, field: answer.body.error.field }).toEqual({ url, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'foo' });
    }
    expect((await t.app.inject({ method: 'GET', url: `${base}/jobs/s1`, headers: admin })).json()).toMatchObject({ state: 'waiting' });
  });
});

describe('retention over HTTP', () => {
  it('reads and sets the cancelled limits like the others', async () => {
    await t.context.queue(queue).publish('seed');
    const url = `/v1/queues/${queue}/retention`;
    const before = await t.app.inject({ method: 'GET', url, headers: admin });
    expect(before.json()).toEqual({
      completed: { maxAgeMs: 86_400_000, maxCount: 10_000 },
      dead: { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
      cancelled: { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
    });
    const set = await t.app.inject({ method: 'PUT', url, payload: JSON.stringify({ cancelled: { maxCount: 1, maxAgeMs: null } }), headers: jsonHeaders });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ cancelled: { maxCount: 1, maxAgeMs: null } });
    expect((await t.context.queue(queue).getRetention()).cancelled).toEqual({ maxCount: 1, maxAgeMs: null });
  });
});
