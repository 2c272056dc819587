/**
 * The console's API routes through `app.inject()` on the run's Redis and MongoDB wire-protocol
 * server: job search (id, prefix, name, state, time range, error text, payload field, paging),
 * time travel (counts and jobs at past moments the test recorded, private keys cleaned up),
 * promote (event appended, wrong state refused), clean (dry run counts, then removes), whoami,
 * the console's static files, and `sluice search` / `sluice as-of` from the built CLI.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { queuePrefix, toQueueName } from '../../src/core/keys.js';
import { payloadTerms, searchTerms } from '../../src/payloads/terms.js';
import { scanKeys } from '../../src/redis/connection.js';
import { CONSOLE_DIR } from '../../src/server/console-static.js';
import { allEvents, dropQueue, testQueueName, typesOf, waitFor } from '../helpers/dispatch.js';
import { bearer, dropDatabase, openTestApp, ROOT, runCli, testDatabase, testEnv, type TestApp } from '../helpers/service.js';

const database = testDatabase();
const admin = bearer('admin');
const queue = testQueueName();
const q = `/v1/queues/${queue}`;
let t: TestApp;
let worker: Worker;
/** Moments the test recorded, with the counts it saw then. */
const moments: { at: number; counts: Record<string, number>; waiting: string[] }[] = [];

async function call<T>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = admin): Promise<{ status: number; body: T }> {
  const response = await t.app.inject({
    method,
    url,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: response.json() };
}

async function counts(): Promise<Record<string, number>> {
  return (await call<{ counts: Record<string, number> }>('GET', `${q}/stats`)).body.counts;
}

async function remember(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const waiting = (await call<{ jobs: { id: string }[] }>('GET', `${q}/jobs?state=waiting&limit=100`)).body.jobs.map((j) => j.id);
  moments.push({ at: Date.now(), counts: await counts(), waiting });
  await new Promise((resolve) => setTimeout(resolve, 20));
}

beforeAll(async () => {
  t = await openTestApp(database);
  await call('POST', `${q}/pause`);
  for (let n = 1; n <= 4; n++) {
    await call('POST', `${q}/jobs`, { name: n % 2 ? 'odd' : 'even', payload: { n, customer: { id: `c-${n}`, tier: n > 2 ? 'gold' : 'basic' }, tags: ['x', `t${n}`] }, opts: { jobId: `job-${n}` } });
  }
  await remember(); // 4 waiting (paused)
  await call('POST', `${q}/jobs`, { name: 'doomed', payload: { n: 5, customer: { id: 'c-5' } }, opts: { jobId: 'bad-5', attempts: 2, backoff: { type: 'fixed', delayMs: 50 } } });
  await call('POST', `${q}/jobs`, { name: 'later', payload: { n: 6 }, opts: { jobId: 'later-6', delayMs: 3_600_000 } });
  await remember(); // 5 waiting, 1 delayed
  worker = new Worker(
    queue,
    (job) => {
      if (job.name === 'doomed') throw new TypeError(`cannot bill customer c-5 (attempt ${job.attempt})`);
      return { done: job.id };
    },
    { connection: t.context.redis, payloads: t.context.payloads, blockMs: 100, promoteIntervalMs: 20 },
  );
  worker.on('error', () => undefined);
  await call('POST', `${q}/resume`);
  await waitFor(async () => {
    const c = await counts();
    return c.completed === 4 && c.dead === 1 ? c : undefined;
  }, 30_000, '4 completed, 1 dead');
  await remember(); // 4 completed, 1 dead, 1 delayed
}, 120_000);

afterAll(async () => {
  await worker?.close(1000);
  await dropQueue(t.context.redis, queue);
  await t.close();
  await dropDatabase(database);
});

describe('payload terms', () => {
  it('are the scalar leaves of an object payload, bounded', () => {
    expect(payloadTerms({ n: 1, customer: { id: 'a', vip: true }, tags: ['x', 2], none: null })).toEqual(['n=1', 'customer.id="a"', 'customer.vip=true', 'tags="x"', 'tags=2', 'none=null']);
    expect(payloadTerms([1, 2])).toEqual([]);
    expect(payloadTerms('text')).toEqual([]);
    expect(payloadTerms(new Uint8Array([1]))).toEqual([]);
    expect(payloadTerms({ long: 'x'.repeat(201), a: { b: { c: { d: { e: 1 } } } } })).toEqual([]);
    expect(payloadTerms(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])))).toHaveLength(64);
    expect(searchTerms('n', '42')).toEqual(['n="42"', 'n=42']);
    expect(searchTerms('customer.id', 'acme')).toEqual(['customer.id="acme"']);
  });
});

describe('job search', () => {
  type Found = { jobs: { id: string }[]; via: string; nextCursor?: string; scanned: number };
  const ids = async (query: string): Promise<string[]> => {
    const r = await call<Found>('GET', `${q}/jobs/search?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.jobs.map((j) => j.id).sort();
  };

  it('finds by id, prefix, name, state and error text', async () => {
    expect(await ids('id=job-3')).toEqual(['job-3']);
    expect(await ids('id=nope')).toEqual([]);
    expect(await ids('idPrefix=job-')).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
    expect(await ids('name=odd')).toEqual(['job-1', 'job-3']);
    expect(await ids('state=delayed')).toEqual(['later-6']);
    expect(await ids('error=CANNOT%20BILL')).toEqual(['bad-5']);
    expect(await ids('error=TypeError&state=dead')).toEqual(['bad-5']);
    expect(await ids('error=TypeError&state=completed')).toEqual([]);
  });

  it('finds by payload field through the index terms_1', async () => {
    const r = await call<Found>('GET', `${q}/jobs/search?payload=${encodeURIComponent('customer.tier=gold')}`);
    expect(r.body.via).toBe('payload');
    expect(r.body.jobs.map((j) => j.id).sort()).toEqual(['job-3', 'job-4']);
    expect(await ids(`payload=${encodeURIComponent('n=6')}`)).toEqual(['later-6']);
    expect(await ids(`payload=${encodeURIComponent('tags=t2')}`)).toEqual(['job-2']);
    expect(await ids(`payload=${encodeURIComponent('customer.tier=gold')}&name=even`)).toEqual(['job-4']);
    const indexes = await t.context.mongo.db(database).collection(`sluice_payloads_${queue}`).indexes();
    expect(indexes.map((i) => i.name)).toContain('terms_1');
  });

  it('limits by time and pages with a cursor', async () => {
    const [, second] = moments;
    // Jobs that entered their state after the second moment: everything the worker touched.
    expect(await ids(`from=${second!.at}`)).toEqual(['bad-5', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(await ids(`to=${second!.at}`)).toEqual(['later-6']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r: { status: number; body: Found } = await call<Found>('GET', `${q}/jobs/search?idPrefix=job-&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.body.jobs.map((j) => j.id));
      cursor = r.body.nextCursor;
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual(['job-1', 'job-2', 'job-3', 'job-4']);
  });

  it('refuses bad queries with the field named', async () => {
    for (const [query, field] of [
      ['state=nope', 'state'],
      ['from=yesterday', 'from'],
      ['payload=noequals', 'payload'],
      [`payload=${encodeURIComponent('a..b=1')}`, 'payload'],
      ['cursor=zzz', 'cursor'],
      ['limit=0', 'limit'],
    ] as const) {
      const r = await call<{ error: { code: string; field?: string } }>('GET', `${q}/jobs/search?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error.code).toBe('SLUICE_ERR_VALIDATION');
      expect(r.body.error.field, query).toBe(field);
    }
  });
});

describe('time travel', () => {
  it('shows the counts and waiting jobs recorded at each past moment, and leaves no keys behind', async () => {
    for (const moment of moments) {
      const r = await call<{ counts: Record<string, number>; waiting: { id: string }[]; events: number }>('GET', `${q}/as-of?at=${moment.at}`);
      expect(r.status).toBe(200);
      for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed', 'dead', 'cancelled']) {
        expect(r.body.counts[state], `${state} at ${moment.at}`).toBe(moment.counts[state] ?? 0);
      }
      expect(r.body.waiting.map((j) => j.id).sort()).toEqual([...moment.waiting].sort());
    }
    const before = await call<{ events: number; counts: Record<string, number> }>('GET', `${q}/as-of?at=${moments[0]!.at - 60_000}`);
    expect(before.body.events).toBe(0);
    const leftovers: string[] = [];
    const prefix = `${queuePrefix(toQueueName(queue))}asof:`;
    for await (const keys of scanKeys(t.context.redis, `${prefix.replace(/[{}[\]*?]/g, (c) => `\\${c}`)}*`)) leftovers.push(...keys);
    expect(leftovers).toEqual([]);
    const bad = await call<{ error: { field?: string } }>('GET', `${q}/as-of?at=tomorrow`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('at');
  });
});

describe('actions', () => {
  it('promotes a delayed job with a promoted event, and refuses one that is not delayed', async () => {
    const r = await call<{ fromState: string }>('POST', `${q}/jobs/later-6/promote`);
    expect(r.status).toBe(200);
    expect(r.body.fromState).toBe('delayed');
    await waitFor(async () => ((await call<{ state: string }>('GET', `${q}/jobs/later-6`)).body.state === 'completed' ? true : undefined), 20_000, 'promoted job completed');
    const events = await allEvents(t.context.redis, queue);
    expect(typesOf(events, 'later-6')).toEqual(['created', 'scheduled', 'promoted', 'claimed', 'completed']);
    expect(events.find((e) => e.metadata.jobId === 'later-6' && e.type === 'promoted')?.data).toMatchObject({ reason: 'manual' });
    const again = await call<{ error: { code: string } }>('POST', `${q}/jobs/later-6/promote`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SLUICE_ERR_INVALID_STATE');
    expect((await call('POST', `${q}/jobs/ghost/promote`)).status).toBe(404);
    expect((await call('POST', `${q}/jobs/job-1/promote`, undefined, bearer('reader'))).status).toBe(403);
  });

  it('cleans finished jobs older than an age after counting them', async () => {
    const dry = await call<{ matched: number; removed: number }>('POST', `${q}/clean`, { state: 'completed', olderThanMs: 0, dryRun: true });
    expect(dry.body).toEqual({ state: 'completed', matched: 5, removed: 0 });
    const none = await call<{ matched: number }>('POST', `${q}/clean`, { state: 'completed', olderThanMs: 3_600_000 });
    expect(none.body.matched).toBe(0);
    const done = await call<{ matched: number; removed: number }>('POST', `${q}/clean`, { state: 'completed', olderThanMs: 0, limit: 2 });
    expect(done.body).toEqual({ state: 'completed', matched: 2, removed: 2 });
    expect((await counts()).completed).toBe(3);
    const events = await allEvents(t.context.redis, queue);
    expect(events.filter((e) => e.type === 'removed')).toHaveLength(2);
    expect((await call('POST', `${q}/clean`, { state: 'waiting', olderThanMs: 0 })).status).toBe(400);
  });

  it('tells the caller who it is', async () => {
    expect((await call('GET', '/v1/whoami', undefined, bearer('reader'))).body).toEqual({ name: 'reader', scopes: ['read'], queues: ['*'] });
    expect((await call('GET', '/v1/whoami', undefined, {})).status).toBe(401);
  });
});

describe('console files', () => {
  it('redirects / to /ui/, serves the built console, and refuses paths outside it', async () => {
    const root = await t.app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    const index = await t.app.inject({ method: 'GET', url: '/ui/' });
    if (existsSync(join(CONSOLE_DIR, 'index.html'))) {
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toContain('text/html');
      expect(index.headers['content-security-policy']).toContain("default-src 'self'");
      const asset = /src="\/ui\/(assets\/[^"]+\.js)"/.exec(index.body)?.[1];
      expect(asset).toBeDefined();
      const js = await t.app.inject({ method: 'GET', url: `/ui/${asset}` });
      expect(js.statusCode).toBe(200);
      expect(js.headers['cache-control']).toContain('immutable');
      expect((await t.app.inject({ method: 'GET', url: '/ui/q/deep/link' })).statusCode).toBe(200);
    } else {
      expect(index.statusCode).toBe(503);
    }
    expect((await t.app.inject({ method: 'GET', url: '/ui/assets/none.js' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/ui/..%2F..%2Fpackage.json' })).statusCode).toBe(404);
  });
});

describe('CLI', () => {
  it('sluice search and sluice as-of answer like the API', async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('run npm run build first');
    const env = testEnv(database);
    const found = await runCli(['search', queue, '--payload', 'customer.id=c-5', '--json'], env);
    expect(found.code, found.stderr).toBe(0);
    expect((JSON.parse(found.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual(['bad-5']);
    const human = await runCli(['search', queue, '--error', 'cannot bill'], env);
    expect(human.stdout).toContain('bad-5');
    const bad = await runCli(['search', queue, '--payload', 'novalue'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--payload');
    const asOf = await runCli(['as-of', queue, String(moments[1]!.at), '--json'], env);
    expect(asOf.code, asOf.stderr).toBe(0);
    expect((JSON.parse(asOf.stdout) as { counts: Record<string, number> }).counts).toMatchObject({ waiting: 5, delayed: 1 });
  });
});
