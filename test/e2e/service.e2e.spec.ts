/**
 * End to end: the built CLI runs the service (`sluice serve`) and a worker (`sluice worker
 * test/fixtures/e2e-handler.mjs`) as child processes on the run's Redis and MongoDB
 * wire-protocol server. A client publishes over HTTP, watches the job complete on the SSE feed,
 * reads its history (archived by the service, then trimmed from the stream), lets a job die,
 * retries it over HTTP and sees it complete; both processes then stop cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';
import { dropDatabase, ROOT, testDatabase, testEnv, TOKENS } from '../helpers/service.js';

const database = testDatabase();
const queue = testQueueName();
const auth = { authorization: `Bearer ${TOKENS.admin.token}` };

/** A CLI child process with its JSON log lines. */
class CliProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[] = [];
  private stderr = '';
  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
  }
  waitForLog(msg: string): Promise<Record<string, unknown>> {
    return waitFor(() => {
      if (this.child.exitCode !== null) throw new Error(`exited ${this.child.exitCode}: ${this.stderr}`);
      return this.logs.find((l) => l.msg === msg);
    }, 30_000, `log "${msg}"`);
  }
  async stop(): Promise<number | string | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode ?? this.child.signalCode;
    const exited = new Promise<number | string | null>((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

/** Reads an SSE response into parsed messages. */
class Feed {
  readonly events: { id: string; type: string; data: { metadata: { jobId: string } } }[] = [];
  private text = '';
  connected = false;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {
    void this.pump();
  }
  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await this.reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      this.text += decoder.decode(value, { stream: true });
      const messages = this.text.split('\n\n');
      this.text = messages.pop() ?? '';
      for (const message of messages) {
        if (message.includes(': connected')) this.connected = true;
        const id = /^id: (.*)$/m.exec(message)?.[1];
        const type = /^event: (.*)$/m.exec(message)?.[1];
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (id && type && data) this.events.push({ id, type, data: JSON.parse(data) as { metadata: { jobId: string } } });
      }
    }
  }
  typesOf(jobId: string): string[] {
    return this.events.filter((e) => e.data.metadata.jobId === jobId).map((e) => e.type);
  }
}

let service: CliProcess;
let worker: CliProcess;
let url: string;

beforeAll(async () => {
  const env = testEnv(database, {
    SLUICE_TOKENS: JSON.stringify([TOKENS.admin]),
    SLUICE_ARCHIVE_INTERVAL: '200ms',
    SLUICE_LOG_LEVEL: 'info',
  });
  service = new CliProcess(['serve', '--host', '127.0.0.1', '--port', '0'], env);
  worker = new CliProcess(['worker', 'test/fixtures/e2e-handler.mjs', '--queue', queue, '--concurrency', '2', '--lease', '5s'], env);
  url = String((await service.waitForLog('listening')).url);
  await worker.waitForLog('worker started');
});

afterAll(async () => {
  await Promise.all([service?.stop(), worker?.stop()]);
  const redis = testRedis();
  await dropQueue(redis, queue);
  await redis.quit();
  await dropDatabase(database);
});

describe('service and worker processes', () => {
  it('publish over HTTP, completion on the live feed, history, a dead job retried over HTTP, clean stop', async () => {
    const abort = new AbortController();
    const response = await fetch(`${url}/v1/queues/${queue}/events`, { headers: auth, signal: abort.signal });
    expect(response.status).toBe(200);
    const feed = new Feed((response.body as ReadableStream<Uint8Array>).getReader());
    await waitFor(() => feed.connected, 10_000, 'feed connected');

    const publish = async (body: unknown): Promise<{ id: string }> => {
      const r = await fetch(`${url}/v1/queues/${queue}/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(201);
      return (await r.json()) as { id: string };
    };
    const { id } = await publish({ name: 'e2e', payload: { n: 7 } });
    await waitFor(() => feed.typesOf(id).includes('completed'), 30_000, 'completed on the feed');
    expect(feed.typesOf(id)).toEqual(['created', 'claimed', 'progress', 'completed']);

    const job = (await (await fetch(`${url}/v1/queues/${queue}/jobs/${id}?include=result`, { headers: auth })).json()) as { state: string; resultValue: unknown };
    expect(job).toMatchObject({ state: 'completed', resultValue: { ok: true, n: 7 } });
    // The service archives events and trims the stream (keeping the last one as the seam): the
    // history below is read from the archive.
    const redis = testRedis();
    try {
      await waitFor(async () => (await redis.xlen(eventsKey(toQueueName(queue)))) === 1, 60_000, 'the stream archived and trimmed');
    } finally {
      await redis.quit();
    }
    const history = (await (await fetch(`${url}/v1/queues/${queue}/jobs/${id}/history`, { headers: auth })).json()) as { events: { type: string; id: string }[] };
    expect(history.events.map((e) => e.type)).toEqual(['created', 'claimed', 'progress', 'completed']);
    expect(history.events.map((e) => e.id)).toEqual(feed.events.filter((e) => e.data.metadata.jobId === id).map((e) => e.id));

    const failUntil = Date.now() + 1500;
    const dead = await publish({ name: 'e2e', payload: { n: 8, failUntil }, opts: { attempts: 1 } });
    await waitFor(() => feed.typesOf(dead.id).includes('dead-lettered'), 30_000, 'dead-lettered on the feed');
    const dlq = (await (await fetch(`${url}/v1/queues/${queue}/dlq`, { headers: auth })).json()) as { jobs: { id: string }[] };
    expect(dlq.jobs.map((j) => j.id)).toEqual([dead.id]);
    await waitFor(() => Date.now() > failUntil, 5000, 'the failure window to pass');
    const retried = await fetch(`${url}/v1/queues/${queue}/jobs/${dead.id}/retry`, { method: 'POST', headers: auth });
    expect(await retried.json()).toEqual({ id: dead.id, fromState: 'dead' });
    await waitFor(() => feed.typesOf(dead.id).includes('completed'), 30_000, 'the retried job completed');
    expect(feed.typesOf(dead.id)).toEqual(['created', 'claimed', 'progress', 'failed', 'dead-lettered', 'retried', 'claimed', 'progress', 'completed']);

    // Bad input does not disturb the running service.
    const bad = await fetch(`${url}/v1/queues/${queue}/jobs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"name":' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    abort.abort();
    expect(await worker.stop()).toBe(0);
    expect(await service.stop()).toBe(0);
  });
});
