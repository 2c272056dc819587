/**
 * Authentication and authorization of every route. The routes come from the service's own
 * OpenAPI document, and each must appear in the table below with the scope it needs: a route
 * added without an entry fails the test. For each route, a missing token, a malformed header and
 * an unknown token answer 401; a token lacking the scope, and (for queue routes) a token whose
 * patterns do not cover the queue, answer 403; nothing changes; the right token gets through.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsKey, QUEUES_KEY, toQueueName } from '../../src/core/keys.js';
import { loadConfig } from '../../src/app/config.js';
import { registryFromConfig, SCOPES, type Scope, type TokenEntry } from '../../src/server/auth.js';
import { dropQueue, testQueueName } from '../helpers/dispatch.js';
import { dropDatabase, openTestApp, testDatabase, type TestApp } from '../helpers/service.js';

const database = testDatabase();
const queue = testQueueName();
const JOB = 'j1';

/** Every authenticated route, with the scope it needs and a valid request body. */
const ROUTES: Record<string, { scope: Scope; queue: boolean; body?: unknown; allQueues?: boolean }> = {
  'GET /metrics': { scope: 'read', queue: false, allQueues: true },
  'GET /v1/queues': { scope: 'read', queue: false },
  'GET /v1/queues/{queue}/stats': { scope: 'read', queue: true },
  'POST /v1/queues/{queue}/pause': { scope: 'admin', queue: true },
  'POST /v1/queues/{queue}/resume': { scope: 'admin', queue: true },
  'GET /v1/queues/{queue}/retention': { scope: 'read', queue: true },
  'PUT /v1/queues/{queue}/retention': { scope: 'admin', queue: true, body: { completed: { maxCount: 1 } } },
  'GET /v1/queues/{queue}/dlq': { scope: 'read', queue: true },
  'POST /v1/queues/{queue}/dlq/requeue': { scope: 'admin', queue: true, body: { all: true } },
  'POST /v1/queues/{queue}/jobs': { scope: 'publish', queue: true, body: { name: 'x' } },
  'GET /v1/queues/{queue}/jobs': { scope: 'read', queue: true },
  'POST /v1/queues/{queue}/jobs/bulk': { scope: 'publish', queue: true, body: { jobs: [{ name: 'x' }] } },
  'GET /v1/queues/{queue}/jobs/{id}': { scope: 'read', queue: true },
  'DELETE /v1/queues/{queue}/jobs/{id}': { scope: 'admin', queue: true },
  'GET /v1/queues/{queue}/jobs/{id}/history': { scope: 'read', queue: true },
  'POST /v1/queues/{queue}/jobs/{id}/retry': { scope: 'admin', queue: true },
  'POST /v1/queues/{queue}/jobs/{id}/cancel': { scope: 'publish', queue: true, body: { reason: 'x' } },
  'GET /v1/queues/{queue}/jobs/{id}/dependencies': { scope: 'read', queue: true },
  'GET /v1/queues/{queue}/jobs/{id}/flow': { scope: 'read', queue: true },
  'GET /v1/queues/{queue}/rate-limit': { scope: 'read', queue: true },
  'PUT /v1/queues/{queue}/rate-limit': { scope: 'admin', queue: true, body: { rate: { max: 10, durationMs: 1000 } } },
  'GET /v1/queues/{queue}/groups': { scope: 'read', queue: true },
  'GET /v1/queues/{queue}/groups/limits': { scope: 'read', queue: true },
  'PUT /v1/queues/{queue}/groups/limits': { scope: 'admin', queue: true, body: { concurrency: 5 } },
  'GET /v1/queues/{queue}/groups/{group}/limits': { scope: 'read', queue: true },
  'PUT /v1/queues/{queue}/groups/{group}/limits': { scope: 'admin', queue: true, body: { weight: 2 } },
  'GET /v1/queues/{queue}/repeatables': { scope: 'read', queue: true },
  'PUT /v1/queues/{queue}/repeatables/{key}': { scope: 'admin', queue: true, body: { schedule: { everyMs: 60_000 }, template: { name: 'tick' } } },
  'DELETE /v1/queues/{queue}/repeatables/{key}': { scope: 'admin', queue: true },
  'GET /v1/queues/{queue}/replay': { scope: 'consume', queue: true },
  'GET /v1/queues/{queue}/events': { scope: 'consume', queue: true },
  'GET /v1/whoami': { scope: 'read', queue: false },
  'GET /v1/queues/{queue}/jobs/search': { scope: 'read', queue: true },
  'GET /v1/queues/{queue}/as-of': { scope: 'read', queue: true },
  'POST /v1/queues/{queue}/jobs/{id}/promote': { scope: 'admin', queue: true },
  'POST /v1/queues/{queue}/jobs/{id}/priority': { scope: 'admin', queue: true, body: { priority: 1 } },
  'POST /v1/queues/{queue}/clean': { scope: 'admin', queue: true, body: { state: 'completed', olderThanMs: 3_600_000, dryRun: true } },
  'POST /v1/queues/{queue}/verify': { scope: 'admin', queue: true },
  'POST /v1/queues/{queue}/claims': { scope: 'consume', queue: true, body: { consumer: 'auth-test' } },
  'POST /v1/queues/{queue}/claims/{token}/heartbeat': { scope: 'consume', queue: true },
  'POST /v1/queues/{queue}/claims/{token}/progress': { scope: 'consume', queue: true, body: { progress: 1 } },
  'POST /v1/queues/{queue}/claims/{token}/complete': { scope: 'consume', queue: true, body: {} },
  'POST /v1/queues/{queue}/claims/{token}/fail': { scope: 'consume', queue: true, body: { error: { message: 'x' } } },
  'POST /v1/queues/{queue}/claims/{token}/release': { scope: 'consume', queue: true },
};
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /openapi.json'];

/** A token per scope on this test's queue, one with every scope on other queues, and admin. */
const tokens: Record<string, TokenEntry> = {
  ...Object.fromEntries(SCOPES.map((scope) => [scope, { name: scope, token: `scope-${scope}-token-0001`, scopes: [scope], queues: ['t-*'] }])),
  root: { name: 'root', token: 'root-token-00000000000001', scopes: ['admin'], queues: ['*'] },
  elsewhere: { name: 'elsewhere', token: 'elsewhere-token-000000001', scopes: [...SCOPES], queues: ['other-*', 'x?'] },
};
const header = (name: string): { authorization: string } => ({ authorization: `Bearer ${(tokens[name] as TokenEntry).token as string}` });

let t: TestApp;

beforeAll(async () => {
  t = await openTestApp(database, { tokens: Object.values(tokens) });
  await t.context.queue(queue).publish('seed', { n: 1 }, { jobId: JOB });
});

afterAll(async () => {
  await dropQueue(t.context.redis, queue);
  await t.close();
  await dropDatabase(database);
});

function request(route: string, headers: Record<string, string>): InjectOptions {
  const [method, path] = route.split(' ') as [string, string];
  const spec = ROUTES[route];
  const url = path.replace('{queue}', queue).replace('{id}', JOB).replace('{group}', 'tenant-1').replace('{key}', 'nightly').replace('{token}', 'not-a-claim');
  return {
    method: method,
    url,
    headers: { ...headers, ...(spec?.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(spec?.body === undefined ? {} : { payload: JSON.stringify(spec.body) }),
  };
}

describe('HTTP auth', () => {
  it('the table covers every route of the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'head').map((m) => `${m.toUpperCase()} ${path}`));
    expect([...documented, 'GET /openapi.json'].sort()).toEqual([...Object.keys(ROUTES), ...PUBLIC].sort());
  });

  it('refuses a missing, malformed or unknown token on every route, and an uncovered queue or a missing scope', async () => {
    const before = { stream: await t.context.redis.xlen(eventsKey(toQueueName(queue))), queues: (await t.context.redis.smembers(QUEUES_KEY)).sort() };
    for (const [route, spec] of Object.entries(ROUTES)) {
      for (const [what, headers] of [
        ['no token', {}],
        ['basic auth', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
        ['unknown token', { authorization: 'Bearer not-a-known-token-0000' }],
        ['empty bearer', { authorization: 'Bearer ' }],
      ] as const) {
        const response = await t.app.inject(request(route, headers));
        expect({ route, what, status: response.statusCode }).toEqual({ route, what, status: 401 });
        expect(response.headers['www-authenticate']).toBe('Bearer realm="sluice"');
        expect(response.json()).toMatchObject({ error: { code: 'SLUICE_ERR_UNAUTHORIZED' } });
      }
      for (const scope of SCOPES.filter((s) => s !== spec.scope && s !== 'admin')) {
        const response = await t.app.inject(request(route, header(scope)));
        expect({ route, scope, status: response.statusCode }).toEqual({ route, scope, status: 403 });
        expect(response.json()).toMatchObject({ error: { code: 'SLUICE_ERR_FORBIDDEN' } });
      }
      if (spec.queue || spec.allQueues) {
        const response = await t.app.inject(request(route, header('elsewhere')));
        expect({ route, what: 'queue outside the patterns', status: response.statusCode }).toEqual({ route, what: 'queue outside the patterns', status: 403 });
        expect(response.json<{ error: { message: string } }>().error.message).toMatch(spec.allQueues ? /every queue/ : new RegExp(`does not cover queue ${queue}`));
      }
    }
    expect({ stream: await t.context.redis.xlen(eventsKey(toQueueName(queue))), queues: (await t.context.redis.smembers(QUEUES_KEY)).sort() }).toEqual(before);
  });

  it('lets the right scope through (and admin everywhere), and lists only covered queues', async () => {
    for (const [route, spec] of Object.entries(ROUTES)) {
      if (route.endsWith('/events')) continue; // a live feed does not end; tested over a socket in server.int.spec.ts
      for (const name of [spec.allQueues ? 'root' : spec.scope, 'root']) {
        const response = await t.app.inject(request(route, header(name)));
        expect({ route, name, refused: [401, 403].includes(response.statusCode) }).toEqual({ route, name, refused: false });
      }
    }
    const listed = await t.app.inject({ method: 'GET', url: '/v1/queues', headers: header('elsewhere') });
    expect(listed.json<{ queues: string[] }>().queues).not.toContain(queue);
    const mine = await t.app.inject({ method: 'GET', url: '/v1/queues', headers: header('read') });
    expect(mine.json<{ queues: string[] }>().queues).toContain(queue);
    for (const route of PUBLIC) {
      const response = await t.app.inject(request(route, {}));
      expect({ route, status: response.statusCode }).toEqual({ route, status: 200 });
    }
  });
});

describe('service start-up refusals', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:1', MONGO_URL: 'mongodb://127.0.0.1:1' };
  it('refuses to start without tokens unless told it is local, and then only on loopback', () => {
    expect(() => registryFromConfig(loadConfig({ env: base }))).toThrow(/no bearer tokens configured/);
    expect(registryFromConfig(loadConfig({ env: { ...base, SLUICE_LOCAL_NO_AUTH: 'true' } }))).toBeUndefined();
    expect(() => registryFromConfig(loadConfig({ env: { ...base, SLUICE_LOCAL_NO_AUTH: 'true', SLUICE_HOST: '0.0.0.0' } }))).toThrow(/local use only/);
    expect(() =>
      registryFromConfig(loadConfig({ env: { ...base, SLUICE_LOCAL_NO_AUTH: 'true', SLUICE_TOKENS: JSON.stringify([{ token: 'x'.repeat(20), scopes: ['read'], queues: ['*'] }]) } })),
    ).toThrow(/tokens are configured too/);
    expect(() => registryFromConfig(loadConfig({ env: { ...base, SLUICE_TOKENS: '[{"token":"short","scopes":["read"],"queues":["*"]}]' } }))).toThrow(/SLUICE_TOKENS\[0\]\.token/);
    expect(() => registryFromConfig(loadConfig({ env: { ...base, SLUICE_TOKENS: '[{"token":"long-enough-token-1","scopes":["root"],"queues":["*"]}]' } }))).toThrow(/scopes/);
    expect(() => registryFromConfig(loadConfig({ env: { ...base, SLUICE_AUTH_FILE: '/nonexistent/tokens.json' } }))).toThrow(/cannot read/);
  });
});
