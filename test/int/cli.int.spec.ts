/**
 * The built `sluice` CLI (dist/cli/index.js, `npm run build`) as a process against the run's
 * Redis and MongoDB wire-protocol server: tables and `--json`, exit codes, progress-bar commands
 * (export, rebuild, verify), cleanup, and the guard of `flush`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { eventsKey, QUEUES_KEY, toQueueName } from '../../src/core/keys.js';
import { SluiceContext } from '../../src/app/context.js';
import { dropQueue, testQueueName, waitFor } from '../helpers/dispatch.js';
import { dropDatabase, ROOT, runCli, testConfig, testDatabase, testEnv } from '../helpers/service.js';

const database = testDatabase();
const env = testEnv(database);
const queue = testQueueName();
let context: SluiceContext;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  context = new SluiceContext(testConfig(database));
  const q = context.queue(queue);
  await q.publishMany([
    { name: 'ok', payload: { n: 1 }, opts: { jobId: 'ok-1' } },
    { name: 'ok', payload: { n: 2 }, opts: { jobId: 'ok-2' } },
    { name: 'bad', payload: { n: 3 }, opts: { jobId: 'bad-1', attempts: 1 } },
  ]);
  const worker = new Worker<{ n: number }>(
    queue,
    (job) => (job.name === 'bad' ? Promise.reject(new Error('always fails')) : Promise.resolve({ doubled: job.payload.n * 2 })),
    { connection: context.redis, payloads: context.payloads, blockMs: 100, metrics: false },
  );
  try {
    await waitFor(async () => {
      const { counts } = await q.stats();
      return counts.completed === 2 && counts.dead === 1;
    }, 20_000, 'two completed and one dead job');
  } finally {
    await worker.close();
  }
});

afterAll(async () => {
  await dropQueue(context.redis, queue);
  await context.close();
  await dropDatabase(database);
  rmSync(dir, { recursive: true, force: true });
});

describe('sluice CLI (built)', () => {
  it('prints stats, jobs, a job and its history as tables and as JSON', async () => {
    const table = await runCli(['stats', queue], env);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^QUEUE\s+PAUSED\s+DELAYED\s+WAITING\s+ACTIVE\s+COMPLETED\s+FAILED\s+DEAD\s+CANCELLED\s.*WORKERS\s+EVENTS\s+TRIMMED\s+STREAM FROM$/);
    expect(table.stdout).toContain(queue);

    const [stats, jobs, show, history] = await Promise.all([
      runCli(['stats', queue, '--json'], env),
      runCli(['jobs', queue, '--state', 'completed', '--json'], env),
      runCli(['show', queue, 'ok-1', '--payload', '--result', '--json'], env),
      runCli(['history', queue, 'ok-1', '--json'], env),
    ]);
    expect(JSON.parse(stats.stdout)).toMatchObject({ queue, counts: { completed: 2, dead: 1 } });
    expect((JSON.parse(jobs.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id).sort()).toEqual(['ok-1', 'ok-2']);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'ok-1', state: 'completed', payloadValue: { n: 1 }, resultValue: { doubled: 2 } });
    expect((JSON.parse(history.stdout) as { events: { type: string }[] }).events.map((e) => e.type)).toEqual(['created', 'claimed', 'completed']);

    const human = await runCli(['history', queue, 'ok-1'], env);
    expect(human.stdout).toMatch(/^TIME\s+SEQ\s+TYPE\s+DETAILS/);
    expect(human.stdout).toMatch(/completed/);
  });

  it('lists and requeues dead letters, and fails with exit 1 on a refused retry', async () => {
    const dead = await runCli(['dlq', 'list', queue, '--json'], env);
    expect((JSON.parse(dead.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual(['bad-1']);
    const refused = await runCli(['retry', queue, 'ok-1'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ok-1 is completed/);
    const requeued = await runCli(['dlq', 'requeue', queue, '--all', '--json'], env);
    expect(requeued.code).toBe(0);
    expect(JSON.parse(requeued.stdout)).toEqual({ requeued: ['bad-1'], errors: [] });
    expect((await context.queue(queue).get('bad-1'))?.state).toBe('waiting');
  });

  it('exports, replays, rebuilds and verifies', async () => {
    const file = join(dir, 'events.ndjson');
    const exported = await runCli(['export', queue, '--out', file], env);
    expect(exported.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(await context.redis.xlen(eventsKey(toQueueName(queue))));
    expect(exported.stderr).toContain(`exported ${lines.length} event(s)`);
    const replay = await runCli(['replay', queue, '--types', 'created', '--json'], env);
    expect(replay.stdout.trim().split('\n')).toHaveLength(3);
    const rebuilt = await runCli(['rebuild', queue, '--json'], env);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ replayed: lines.length, jobs: 3 });
    const verified = await runCli(['verify', queue], env);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/read models: clean/);
    expect(verified.stdout).toMatch(/archive: intact/);
  });

  it('cleans up finished jobs by count', async () => {
    const dry = await runCli(['cleanup', queue, '--state', 'completed', '--keep', '1', '--dry-run', '--json'], env);
    expect(JSON.parse(dry.stdout)).toMatchObject({ removed: 1, dryRun: true });
    expect((await context.queue(queue).stats()).counts.completed).toBe(2);
    const done = await runCli(['cleanup', queue, '--state', 'completed', '--keep', '1', '--json'], env);
    expect(JSON.parse(done.stdout)).toMatchObject({ removed: 1, dryRun: false });
    expect((await context.queue(queue).stats()).counts.completed).toBe(1);
  });

  it('sets, lists and removes repeatable jobs', async () => {
    const set = await runCli(['repeat', 'set', queue, 'digest', '--name', 'send-digest', '--cron', '0 9 * * 1-5', '--tz', 'Europe/Paris', '--payload', '{"list":"all"}', '--job-attempts', '5', '--json'], env);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ key: 'digest', schedule: { cron: '0 9 * * 1-5', tz: 'Europe/Paris' }, template: { name: 'send-digest', payload: { list: 'all' }, opts: { attempts: 5 } }, runs: 0 });
    expect((await runCli(['repeat', 'set', queue, 'poll', '--name', 'poll', '--every', '15m'], env)).stdout).toMatch(/^repeatable poll set: every 900000ms, next run \d{4}-/);
    const listed = await runCli(['repeat', 'list', queue], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^KEY\s+SCHEDULE\s+JOB\s+NEXT RUN\s+RUNS\s+LAST RUN\s+LAST JOB$/);
    expect(listed.stdout).toContain('cron 0 9 * * 1-5 (Europe/Paris)');
    expect((await context.queue(queue).listRepeatables()).map((r) => r.key).sort()).toEqual(['digest', 'poll']);
    const both = await runCli(['repeat', 'set', queue, 'x', '--name', 'x', '--cron', '* * * * *', '--every', '1m'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--cron: give exactly one of --cron and --every/);
    expect(JSON.parse((await runCli(['repeat', 'rm', queue, 'poll', '--json'], env)).stdout)).toEqual({ key: 'poll', removed: true });
    expect((await runCli(['repeat', 'remove', queue, 'poll'], env)).code).toBe(1);
    const left = JSON.parse((await runCli(['repeat', 'list', queue, '--json'], env)).stdout) as { repeatables: { key: string }[] };
    expect(left.repeatables.map((r) => r.key)).toEqual(['digest']);
    await context.queue(queue).removeRepeatable('digest');
  });

  it('sets and shows the rate limit and group limits', async () => {
    const set = await runCli(['limits', 'set', queue, '--rate', '100/1s', '--group-concurrency', '5', '--group-rate', '10/250ms', '--json'], env);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ queue, rate: { max: 100, durationMs: 1000 }, groupLimits: { concurrency: 5, rate: { max: 10, durationMs: 250 }, weight: 1 } });
    expect((await runCli(['limits', 'set', queue, '--group', 'gold', '--group-weight', '3'], env)).code).toBe(0);
    expect(await context.queue(queue).getGroupLimits('gold')).toEqual({ concurrency: 5, rate: { max: 10, durationMs: 250 }, weight: 3 });
    const shown = await runCli(['limits', 'show', queue, '--group', 'gold'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/rate limit:\s+100\/1000ms/);
    expect(shown.stdout).toMatch(/weight:\s+3/);
    const cleared = await runCli(['limits', 'set', queue, '--rate', 'none', '--group-concurrency', 'none', '--group-rate', 'none', '--json'], env);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ rate: null, groupLimits: { concurrency: null, rate: null } });
    const bad = await runCli(['limits', 'set', queue, '--rate', 'fast'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rate: must be N\/<duration>/);
    expect((await runCli(['limits', 'set', queue], env)).code).toBe(2);
  });

  it('shows a blocked job with its dependencies and group, and its flow', async () => {
    const other = testQueueName();
    try {
      const q = context.queue(other);
      await q.publishMany([
        { name: 'extract', opts: { jobId: 'extract', group: 'tenant-a', dedupe: { key: 'ex:1' } } },
        { name: 'final', opts: { jobId: 'final', dependsOn: ['extract', 'later'], onDependencyFailure: 'ignore' } },
      ]);
      const show = await runCli(['show', other, 'final'], env);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/state:\s+blocked/);
      expect(show.stdout).toMatch(/depends on:\s+extract, later/);
      expect(show.stdout).toMatch(/pending deps:\s+2/);
      expect(show.stdout).toMatch(/on dep failure:\s+ignore/);
      const extract = await runCli(['show', other, 'extract'], env);
      expect(extract.stdout).toMatch(/dedupe key:\s+ex:1/);
      expect(extract.stdout).toMatch(/group:\s+tenant-a/);
      expect(extract.stdout).not.toMatch(/depends on/);
      const blocked = await runCli(['jobs', other, '--state', 'blocked', '--json'], env);
      expect((JSON.parse(blocked.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual(['final']);
      const flow = await runCli(['flow', other, 'final', '--json'], env);
      expect(flow.code).toBe(0);
      expect(JSON.parse(flow.stdout)).toMatchObject({ state: 'running', total: 3, counts: { blocked: 1, waiting: 1, missing: 1 } });
      const text = await runCli(['flow', other, 'final'], env);
      expect(text.stdout.split('\n')[0]).toBe('flow running: 3 job(s) (blocked 1, waiting 1, missing 1)');
      expect((await runCli(['flow', other, 'nope'], env)).code).toBe(1);
    } finally {
      await dropQueue(context.redis, other);
    }
  });

  it('publishes one job from flags and many from an NDJSON file, refusing bad input without publishing', async () => {
    const other = testQueueName();
    try {
      const one = await runCli(['publish', other, 'send', '--payload', '{"to":"a@example.com"}', '--job-id', 'p-1', '--priority', '4', '--attempts', '5', '--group', 'tenant-a', '--json'], env);
      expect(one.code).toBe(0);
      expect(JSON.parse(one.stdout)).toEqual({ id: 'p-1', created: true });
      const q = context.queue(other);
      const job = await q.get('p-1');
      expect(job).toMatchObject({ name: 'send', priority: 4, maxAttempts: 5, group: 'tenant-a', state: 'waiting' });
      expect(await q.getPayload(job!)).toEqual({ to: 'a@example.com' });
      const again = await runCli(['publish', other, 'send', '--job-id', 'p-1'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/p-1\s+no\s+a job with this id exists/);
      const delayed = await runCli(['publish', other, 'later', '--delay', '1h', '--json'], env);
      expect(delayed.code).toBe(0);
      expect((await q.get((JSON.parse(delayed.stdout) as { id: string }).id))?.state).toBe('delayed');
      const child = await runCli(['publish', other, 'after', '--depends-on', 'p-1', '--json'], env);
      expect(child.code).toBe(0);
      expect((await q.get((JSON.parse(child.stdout) as { id: string }).id))?.dependsOn).toEqual([{ queue: other, jobId: 'p-1' }]);

      const file = join(dir, 'jobs.ndjson');
      const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ name: 'bulk', payload: { i }, opts: { jobId: `bulk-${i}` } }));
      writeFileSync(file, `${lines.join('\n')}\n\n`);
      const bulk = await runCli(['publish', other, '--file', file, '--json'], env);
      expect(bulk.code).toBe(0);
      expect(JSON.parse(bulk.stdout)).toMatchObject({ published: 2500, created: 2500 });
      expect(await q.getPayload((await q.get('bulk-2499'))!)).toEqual({ i: 2499 });

      const before = (await q.stats()).counts;
      const badJson = await runCli(['publish', other, 'x', '--payload', '{nope'], env);
      expect(badJson.code).toBe(2);
      expect(badJson.stderr).toMatch(/--payload: is not valid JSON/);
      expect((await runCli(['publish', other, 'x', '--priority', '9'], env)).code).toBe(2);
      expect((await runCli(['publish', other, 'x', '--file', file], env)).code).toBe(2);
      const badFile = join(dir, 'bad.ndjson');
      writeFileSync(badFile, `${JSON.stringify({ name: 'fine', opts: { jobId: 'never-1' } })}\n{"name": 42}\n`);
      const badLine = await runCli(['publish', other, '--file', badFile], env);
      expect(badLine.code).toBe(2);
      expect(await q.get('never-1')).toBeUndefined();
      expect((await q.stats()).counts).toEqual(before);
    } finally {
      await dropQueue(context.redis, other);
    }
  });

  it('exits 2 on usage errors and 1 when Redis is unreachable, without printing the password', async () => {
    const usage = await runCli(['jobs', queue, '--state', 'finished'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--state: must be one of/);
    const unknown = await runCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    const down = await runCli(['stats', queue, '--json', '--redis-url', 'redis://sluice:hunter2-secret@127.0.0.1:1'], env);
    expect(down.code).toBe(1);
    const body = JSON.parse(down.stderr) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SLUICE_ERR_REDIS_UNAVAILABLE');
    expect(body.error.message).toMatch(/^Redis at redis:\/\/sluice:\*\*\*@127\.0\.0\.1:1 unavailable during stats: /);
    expect(down.stdout + down.stderr).not.toContain('hunter2');
    // The text form says the same, without the client library's wording.
    const text = await runCli(['stats', queue], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^sluice: Redis at redis:\/\/127\.0\.0\.1:1 unavailable during stats: \S/);
    expect(text.stderr).not.toMatch(/max retries|maxRetriesPerRequest/i);
    // One connection attempt, and the reason is the connection's: refused.
    expect(text.stderr).toMatch(/unavailable during stats: connection refused$/m);
  });

  it('with Redis down, exits as soon as it has said so; a server that never answers fails after SLUICE_REDIS_CONNECT_TIMEOUT', async () => {
    /** Runs the CLI; `gapMs` is the time from its error output to its exit. */
    const timed = (args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; totalMs: number; gapMs: number }> =>
      new Promise((resolve) => {
        const started = performance.now();
        let saidAt = 0;
        let stderr = '';
        const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.on('data', (chunk: Buffer) => {
          saidAt ||= performance.now();
          stderr += chunk.toString('utf8');
        });
        child.once('exit', (code) => {
          const now = performance.now();
          resolve({ code, stderr, totalMs: now - started, gapMs: now - saidAt });
        });
      });
    // Refused: ioredis keeps a 2 s timer after disconnecting a connection that never connected;
    // the CLI must not wait for it.
    for (const json of [[], ['--json']]) {
      const refused = await timed(['stats', queue, ...json], { REDIS_URL: 'redis://127.0.0.1:1' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(json.length ? /"code":"SLUICE_ERR_REDIS_UNAVAILABLE"/ : /^sluice: Redis at redis:\/\/127\.0\.0\.1:1 unavailable during stats: connection refused$/m);
      expect(refused.gapMs).toBeLessThan(1000);
    }
    // A server that accepts the connection and never answers (a stuck proxy): without a deadline,
    // the command would wait forever for its first reply.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const stuck = await timed(['stats', queue, '--json', '--redis-connect-timeout', '300ms'], { REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(stuck.code).toBe(1);
      const body = JSON.parse(stuck.stderr) as { error: { code: string; message: string } };
      expect(body.error).toEqual({ code: 'SLUICE_ERR_REDIS_UNAVAILABLE', message: `Redis at redis://127.0.0.1:${port} unavailable during stats: connection timed out` });
      expect(stuck.gapMs).toBeLessThan(1000);
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('stops quietly when the reader of its output goes away (sluice replay … | head)', async () => {
    for (const args of [['replay', queue], ['replay', queue, '--json'], ['replay', queue, '--follow']]) {
      // The read end is closed before the CLI writes anything, as `head` does once it has its lines.
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(stderr, args.join(' ')).toBe('');
      expect(code, args.join(' ')).toBe(0);
    }
  });

  it('refuses flush without --yes and the queue name again, then flushes everything of the queue', async () => {
    for (const args of [[], ['--yes'], ['--yes', '--confirm', `${queue}x`], ['--confirm', queue]]) {
      const refused = await runCli(['flush', queue, ...args], env);
      expect({ args, code: refused.code }).toEqual({ args, code: 2 });
      expect(refused.stderr).toMatch(/refusing without --yes|--confirm/);
    }
    expect(await context.redis.exists(eventsKey(toQueueName(queue)))).toBe(1);
    const flushed = await runCli(['flush', queue, '--yes', '--confirm', queue, '--json'], env);
    expect(flushed.code).toBe(0);
    expect(JSON.parse(flushed.stdout)).toMatchObject({ queue });
    expect(await context.redis.keys(`sluice:{${queue}}:*`)).toEqual([]);
    expect(await context.redis.sismember(QUEUES_KEY, queue)).toBe(0);
    const collections = await context.mongo.db(database).listCollections({ name: context.payloads.collectionName(queue) }).toArray();
    expect(collections).toEqual([]);
  });
});
