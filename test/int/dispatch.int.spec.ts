import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from '../../src/core/errors.js';
import { Worker, type ActiveJob } from '../../src/consumers/worker.js';
import { allEvents, typesOf, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture({ payloads: true });
const setup = t.setup;

function worker<P, R>(name: string, handler: (job: ActiveJob<P>) => Promise<R> | R, options: Partial<ConstructorParameters<typeof Worker>[2]> = {}): Worker<P, R> {
  const w = new Worker<P, R>(name, handler, { connection: t.redis, payloads: t.payloads, blockMs: 200, promoteIntervalMs: 50, ...options });
  t.defer(() => w.close(500));
  return w;
}

describe('publish and complete', () => {
  it('stores the payload, runs the handler and appends created → claimed → completed with the traceparent', async () => {
    const { name, queue } = setup();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { id, created } = await queue.publish('resize', { image: 'cat.png', sizes: [64, 128] }, { traceparent });
    expect(created).toBe(true);
    const seen: unknown[] = [];
    worker<{ image: string }, { ok: boolean }>(name, (job) => {
      seen.push(job.payload);
      return { ok: true };
    });
    const job = await waitFor(async () => {
      const j = await queue.get(id);
      return j?.state === 'completed' ? j : undefined;
    });
    expect(seen).toEqual([{ image: 'cat.png', sizes: [64, 128] }]);
    expect(await queue.getResult(job)).toEqual({ ok: true });
    const events = await allEvents(t.redis, name);
    expect(events.map((e) => e.type)).toEqual(['created', 'claimed', 'completed']);
    for (const event of events) {
      expect(event.metadata.traceparent).toBe(traceparent);
      expect(event.metadata.jobId).toBe(id);
    }
    expect(events.map((e) => e.metadata.seq)).toEqual([1, 2, 3]);
    expect((await queue.history(id)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    const claimed = events[1];
    expect(claimed?.type === 'claimed' && claimed.data.worker.pid).toBe(process.pid);
    const stats = await queue.stats();
    expect(stats.counts.completed).toBe(1);
    expect(stats.counts.waiting + stats.counts.active).toBe(0);
  });

  it('every event of a job carries its correlation and causation ids when given', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('correlated', undefined, { correlationId: 'order-77', causationId: 'msg:9f2' });
    const plain = await queue.publish('plain', undefined);
    worker(name, () => undefined);
    await waitFor(async () => (await queue.get(id))?.state === 'completed' && (await queue.get(plain.id))?.state === 'completed');
    const events = await allEvents(t.redis, name);
    const mine = events.filter((e) => e.metadata.jobId === id);
    expect(mine.map((e) => e.type)).toEqual(['created', 'claimed', 'completed']);
    for (const e of mine) expect(e.metadata).toMatchObject({ correlationId: 'order-77', causationId: 'msg:9f2' });
    for (const e of events.filter((x) => x.metadata.jobId === plain.id)) expect(e.metadata.correlationId).toBeUndefined();
    expect(await queue.get(id)).toMatchObject({ correlationId: 'order-77', causationId: 'msg:9f2' });
    await expect(queue.publish('x', undefined, { correlationId: 'has space' })).rejects.toThrow(/opts\.correlationId/);
  });

  it('publishing an existing id creates one job and reports the duplicate', async () => {
    const { name, queue } = setup();
    const first = await queue.publish('once', { n: 1 }, { jobId: 'order:42' });
    const second = await queue.publish('once', { n: 2 }, { jobId: 'order:42' });
    expect(first).toEqual({ id: 'order:42', created: true });
    expect(second).toEqual({ id: 'order:42', created: false });
    const many = await queue.publishMany([
      { name: 'once', opts: { jobId: 'order:42' } },
      { name: 'once', opts: { jobId: 'order:43' } },
    ]);
    expect(many.map((r) => r.created)).toEqual([false, true]);
    const events = await allEvents(t.redis, name);
    expect(events.filter((e) => e.type === 'created').map((e) => e.metadata.jobId)).toEqual(['order:42', 'order:43']);
    const job = await queue.getOrThrow('order:42');
    expect(await queue.getPayload(job)).toEqual({ n: 1 });
  });

  it('rejects bad jobs before anything is stored', async () => {
    const { name, queue } = setup();
    await expect(queue.publish('x', 1, { priority: 9 })).rejects.toThrow(/jobs\[0\]\.opts\.priority: must be an integer from 0 to 4/);
    await expect(queue.publish('x', 1, { jobId: 'bad id' })).rejects.toThrow(/jobs\[0\]\.opts\.jobId/);
    await expect(queue.publishMany([{ name: 'a', opts: { jobId: 'same' } }, { name: 'b', opts: { jobId: 'same' } }])).rejects.toThrow(
      /appears twice/,
    );
    expect(await allEvents(t.redis, name)).toEqual([]);
  });
});

describe('priority', () => {
  it('a single worker drains three levels in strict level order, FIFO within each', async () => {
    const { name, queue } = setup();
    const published: { id: string; priority: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const priority = [0, 2, 4][i % 3] as number;
      const { id } = await queue.publish(`p${priority}`, undefined, { priority, jobId: `j${String(i).padStart(2, '0')}` });
      published.push({ id, priority });
    }
    const order: string[] = [];
    worker(name, (job) => {
      order.push(job.id);
    }, { concurrency: 1 });
    await waitFor(() => order.length === 30);
    const expected = [4, 2, 0].flatMap((p) => published.filter((j) => j.priority === p).map((j) => j.id));
    expect(order).toEqual(expected);
  });
});

describe('retries and dead letters', () => {
  it('follows the backoff on recorded due times and dead-letters after the last attempt, keeping each error', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('flaky', undefined, {
      attempts: 3,
      backoff: { type: 'exponential', delayMs: 100, jitter: 0 },
    });
    worker(name, (job) => {
      throw new Error(`boom ${job.attempt}`);
    });
    await waitFor(async () => (await queue.get(id))?.state === 'dead');
    const events = (await allEvents(t.redis, name)).filter((e) => e.metadata.jobId === id);
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'claimed', 'failed', 'scheduled', 'promoted',
      'claimed', 'failed', 'scheduled', 'promoted',
      'claimed', 'failed', 'dead-lettered',
    ]);
    const failed = events.filter((e) => e.type === 'failed');
    expect(failed.map((e) => e.type === 'failed' && e.data.error.message)).toEqual(['boom 1', 'boom 2', 'boom 3']);
    // Recorded due times: retryAt - time of the failure = 100 ms, then 200 ms.
    const gaps = failed.slice(0, 2).map((e) => (e.type === 'failed' ? (e.data.retryAt ?? 0) - e.metadata.time : -1));
    expect(gaps).toEqual([100, 200]);
    // Claims never happen before the recorded due time.
    const claims = events.filter((e) => e.type === 'claimed');
    failed.slice(0, 2).forEach((f, i) => {
      expect(claims[i + 1]?.metadata.time).toBeGreaterThanOrEqual(f.type === 'failed' ? (f.data.retryAt ?? 0) : 0);
    });
    const last = events[events.length - 1];
    expect(last?.type === 'dead-lettered' && last.data.reason).toBe('attempts-exhausted');
    const job = await queue.getOrThrow(id);
    expect(job.lastError?.message).toBe('boom 3');
    expect((await queue.list('dead')).jobs.map((j) => j.id)).toEqual([id]);
  });

  it('an UnrecoverableError dead-letters at once', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('bad', undefined, { attempts: 5 });
    worker(name, () => {
      throw new UnrecoverableError('invalid input');
    });
    await waitFor(async () => (await queue.get(id))?.state === 'dead');
    const events = await allEvents(t.redis, name);
    expect(typesOf(events, id)).toEqual(['created', 'claimed', 'failed', 'dead-lettered']);
    const dead = events[3];
    expect(dead?.type === 'dead-lettered' && dead.data.reason).toBe('unrecoverable');
  });

  it('uses the worker backoff function for custom backoff', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('custom', undefined, { attempts: 2, backoff: { type: 'custom' } });
    worker(name, (job) => {
      if (job.attempt === 1) throw new Error('first');
    }, { backoff: (attempt) => 150 * attempt });
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    const failed = (await allEvents(t.redis, name)).find((e) => e.type === 'failed');
    expect(failed?.type === 'failed' && (failed.data.retryAt ?? 0) - failed.metadata.time).toBe(150);
  });

  it('a manual retry of a dead job runs it again with a fresh attempt count', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('once-bad', undefined, { attempts: 1 });
    let calls = 0;
    worker(name, () => {
      calls++;
      if (calls === 1) throw new Error('first run fails');
    });
    await waitFor(async () => (await queue.get(id))?.state === 'dead');
    await expect(queue.retry(id)).resolves.toBe('dead');
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    expect(typesOf(await allEvents(t.redis, name), id)).toEqual([
      'created', 'claimed', 'failed', 'dead-lettered', 'retried', 'claimed', 'completed',
    ]);
    await expect(queue.retry(id)).rejects.toThrow(/only failed, dead or cancelled jobs can be retried/);
  });
});

describe('delayed jobs', () => {
  it('does not run before its time and is promoted soon after', async () => {
    const { name, queue } = setup();
    const runAt = Date.now() + 600;
    const { id } = await queue.publish('later', undefined, { runAt });
    expect((await queue.get(id))?.state).toBe('delayed');
    worker(name, () => undefined);
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    const events = (await allEvents(t.redis, name)).filter((e) => e.metadata.jobId === id);
    expect(events.map((e) => e.type)).toEqual(['created', 'scheduled', 'promoted', 'claimed', 'completed']);
    const promoted = events[2];
    expect(promoted?.metadata.time).toBeGreaterThanOrEqual(runAt);
    // Bounded promotion delay: the promoter sleeps until the due time (capped by promoteIntervalMs = 50).
    expect((promoted?.metadata.time ?? 0) - runAt).toBeLessThan(1000);
  });
});

describe('cancel, pause, close', () => {
  it('cancelling an active job fires its AbortSignal and refuses the late outcome', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('long', undefined);
    let aborted: unknown;
    let started = false;
    worker(name, async (job) => {
      started = true;
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
      aborted = job.signal.reason;
      return 'finished anyway';
    }, { leaseMs: 900 });
    await waitFor(() => started);
    await expect(queue.cancel(id, 'user asked')).resolves.toBe('active');
    await waitFor(() => aborted !== undefined, 5000, 'abort');
    expect(String(aborted)).toMatch(/no longer belongs/);
    await new Promise((r) => setTimeout(r, 100));
    const job = await queue.getOrThrow(id);
    expect(job.state).toBe('cancelled');
    expect(typesOf(await allEvents(t.redis, name), id)).toEqual(['created', 'claimed', 'cancelled']);
    await expect(queue.cancel(id)).rejects.toThrow(/cannot be cancelled/);
  });

  it('cancels waiting and delayed jobs, which never run', async () => {
    const { name, queue } = setup();
    const waiting = await queue.publish('w', undefined);
    const delayed = await queue.publish('d', undefined, { delayMs: 200 });
    await queue.cancel(waiting.id);
    await queue.cancel(delayed.id);
    const ran: string[] = [];
    const marker = await queue.publish('marker', undefined);
    worker(name, (job) => {
      ran.push(job.id);
    });
    await waitFor(async () => (await queue.get(marker.id))?.state === 'completed');
    await new Promise((r) => setTimeout(r, 400));
    expect(ran).toEqual([marker.id]);
    expect((await queue.stats()).counts.cancelled).toBe(2);
  });

  it('pause stops new work; resume lets it run', async () => {
    const { name, queue } = setup();
    await queue.pause();
    const { id } = await queue.publish('p', undefined);
    worker(name, () => undefined);
    await new Promise((r) => setTimeout(r, 700));
    expect((await queue.get(id))?.state).toBe('waiting');
    await queue.resume();
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
  });

  it('close lets running jobs finish within the grace period and gives back the rest', async () => {
    const { name, queue } = setup();
    const quick = await queue.publish('quick', undefined, { priority: 4 });
    const slow = await queue.publish('slow', undefined, { priority: 0 });
    let slowStarted = false;
    const w = new Worker(name, async (job) => {
      if (job.name === 'quick') {
        await new Promise((r) => setTimeout(r, 150));
        return;
      }
      slowStarted = true;
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
    }, { connection: t.redis, payloads: t.payloads, concurrency: 2, blockMs: 200 });
    await waitFor(() => slowStarted);
    await w.close(400);
    expect((await queue.get(quick.id))?.state).toBe('completed');
    const back = await queue.getOrThrow(slow.id);
    expect(back.state).toBe('waiting');
    expect(back.attempt).toBe(0);
    const events = await allEvents(t.redis, name);
    const released = events.find((e) => e.type === 'timed-out');
    expect(released?.type === 'timed-out' && released.data.reason).toBe('released');
    worker(name, () => undefined);
    await waitFor(async () => (await queue.get(slow.id))?.state === 'completed');
    expect((await queue.getOrThrow(slow.id)).attempt).toBe(1);
  });

  it('lists live workers with their last-seen time', async () => {
    const { name, queue } = setup();
    const w = worker(name, () => undefined, { heartbeatMs: 50, leaseMs: 1000 });
    const seen = await waitFor(async () => (await queue.workers()).find((x) => x.id === w.id));
    expect(seen.lastSeen).toBeGreaterThan(Date.now() - 5000);
  });
});

describe('progress', () => {
  it('records progress as events and in the job, and refuses progress from a stale attempt', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('steps', undefined);
    let stale: Promise<unknown> | undefined;
    worker(name, async (job) => {
      await job.progress({ step: 1, of: 2 });
      await job.progress({ step: 2, of: 2, note: 'done' });
      stale = (async () => {
        await waitFor(async () => (await queue.get(id))?.state === 'completed');
        return job.progress({ step: 3 });
      })();
    });
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    await expect(stale).rejects.toThrow(/no longer owns it/);
    const job = await queue.getOrThrow(id);
    expect(job.progress).toEqual({ note: 'done', of: 2, step: 2 });
    const events = (await allEvents(t.redis, name)).filter((e) => e.type === 'progress');
    expect(events.map((e) => (e.type === 'progress' ? e.data.progress : null))).toEqual([{ step: 1, of: 2 }, { step: 2, of: 2, note: 'done' }]);
  });
});

describe('per-job timeout', () => {
  it('aborts the handler and counts the overrun as a failure', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('slow', undefined, { timeoutMs: 100, attempts: 1 });
    let reason: unknown;
    worker(name, async (job) => {
      await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
      reason = job.signal.reason;
    });
    await waitFor(async () => (await queue.get(id))?.state === 'dead');
    expect(String(reason)).toMatch(/timed out after 100 ms/);
    const job = await queue.getOrThrow(id);
    expect(job.lastError?.name).toBe('JobAbortedError');
  });
});
