/**
 * The HTTP service through `app.inject()` against the run's Redis and MongoDB wire-protocol
 * server: every route's happy path, bad input (answered 4xx naming the field, nothing changed,
 * the service still serving), error mapping (503 with Retry-After, no secrets), and the live
 * feed over a real socket.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { AddressInfo } from 'node:net';
import { Worker } from '../../src/consumers/worker.js';
import { ErrorCodes } from '../../src/core/errors.js';
import { eventsKey, QUEUES_KEY, toQueueName } from '../../src/core/keys.js';
import { loadConfig } from '../../src/app/config.js';
import { buildApp } from '../../src/server/app.js';
import { SluiceContext } from '../../src/app/context.js';
import { dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { bearer, dropDatabase, openTestApp, testConfig, testDatabase, type TestApp } from '../helpers/service.js';

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

const json = (body: unknown): { payload: string; headers: Record<string, string> } => ({
  payload: JSON.stringify(body),
  headers: { ...admin, 'content-type': 'application/json' },
});

describe('HTTP service', () => {
  it('publishes, reads, lists, cancels, retries and removes a job whose id holds : and /', async () => {
    const id = 'invoice:2024/17';
    const path = `/v1/queues/${queue}/jobs/${encodeURIComponent(id)}`;
    const published = await t.app.inject({ method: 'POST', url: `/v1/queues/${queue}/jobs`, ...json({ name: 'bill', payload: { amount: 42 }, opts: { jobId: id, priority: 4 } }) });
    expect(published.statusCode).toBe(201);
    expect(published.json()).toEqual({ id, created: true });
    expect(published.headers.location).toBe(path);
    const again = await t.app.inject({ method: 'POST', url: `/v1/queues/${queue}/jobs`, ...json({ name: 'bill', payload: { amount: 1 }, opts: { jobId: id } }) });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ id, created: false });

    const job = await t.app.inject({ method: 'GET', url: `${path}?include=payload`, headers: admin });
    expect(job.statusCode).toBe(200);
    expect(job.json()).toMatchObject({ id, queue, name: 'bill', state: 'waiting', priority: 4, payloadValue: { amount: 42 } });

    const page = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/jobs?state=waiting&limit=10`, headers: admin });
    expect(page.json<{ jobs: { id: string }[] }>().jobs.map((j) => j.id)).toEqual([id]);

    expect((await t.app.inject({ method: 'POST', url: `${path}/cancel`, ...json({ reason: 'changed my mind' }) })).json()).toEqual({ id, fromState: 'waiting' });
    expect((await t.app.inject({ method: 'POST', url: `${path}/retry`, headers: admin })).json()).toEqual({ id, fromState: 'cancelled' });
    expect((await t.app.inject({ method: 'POST', url: `${path}/cancel`, headers: admin })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: path, headers: admin })).json()).toEqual({ id, fromState: 'cancelled' });
    expect((await t.app.inject({ method: 'GET', url: path, headers: admin })).statusCode).toBe(404);

    const history = await t.app.inject({ method: 'GET', url: `${path}/history`, headers: admin });
    expect(history.json<{ events: { type: string }[] }>().events.map((e) => e.type)).toEqual(['created', 'cancelled', 'retried', 'cancelled', 'removed']);
  });

  it('publishes in bulk, lists dead letters and requeues them, reports stats, pauses and sets retention', async () => {
    const bulk = await t.app.inject({
      method: 'POST',
      url: `/v1/queues/${queue}/jobs/bulk`,
      ...json({ jobs: [{ name: 'a', payload: 1, opts: { attempts: 1 } }, { name: 'b', payload: 2, opts: { attempts: 1, jobId: 'b1' } }] }),
    });
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json<{ results: { created: boolean }[] }>().results.map((r) => r.created)).toEqual([true, true]);
    const worker = new Worker(queue, () => Promise.reject(new Error('boom')), { connection: t.context.redis, payloads: t.context.payloads, blockMs: 100, metrics: false });
    try {
      await waitFor(async () => (await t.context.queue(queue).stats()).counts.dead === 2, 20_000, 'two dead jobs');
    } finally {
      await worker.close();
    }
    const dlq = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/dlq?limit=1`, headers: admin });
    expect(dlq.json()).toMatchObject({ jobs: [{ state: 'dead' }], nextCursor: '1' });
    const requeued = await t.app.inject({ method: 'POST', url: `/v1/queues/${queue}/dlq/requeue`, ...json({ ids: ['b1', 'nope'] }) });
    expect(requeued.json()).toMatchObject({ requeued: ['b1'], errors: [{ id: 'nope', code: 'SLUICE_ERR_JOB_NOT_FOUND' }] });
    const all = await t.app.inject({ method: 'POST', url: `/v1/queues/${queue}/dlq/requeue`, ...json({ all: true }) });
    expect(all.json<{ requeued: string[] }>().requeued).toHaveLength(1);

    const stats = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/stats`, headers: admin });
    expect(stats.json()).toMatchObject({ queue, paused: false, counts: { waiting: 2, dead: 0 }, events: { created: 2, 'dead-lettered': 2, retried: 2 } });
    const queues = await t.app.inject({ method: 'GET', url: '/v1/queues', headers: admin });
    expect(queues.json<{ queues: string[] }>().queues).toContain(queue);

    expect((await t.app.inject({ method: 'POST', url: `/v1/queues/${queue}/pause`, headers: admin })).json()).toEqual({ queue, paused: true });
    expect((await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/stats`, headers: admin })).json()).toMatchObject({ paused: true });
    expect((await t.app.inject({ method: 'POST', url: `/v1/queues/${queue}/resume`, headers: admin })).json()).toEqual({ queue, paused: false });

    const retention = await t.app.inject({ method: 'PUT', url: `/v1/queues/${queue}/retention`, ...json({ completed: { maxCount: 5, maxAgeMs: null } }) });
    expect(retention.json()).toMatchObject({ completed: { maxCount: 5, maxAgeMs: null } });
  });

  it('replays events as NDJSON by time range and type', async () => {
    const before = Date.now();
    await t.context.queue(queue).publish('a', { n: 1 }, { jobId: 'r1' });
    await t.context.queue(queue).cancel('r1');
    const all = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/replay`, headers: admin });
    expect(all.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = all.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; metadata: { jobId: string } });
    expect(lines.map((l) => l.type)).toEqual(['created', 'cancelled']);
    const typed = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/replay?types=cancelled&from=${new Date(before - 1000).toISOString()}`, headers: admin });
    expect(typed.body.trim().split('\n')).toHaveLength(1);
    const none = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/replay?to=${before - 60_000}`, headers: admin });
    expect(none.statusCode).toBe(200);
    expect(none.body).toBe('');
  });

  it('streams live events over SSE and ends the feed when the app closes', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/v1/queues/${queue}/events?types=created,cancelled`, { headers: admin });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`feed ended before ${pattern}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/: connected/);
    await t.context.queue(queue).publish('live', { n: 1 }, { jobId: 'sse1' });
    await t.context.queue(queue).cancel('sse1');
    await readUntil(/event: cancelled/);
    const messages = text.split('\n\n').filter((m) => m.startsWith('id: '));
    expect(messages.map((m) => /event: (\S+)/.exec(m)?.[1])).toEqual(['created', 'cancelled']);
    const data = JSON.parse(/data: (.*)/.exec(messages[0] as string)?.[1] as string) as { metadata: { jobId: string } };
    expect(data.metadata.jobId).toBe('sse1');
    // Closing the app ends open feeds instead of waiting for the client.
    await t.app.close();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });

  it('publishes with dedupe, group and prerequisites, and reports dependencies and the flow', async () => {
    const publish = `/v1/queues/${queue}/jobs`;
    const first = await t.app.inject({ method: 'POST', url: publish, ...json({ name: 'sync', opts: { dedupe: { key: 'sync:7', ttlMs: 60_000 }, group: 'tenant-a' } }) });
    expect(first.statusCode).toBe(201);
    const { id } = first.json<{ id: string }>();
    const dup = await t.app.inject({ method: 'POST', url: publish, ...json({ name: 'sync', opts: { dedupe: { key: 'sync:7' } } }) });
    expect(dup.statusCode).toBe(200);
    expect(dup.json()).toEqual({ id, created: false, deduplicated: true });
    const job = await t.app.inject({ method: 'GET', url: `${publish}/${id}`, headers: admin });
    expect(job.json()).toMatchObject({ id, state: 'waiting', group: 'tenant-a', dedupeKey: 'sync:7', dedupeTtlMs: 60_000 });

    const bulk = await t.app.inject({
      method: 'POST',
      url: `${publish}/bulk`,
      ...json({
        jobs: [
          { name: 'extract', opts: { jobId: 'extract' } },
          { name: 'publish', opts: { jobId: 'final', dependsOn: ['extract', { queue, jobId: 'later' }], onDependencyFailure: 'ignore' } },
          { name: 'again', opts: { dedupe: { key: 'sync:7' } } },
        ],
      }),
    });
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json()).toEqual({ results: [{ id: 'extract', created: true }, { id: 'final', created: true }, { id, created: false, deduplicated: true }] });
    const blocked = await t.app.inject({ method: 'GET', url: `${publish}/final`, headers: admin });
    expect(blocked.json()).toMatchObject({
      state: 'blocked',
      pendingDependencies: 2,
      onDependencyFailure: 'ignore',
      dependsOn: [{ queue, jobId: 'extract' }, { queue, jobId: 'later' }],
    });
    const single = await t.app.inject({ method: 'POST', url: publish, ...json({ name: 'next', opts: { jobId: 'next', dependsOn: ['final'] } }) });
    expect(single.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'GET', url: `${publish}/next`, headers: admin })).json()).toMatchObject({ state: 'blocked', pendingDependencies: 1 });
    expect((await t.app.inject({ method: 'GET', url: `${publish}?state=blocked`, headers: admin })).json<{ jobs: { id: string }[] }>().jobs.map((j) => j.id).sort()).toEqual(['final', 'next']);

    const deps = await t.app.inject({ method: 'GET', url: `${publish}/final/dependencies`, headers: admin });
    expect(deps.statusCode).toBe(200);
    expect(deps.json()).toEqual({ dependencies: [{ queue, jobId: 'extract', state: 'waiting' }, { queue, jobId: 'later' }] });
    const flow = await t.app.inject({ method: 'GET', url: `${publish}/next/flow`, headers: admin });
    expect(flow.statusCode).toBe(200);
    expect(flow.json()).toMatchObject({ state: 'running', total: 4, counts: { blocked: 2, waiting: 1, missing: 1 } });
    expect(flow.json<{ jobs: { jobId: string }[] }>().jobs.map((j) => j.jobId).sort()).toEqual(['extract', 'final', 'later', 'next']);
  });

  it('sets and reads the rate limit and group limits', async () => {
    await t.context.queue(queue).publish('seed'); // reads refuse a queue that does not exist
    const base = `/v1/queues/${queue}`;
    expect((await t.app.inject({ method: 'GET', url: `${base}/rate-limit`, headers: admin })).json()).toEqual({ queue, rate: null });
    const set = await t.app.inject({ method: 'PUT', url: `${base}/rate-limit`, ...json({ rate: { max: 20, durationMs: 1000 } }) });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ queue, rate: { max: 20, durationMs: 1000 } });
    expect((await t.context.queue(queue).getRateLimit())).toEqual({ max: 20, durationMs: 1000 });
    expect((await t.app.inject({ method: 'PUT', url: `${base}/rate-limit`, ...json({ rate: null }) })).json()).toEqual({ queue, rate: null });

    expect((await t.app.inject({ method: 'GET', url: `${base}/groups/limits`, headers: admin })).json()).toEqual({ queue, concurrency: null, rate: null, weight: 1 });
    const defaults = await t.app.inject({ method: 'PUT', url: `${base}/groups/limits`, ...json({ concurrency: 5, rate: { max: 10, durationMs: 1000 } }) });
    expect(defaults.json()).toEqual({ queue, concurrency: 5, rate: { max: 10, durationMs: 1000 }, weight: 1 });
    const one = await t.app.inject({ method: 'PUT', url: `${base}/groups/customer-42/limits`, ...json({ concurrency: 1, weight: 3 }) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ queue, group: 'customer-42', concurrency: 1, rate: { max: 10, durationMs: 1000 }, weight: 3 });
    expect(await t.context.queue(queue).getGroupLimits('customer-42')).toEqual({ concurrency: 1, rate: { max: 10, durationMs: 1000 }, weight: 3 });
    const cleared = await t.app.inject({ method: 'PUT', url: `${base}/groups/customer-42/limits`, ...json({ concurrency: null, weight: null }) });
    expect(cleared.json()).toEqual({ queue, group: 'customer-42', concurrency: 5, rate: { max: 10, durationMs: 1000 }, weight: 1 });
    expect((await t.app.inject({ method: 'GET', url: `${base}/groups/other/limits`, headers: admin })).json()).toEqual({ queue, group: 'other', concurrency: 5, rate: { max: 10, durationMs: 1000 }, weight: 1 });
  });

  it('lists the groups with waiting and active jobs', async () => {
    const q = t.context.queue(queue);
    await q.publish('seed'); // reads refuse a queue that does not exist
    expect((await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/groups`, headers: admin })).json()).toEqual({ queue, groups: [], truncated: false });
    await q.publishMany([
      { name: 'a', opts: { group: 'tenant-b' } },
      { name: 'a', opts: { group: 'tenant-b' } },
      { name: 'a', opts: { group: 'tenant-a' } },
      { name: 'plain' },
    ]);
    const listed = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/groups`, headers: admin });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual({
      queue,
      groups: [
        { group: 'tenant-a', status: 'runnable', waiting: 1, active: 0 },
        { group: 'tenant-b', status: 'runnable', waiting: 2, active: 0 },
      ],
      truncated: false,
    });
    const one = await t.app.inject({ method: 'GET', url: `/v1/queues/${queue}/groups?limit=1`, headers: admin });
    expect(one.json()).toMatchObject({ groups: [{ group: 'tenant-a' }], truncated: true });
  });

  it('creates, lists, replaces and removes repeatable jobs', async () => {
    await t.context.queue(queue).publish('seed'); // reads refuse a queue that does not exist
    const base = `/v1/queues/${queue}/repeatables`;
    expect((await t.app.inject({ method: 'GET', url: base, headers: admin })).json()).toEqual({ repeatables: [] });
    const digest = await t.app.inject({
      method: 'PUT',
      url: `${base}/digest`,
      ...json({ schedule: { cron: '0 9 * * 1-5', tz: 'Europe/Paris' }, template: { name: 'send-digest', payload: { list: 'all' }, opts: { attempts: 5 } } }),
    });
    expect(digest.statusCode).toBe(200);
    expect(digest.json()).toMatchObject({ key: 'digest', schedule: { cron: '0 9 * * 1-5', tz: 'Europe/Paris' }, template: { name: 'send-digest', payload: { list: 'all' }, opts: { attempts: 5 } }, runs: 0 });
    expect(digest.json<{ nextRunAt: number }>().nextRunAt).toBeGreaterThan(Date.now());
    const startAt = new Date(Date.now() + 3_600_000).toISOString();
    const poll = await t.app.inject({ method: 'PUT', url: `${base}/${encodeURIComponent('poll/feeds')}`, ...json({ schedule: { everyMs: 60_000, startAt }, template: { name: 'poll' } }) });
    expect(poll.statusCode).toBe(200);
    expect(poll.json()).toMatchObject({ key: 'poll/feeds', nextRunAt: Date.parse(startAt) });
    const replaced = await t.app.inject({ method: 'PUT', url: `${base}/digest`, ...json({ schedule: { everyMs: 5000 }, template: { name: 'send-digest' } }) });
    expect(replaced.json()).toMatchObject({ key: 'digest', schedule: { everyMs: 5000 } });
    const listed = await t.app.inject({ method: 'GET', url: base, headers: admin });
    expect(listed.json<{ repeatables: { key: string }[] }>().repeatables.map((r) => r.key)).toEqual(['digest', 'poll/feeds']);
    expect((await t.app.inject({ method: 'DELETE', url: `${base}/digest`, headers: admin })).json()).toEqual({ key: 'digest', removed: true });
    expect((await t.app.inject({ method: 'DELETE', url: `${base}/digest`, headers: admin })).json()).toEqual({ key: 'digest', removed: false });
    expect((await t.context.queue(queue).listRepeatables()).map((r) => r.key)).toEqual(['poll/feeds']);
  });

  it('answers bad input with 4xx naming the problem, changes nothing and keeps serving', async () => {
    await t.context.queue(queue).publish('seed', { n: 0 }, { jobId: 'seed' });
    const streamBefore = await t.context.redis.xlen(eventsKey(toQueueName(queue)));
    const queuesBefore = (await t.context.redis.smembers(QUEUES_KEY)).sort();
    const publish = `/v1/queues/${queue}/jobs`;
    const cases: { what: string; request: InjectOptions; status: number; code: string; field?: string; message?: RegExp }[] = [
      { what: 'malformed JSON', request: { method: 'POST', url: publish, payload: '{"name": "x",', headers: { ...admin, 'content-type': 'application/json' } }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'body', message: /not valid JSON/ },
      { what: 'empty JSON body', request: { method: 'POST', url: publish, payload: '', headers: { ...admin, 'content-type': 'application/json' } }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'body' },
      { what: 'not JSON', request: { method: 'POST', url: publish, payload: 'name=x', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' } }, status: 415, code: 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE' },
      { what: 'oversize body', request: { method: 'POST', url: publish, ...json({ name: 'x', payload: 'a'.repeat(1024 * 1024 + 10) }) }, status: 413, code: 'SLUICE_ERR_PAYLOAD_TOO_LARGE', message: /1048576 bytes/ },
      { what: 'body not an object', request: { method: 'POST', url: publish, ...json([1, 2]) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'body' },
      { what: 'missing name', request: { method: 'POST', url: publish, ...json({ payload: 1 }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'name', message: /required/ },
      { what: 'wrong type', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { priority: '3' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.priority', message: /integer, got string/ },
      { what: 'out of range', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { attempts: 0 } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.attempts' },
      { what: 'unknown field', request: { method: 'POST', url: publish, ...json({ name: 'x', priority: 1 }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'priority', message: /not a known field/ },
      { what: 'unknown nested field', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { backoff: { type: 'fixed', delayMs: 1, factor: 2 } } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.backoff.factor' },
      { what: 'bad backoff combination', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { backoff: { type: 'fixed' } } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.backoff.delayMs' },
      { what: 'bad job id in body', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { jobId: 'a b' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.jobId' },
      { what: 'bad runAt', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { runAt: 'tomorrow' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.runAt' },
      { what: 'prototype poisoning', request: { method: 'POST', url: publish, payload: '{"name":"x","__proto__":{"polluted":1}}', headers: { ...admin, 'content-type': 'application/json' } }, status: 400, code: 'SLUICE_ERR_VALIDATION' },
      { what: 'bulk item', request: { method: 'POST', url: `${publish}/bulk`, ...json({ jobs: [{ name: 'ok' }, { name: 'x', opts: { priority: 9 } }] }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'jobs[1].opts.priority' },
      { what: 'empty bulk', request: { method: 'POST', url: `${publish}/bulk`, ...json({ jobs: [] }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'jobs' },
      { what: 'invalid queue name', request: { method: 'POST', url: '/v1/queues/no%20spaces/jobs', ...json({ name: 'x' }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'queue', message: /may contain only/ },
      { what: 'queue name too long', request: { method: 'GET', url: `/v1/queues/${'q'.repeat(101)}/stats`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'queue' },
      { what: 'invalid job id', request: { method: 'GET', url: `${publish}/a%20b`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'id' },
      { what: 'unknown query field', request: { method: 'GET', url: `${publish}?colour=red`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'colour' },
      { what: 'bad query type', request: { method: 'GET', url: `${publish}?limit=ten`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'limit' },
      { what: 'bad state', request: { method: 'GET', url: `${publish}?state=done`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'state', message: /one of delayed, waiting/ },
      { what: 'bad cursor', request: { method: 'GET', url: `${publish}?cursor=abc`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'cursor' },
      { what: 'bad event type', request: { method: 'GET', url: `/v1/queues/${queue}/replay?types=created,exploded`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'types', message: /exploded/ },
      { what: 'bad time', request: { method: 'GET', url: `/v1/queues/${queue}/replay?from=yesterday`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'from' },
      { what: 'requeue without ids or all', request: { method: 'POST', url: `/v1/queues/${queue}/dlq/requeue`, ...json({}) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'ids' },
      { what: 'retention of a wrong type', request: { method: 'PUT', url: `/v1/queues/${queue}/retention`, ...json({ dead: { maxCount: -1 } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'dead.maxCount' },
      { what: 'cancel with an unknown field', request: { method: 'POST', url: `${publish}/seed/cancel`, ...json({ why: 'x' }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'why' },
      { what: 'dedupe without a key', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { dedupe: { ttlMs: 10 } } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.dedupe.key' },
      { what: 'negative dedupe ttl', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { dedupe: { key: 'k', ttlMs: -1 } } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.dedupe.ttlMs' },
      { what: 'unknown dedupe field', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { dedupe: { key: 'k', ttl: 5 } } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.dedupe.ttl' },
      { what: 'group with a space', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { group: 'a b' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.group' },
      { what: 'bad prerequisite', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { dependsOn: [{ queue: queue, id: 'a' }] } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.dependsOn[0]' },
      { what: 'bad failure policy', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { dependsOn: ['a'], onDependencyFailure: 'maybe' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'opts.onDependencyFailure' },
      { what: 'prerequisites with a delay', request: { method: 'POST', url: publish, ...json({ name: 'x', opts: { dependsOn: ['a'], delayMs: 10 } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION' },
      { what: 'bulk dedupe', request: { method: 'POST', url: `${publish}/bulk`, ...json({ jobs: [{ name: 'x', opts: { dedupe: {} } }] }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'jobs[0].opts.dedupe.key' },
      { what: 'rate limit of zero', request: { method: 'PUT', url: `/v1/queues/${queue}/rate-limit`, ...json({ rate: { max: 0, durationMs: 1000 } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'rate' },
      { what: 'rate limit missing', request: { method: 'PUT', url: `/v1/queues/${queue}/rate-limit`, ...json({}) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'rate' },
      { what: 'unknown group limit', request: { method: 'PUT', url: `/v1/queues/${queue}/groups/g1/limits`, ...json({ parallel: 2 }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'parallel' },
      { what: 'group concurrency of zero', request: { method: 'PUT', url: `/v1/queues/${queue}/groups/limits`, ...json({ concurrency: 0 }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'concurrency' },
      { what: 'cron and interval', request: { method: 'PUT', url: `/v1/queues/${queue}/repeatables/r1`, ...json({ schedule: { cron: '* * * * *', everyMs: 5000 }, template: { name: 'x' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'schedule' },
      { what: 'bad cron', request: { method: 'PUT', url: `/v1/queues/${queue}/repeatables/r1`, ...json({ schedule: { cron: 'every day' }, template: { name: 'x' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'schedule.cron' },
      { what: 'short interval', request: { method: 'PUT', url: `/v1/queues/${queue}/repeatables/r1`, ...json({ schedule: { everyMs: 10 }, template: { name: 'x' } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'schedule.everyMs' },
      { what: 'repeat template with a job id', request: { method: 'PUT', url: `/v1/queues/${queue}/repeatables/r1`, ...json({ schedule: { everyMs: 5000 }, template: { name: 'x', opts: { jobId: 'j' } } }) }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'template.opts.jobId' },
      { what: 'bad repeatable key', request: { method: 'DELETE', url: `/v1/queues/${queue}/repeatables/a%20b`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'key' },
      { what: 'bad groups limit', request: { method: 'GET', url: `/v1/queues/${queue}/groups?limit=0`, headers: admin }, status: 400, code: 'SLUICE_ERR_VALIDATION', field: 'limit' },
      { what: 'flow of an unknown job', request: { method: 'GET', url: `${publish}/missing/flow`, headers: admin }, status: 404, code: 'SLUICE_ERR_JOB_NOT_FOUND' },
      { what: 'retry of a waiting job', request: { method: 'POST', url: `${publish}/seed/retry`, headers: admin }, status: 409, code: 'SLUICE_ERR_INVALID_STATE' },
      { what: 'unknown job', request: { method: 'GET', url: `${publish}/missing`, headers: admin }, status: 404, code: 'SLUICE_ERR_JOB_NOT_FOUND' },
      { what: 'unknown route', request: { method: 'GET', url: '/v1/nothing', headers: admin }, status: 404, code: 'SLUICE_ERR_ROUTE_NOT_FOUND' },
    ];
    for (const c of cases) {
      const response = await t.app.inject(c.request);
      const body = response.json<{ error: { code: string; message: string; field?: string } }>();
      expect({ what: c.what, status: response.statusCode, code: body.error.code }).toEqual({ what: c.what, status: c.status, code: c.code });
      if (c.field !== undefined) expect({ what: c.what, field: body.error.field }).toEqual({ what: c.what, field: c.field });
      if (c.message) expect(body.error.message, c.what).toMatch(c.message);
      if (c.field !== undefined) expect(body.error.message, c.what).toContain(c.field === 'body' ? 'body' : c.field.split('.').at(-1));
    }
    expect(await t.context.redis.xlen(eventsKey(toQueueName(queue)))).toBe(streamBefore);
    expect((await t.context.redis.smembers(QUEUES_KEY)).sort()).toEqual(queuesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const still = await t.app.inject({ method: 'GET', url: `${publish}/seed`, headers: admin });
    expect(still.statusCode).toBe(200);
  });

  it('serves health, metrics and an OpenAPI document naming every error code', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', redis: { ok: true }, mongo: { ok: true } });
    await t.context.queue(queue).publish('m', { n: 1 });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: admin });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain(`sluice_jobs_published_total{queue="${queue}"} 1`);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ openapi: string; paths: Record<string, unknown>; components: unknown }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/queues/{queue}/jobs/{id}/history');
    const text = JSON.stringify(doc);
    for (const code of Object.keys(ErrorCodes)) expect(text, code).toContain(code);
  });
});

describe('HTTP service with unreachable servers', () => {
  it('answers 503 with Retry-After, keeps passwords out of answers, and reports unready', async () => {
    const config = loadConfig({ env: { REDIS_URL: 'redis://sluice:s3cret-pw@127.0.0.1:1', MONGO_URL: 'mongodb://sluice:s3cret-pw@127.0.0.1:1/?serverSelectionTimeoutMS=200' } });
    const context = new SluiceContext(config);
    const app = await buildApp({ context, auth: 'disabled-local' });
    try {
      const stats = await app.inject({ method: 'GET', url: '/v1/queues/q1/stats' });
      expect(stats.statusCode).toBe(503);
      expect(stats.headers['retry-after']).toBe('1');
      expect(stats.json()).toMatchObject({ error: { code: 'SLUICE_ERR_REDIS_UNAVAILABLE' } });
      // The redacted URL and a short reason, not the client library's wording.
      const message = stats.json<{ error: { message: string } }>().error.message;
      expect(message).toMatch(/^Redis at redis:\/\/sluice:\*\*\*@127\.0\.0\.1:1 unavailable during request: connection refused$/);
      // The documented error shape, nothing else.
      expect(Object.keys(stats.json<{ error: object }>())).toEqual(['error']);
      expect(Object.keys(stats.json<{ error: object }>().error).sort()).toEqual(['code', 'message']);
      expect(message).not.toMatch(/max retries|maxRetriesPerRequest|ioredis/i);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'unavailable', redis: { ok: false }, mongo: { ok: false } });
      expect(stats.body + ready.body).not.toContain('s3cret');
    } finally {
      await app.close();
      await context.close();
    }
  });
});

describe('HTTP service shutting down', () => {
  it('answers a request that runs into the shutdown with 503 SLUICE_ERR_CLOSED, logged without an error line', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const context = new SluiceContext(testConfig(database));
    const app = await buildApp({ context, auth: 'disabled-local', logger });
    const name = testQueueName();
    try {
      const published = await app.inject({ method: 'POST', url: `/v1/queues/${name}/jobs`, payload: { name: 'x', payload: { n: 1 } } });
      expect(published.statusCode).toBe(201);
      // The service closes its connections (as `close()` does at SIGTERM) while a request still runs.
      await context.close();
      const late = await app.inject({ method: 'POST', url: `/v1/queues/${name}/jobs`, payload: { name: 'x', payload: { n: 2 } } });
      expect(late.statusCode).toBe(503);
      expect(late.json()).toMatchObject({ error: { code: 'SLUICE_ERR_CLOSED' } });
      expect(lines.filter((l) => l.level >= 40)).toEqual([]);
      expect(lines.some((l) => l.msg === 'request refused: shutting down')).toBe(true);
    } finally {
      await app.close();
      const redis = new Redis(inject('redisUrl'));
      await dropQueue(redis, name);
      await redis.quit();
    }
  });
});
