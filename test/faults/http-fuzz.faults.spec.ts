/**
 * Hostile input against the HTTP service: 10,000 generated requests — random and malformed
 * bodies, content types, tokens, queue names and ids (injection-looking strings, traversal,
 * unicode, huge and deeply nested values) — must never get a 5xx, never crash the service, and
 * never change data when they are rejected.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import type { RedisClient } from '../../src/redis/connection.js';
import { dropQueue, testQueueName } from '../helpers/dispatch.js';
import { bearer, dropDatabase, openTestApp, testDatabase, type TestApp } from '../helpers/service.js';

const database = testDatabase();
let t: TestApp;
let redis: RedisClient;
const target = testQueueName();

beforeAll(async () => {
  t = await openTestApp(database);
  redis = t.context.redis;
});
afterAll(async () => {
  await dropQueue(redis, target);
  await t.close();
  await dropDatabase(database);
});

const hostile = [
  '../../etc/passwd', '..%2F..%2Fetc', '%00', 'a\u0000b', '*', '{x}', 'sluice:{a}:events', "' OR 1=1 --", '<script>alert(1)</script>',
  '${jndi:ldap://x}', '__proto__', 'constructor', 'a'.repeat(5000), '😀', 'ñ', ' ', '', 'job id with spaces', '%', '%%', '?', '#',
];
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constant(target) },
  { weight: 2, arbitrary: fc.constantFrom(...hostile) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,30}$/) },
);
const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const jobLike = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.constant(null)),
    payload: fc.jsonValue({ maxDepth: 4 }),
    opts: fc.oneof(
      fc.record({ priority: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.string()), attempts: fc.integer({ min: -1, max: 2000 }), jobId: segment }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    extra: fc.string(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 4, arbitrary: jobLike.map((j) => JSON.stringify(j)) },
  { weight: 2, arbitrary: fc.array(jobLike, { maxLength: 5 }).map((jobs) => JSON.stringify({ jobs })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom(deep(5000), '{"name":', '{"name":"x","payload":' + deep(3000) + '}', 'x'.repeat(3 * 1024 * 1024)) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const routes: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: (q: string, id: string) => string; body: boolean }[] = [
  { method: 'POST', path: (q) => `/v1/queues/${q}/jobs`, body: true },
  { method: 'POST', path: (q) => `/v1/queues/${q}/jobs/bulk`, body: true },
  { method: 'GET', path: (q) => `/v1/queues/${q}/jobs`, body: false },
  { method: 'GET', path: (q, id) => `/v1/queues/${q}/jobs/${id}`, body: false },
  { method: 'GET', path: (q, id) => `/v1/queues/${q}/jobs/${id}/history`, body: false },
  { method: 'POST', path: (q, id) => `/v1/queues/${q}/jobs/${id}/retry`, body: true },
  { method: 'POST', path: (q, id) => `/v1/queues/${q}/jobs/${id}/cancel`, body: true },
  { method: 'DELETE', path: (q, id) => `/v1/queues/${q}/jobs/${id}`, body: false },
  { method: 'GET', path: () => '/v1/queues', body: false },
  { method: 'GET', path: (q) => `/v1/queues/${q}/stats`, body: false },
  { method: 'POST', path: (q) => `/v1/queues/${q}/pause`, body: true },
  { method: 'POST', path: (q) => `/v1/queues/${q}/resume`, body: true },
  { method: 'GET', path: (q) => `/v1/queues/${q}/retention`, body: false },
  { method: 'PUT', path: (q) => `/v1/queues/${q}/retention`, body: true },
  { method: 'GET', path: (q) => `/v1/queues/${q}/dlq`, body: false },
  { method: 'POST', path: (q) => `/v1/queues/${q}/dlq/requeue`, body: true },
  { method: 'GET', path: (q) => `/v1/queues/${q}/replay`, body: false },
  { method: 'GET', path: (q, id) => `/${q}/${id}`, body: true },
];
const request = fc.record({
  route: fc.nat({ max: routes.length - 1 }),
  queue: segment,
  id: segment,
  encode: fc.boolean(),
  query: fc.oneof(fc.constant(''), fc.dictionary(fc.constantFrom('state', 'limit', 'cursor', 'from', 'to', 'types', 'x'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('-1', '1e309', 'waiting', 'NaN'))).map((d) => new URLSearchParams(d).toString())),
  body,
  contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', ''),
  auth: fc.constantFrom('admin', 'admin', 'admin', 'reader', 'none', 'garbage'),
});

async function fingerprint(queue: string): Promise<string> {
  const size = await redis.dbsize();
  let length = -1;
  try {
    length = await redis.xlen(eventsKey(toQueueName(queue)));
  } catch {
    // not a valid queue name: nothing of it can exist
  }
  return `${size}/${length}`;
}

describe('HTTP fuzz', () => {
  it('10,000 hostile requests: never a 5xx, never a crash, no data change on a rejection', async () => {
    let cases = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        cases++;
        const route = routes[r.route] as (typeof routes)[number];
        const enc = (s: string): string => (r.encode ? encodeURIComponent(s) : s);
        const url = route.path(enc(r.queue), enc(r.id)) + (r.query ? `?${r.query}` : '');
        const headers: Record<string, string> = {};
        if (r.auth === 'admin') Object.assign(headers, bearer('admin'));
        if (r.auth === 'reader') Object.assign(headers, bearer('reader'));
        if (r.auth === 'garbage') headers.authorization = 'Bearer \u00ff\u0000 nope';
        if (r.contentType) headers['content-type'] = r.contentType;
        const before = await fingerprint(r.queue);
        let status: number;
        try {
          const response = await t.app.inject({ method: route.method, url, headers, ...(route.body && r.body !== undefined ? { payload: r.body } : {}) });
          status = response.statusCode;
          if (status >= 500) throw new Error(`${route.method} ${url.slice(0, 200)} → ${status}: ${response.body.slice(0, 300)}`);
        } catch (error) {
          // inject itself refuses some URLs (invalid characters) before any handler runs.
          if (error instanceof Error && /→ 5\d\d/.test(error.message)) throw error;
          if (error instanceof TypeError || (error instanceof Error && /Invalid URL|ERR_INVALID/.test(error.message))) return;
          throw error;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 400) expect(await fingerprint(r.queue), `${route.method} ${url.slice(0, 120)} → ${status} changed data`).toBe(before);
      }),
      { numRuns: 10_000 },
    );
    expect(cases).toBeGreaterThanOrEqual(10_000);
    // The service still serves after all of it.
    const health = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    console.log(`http fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses.entries()].sort()))}`);
  });
});
