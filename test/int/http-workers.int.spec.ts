/**
 * Workers in other languages: the Python (clients/python) and Go (clients/go) clients, as real
 * processes against the service listening on a loopback port, drain 1,000 jobs published by the
 * Node library with 10 % failures; every job ends in exactly one terminal state. The Python
 * worker is SIGKILLed while it holds jobs: after the lease the service's reaper takes them back
 * and the Go worker completes them, and a late complete with the Python worker's old token is
 * refused (409) and changes nothing. SIGTERM stops both workers gracefully (exit 0, the job in
 * hand completed). The Go worker is built once per run into a temp dir, with
 * the standard library only (GOPROXY=off: no module download).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NewJob } from '../../src/jobs/options.js';
import { jobKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { Child } from '../helpers/child.js';
import { allEvents, dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { dropDatabase, openTestApp, ROOT, testDatabase, type TestApp } from '../helpers/service.js';

const database = testDatabase();
const queue = testQueueName();
const TOKEN = 'consume-token-0000000001';
const JOBS = 1000;
const HELD = 4;
let t: TestApp;
let url: string;
let buildDir: string;
let goWorker: string;
const children: Child[] = [];

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'sluice-go-'));
  goWorker = join(buildDir, 'http-worker');
  await promisify(execFile)('go', ['build', '-o', goWorker, '.'], {
    cwd: join(ROOT, 'test', 'fixtures', 'http-worker-go'),
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod', GOWORK: 'off', GOTOOLCHAIN: 'local' },
  });
  t = await openTestApp(database, {
    env: { SLUICE_LEASE: '2s' },
    tokens: [{ name: 'workers', token: TOKEN, scopes: ['consume'], queues: ['t-*'] }],
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  for (const child of children) await child.kill();
  await dropQueue(t.context.redis, queue);
  await t.close();
  await dropDatabase(database);
  await rm(buildDir, { recursive: true, force: true });
});

function start(kind: 'python' | 'go', consumer: string): Child {
  const env = { SLUICE_URL: url, SLUICE_QUEUE: queue, SLUICE_TOKEN: TOKEN, SLUICE_CONSUMER: consumer, SLUICE_CONCURRENCY: '8' };
  const command: [string, ...string[]] = kind === 'python' ? ['python3', join(ROOT, 'test', 'fixtures', 'http_worker.py')] : [goWorker];
  const child = new Child('', env, command);
  children.push(child);
  return child;
}

it('Python and Go workers drain 1,000 jobs with 10 % failures; a SIGKILLed Python worker’s jobs go to the Go worker after the lease', async () => {
  const q = t.context.queue(queue);
  const retry = { attempts: 2, backoff: { type: 'fixed' as const, delayMs: 20 } };
  // Held jobs first: the Python worker takes them and never finishes them.
  await q.publishMany(Array.from({ length: HELD }, (_, i): NewJob => ({ name: 'held', payload: { hold: true, n: -i }, opts: { jobId: `held-${i}`, ...retry } })));
  const python = start('python', 'py-1');
  await python.waitForLine(/"ready"/);
  const hash = (id: string): Promise<Record<string, string>> => t.context.redis.hgetall(jobKey(toQueueName(queue), toJobId(id)));
  await waitFor(async () => {
    const held = await Promise.all(Array.from({ length: HELD }, (_, i) => hash(`held-${i}`)));
    return held.every((h) => h.state === 'active' && h.worker === 'py-1');
  }, 30_000, 'the Python worker to hold the held jobs');

  const jobs: NewJob[] = Array.from({ length: JOBS }, (_, n) => ({ name: n % 10 === 0 ? 'fail' : 'work', opts: { jobId: `job-${n}`, ...retry } }));
  await q.publishMany(jobs);
  const go = start('go', 'go-1');
  await go.waitForLine(/"ready"/);
  // Let the Python worker finish part of the drain, then kill it without warning.
  await waitFor(async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return python.lines.length > 200;
  }, 60_000, 'the Python worker to take 200 jobs');
  python.signal('SIGKILL');
  await python.exited();
  const oldTokens = new Map<string, string>();
  for (const line of python.lines) {
    const parsed = JSON.parse(line) as { claimed?: string; token?: string };
    if (parsed.claimed && parsed.token) oldTokens.set(parsed.claimed, parsed.token);
  }

  const ids = [...Array.from({ length: HELD }, (_, i) => `held-${i}`), ...jobs.map((j) => j.opts?.jobId as string)];
  const finished = async (): Promise<boolean> => {
    // One pipeline a second: polling must not compete with the workers for the service's connection.
    const pipeline = t.context.redis.pipeline();
    for (const id of ids) pipeline.hget(jobKey(toQueueName(queue), toJobId(id)), 'state');
    const states = ((await pipeline.exec()) ?? []).map(([, state]) => state);
    return states.every((s) => s === 'completed' || s === 'dead');
  };
  const deadline = Date.now() + 180_000;
  while (!(await finished())) {
    expect(Date.now(), 'every job to finish').toBeLessThan(deadline);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  // Exactly one terminal event per job: completed for good jobs, dead-lettered for failing ones.
  const events = await allEvents(t.context.redis, queue);
  const terminal = new Map<string, string[]>();
  const claimedBy = new Map<string, Set<string>>();
  for (const e of events) {
    const id = e.metadata.jobId;
    if (e.type === 'completed' || e.type === 'dead-lettered') terminal.set(id, [...(terminal.get(id) ?? []), e.type]);
    if (e.type === 'claimed') {
      expect(e.data.worker.via).toBe('http');
      claimedBy.set(id, (claimedBy.get(id) ?? new Set()).add(e.data.worker.id));
    }
  }
  for (const [n, id] of jobs.map((j, n) => [n, j.opts?.jobId as string] as const)) {
    expect(terminal.get(id), id).toEqual([n % 10 === 0 ? 'dead-lettered' : 'completed']);
  }
  const consumers = new Set([...claimedBy.values()].flatMap((s) => [...s]));
  expect([...consumers].sort()).toEqual(['go-1', 'py-1']);

  // The held jobs: claimed by Python, timed out after the lease, completed by Go.
  for (let i = 0; i < HELD; i++) {
    const id = `held-${i}`;
    expect(terminal.get(id)).toEqual(['completed']);
    const types = events.filter((e) => e.metadata.jobId === id).map((e) => (e.type === 'claimed' ? `claimed:${e.data.worker.id}` : e.type));
    expect(types).toEqual(['created', 'claimed:py-1', 'timed-out', 'claimed:go-1', 'completed']);
  }

  // A late complete with the dead Python worker's token is refused and changes nothing.
  const oldToken = oldTokens.get('held-0');
  expect(oldToken).toBeDefined();
  const before = await hash('held-0');
  const eventCount = events.length;
  const late = await fetch(`${url}/v1/queues/${queue}/claims/${oldToken}/complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ result: { by: 'python', late: true } }),
  });
  expect(late.status).toBe(409);
  expect(((await late.json()) as { error: { code: string } }).error.code).toBe('SLUICE_ERR_STALE_ATTEMPT');
  expect(await hash('held-0')).toEqual(before);
  expect((await allEvents(t.context.redis, queue)).length).toBe(eventCount);
  const stored = await t.context.queue(queue).get('held-0');
  expect(stored?.result && (await t.context.payloads.get(queue, stored.result))).toEqual({ by: 'go', payload: { hold: true, n: 0 } });

  // SIGTERM stops both workers gracefully.
  go.signal('SIGTERM');
  expect(await go.exited()).toBe(0);
  expect(go.lines).toContain('{"stopped":true}');
  const python2 = start('python', 'py-2');
  await python2.waitForLine(/"ready"/);
  await t.context.queue(queue).publish('work', undefined, { jobId: 'last' });
  await python2.waitForLine(/"claimed": "last"/);
  python2.signal('SIGTERM');
  expect(await python2.exited()).toBe(0);
  expect(await hash('last')).toMatchObject({ state: 'completed', worker: 'py-2' });
}, 300_000);
