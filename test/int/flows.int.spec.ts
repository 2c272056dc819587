import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import type { StoredJobEvent } from '../../src/events/types.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { allEvents, typesOf, waitFor } from '../helpers/dispatch.js';
import { deleteReadModel, readModelSnapshot } from '../helpers/read-model.js';
import { claim, complete, fail } from '../helpers/scripted.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture({ payloads: true });

function setup(): { name: string; queue: Queue; clock: { t: number; now(): number } } {
  const clock = { t: 1_800_000_000_000, now() { return this.t; } };
  return { ...t.setup({ clock }), clock };
}

function worker<P>(name: string, handler: ConstructorParameters<typeof Worker<P>>[1], concurrency = 10): Worker<P> {
  const w = new Worker<P>(name, handler, {
    connection: t.redis, payloads: t.payloads, concurrency, blockMs: 100, metrics: false, repeatIntervalMs: 0, flowRelayIntervalMs: 50,
  });
  t.defer(() => w.close(1000));
  return w;
}

/** A seeded generator, so the DAG is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('flows', () => {
  it('a DAG of 1,000 jobs (fan-out, fan-in) published in random order completes in dependency order; children results reach the parent; verify and rebuild are clean', async () => {
    const { name, queue } = setup();
    const random = lcg(7);
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
    // root → 9 → 90 → 899 → sink (the sink fans in the last 100 of layer 3).
    const deps = new Map<string, string[]>([['root', []]]);
    const layer1 = Array.from({ length: 9 }, (_, i) => `l1-${i}`);
    const layer2 = Array.from({ length: 90 }, (_, i) => `l2-${i}`);
    const layer3 = Array.from({ length: 899 }, (_, i) => `l3-${i}`);
    for (const id of layer1) deps.set(id, ['root']);
    for (const id of layer2) deps.set(id, [...new Set([pick(layer1), pick(layer1)])]);
    for (const id of layer3) deps.set(id, [...new Set([pick(layer2), pick(layer2), pick(layer2)])]);
    deps.set('sink', layer3.slice(-100));
    expect(deps.size).toBe(1000);
    const ids = [...deps.keys()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
    }
    await queue.publishMany(ids.map((id) => {
      const d = deps.get(id) as string[];
      return { name: id === 'sink' ? 'sink' : 'step', opts: { jobId: id, ...(d.length > 0 ? { dependsOn: d } : {}) } };
    }));
    const blocked = (await queue.stats()).counts.blocked;
    expect(blocked).toBe(999);
    expect((await queue.get('sink'))?.pendingDependencies).toBe(100);

    let sinkSaw: unknown[] = [];
    const sinkChildren = new Set(layer3.slice(-100));
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      worker(name, async (job) => {
        if (job.name === 'sink') sinkSaw = (await job.dependencies()).map((d) => d.result);
        // Only the sink's children store a result: the payload store is not what is under test.
        return sinkChildren.has(job.id) ? { done: job.id } : undefined;
      });
    }
    await waitFor(async () => (await queue.get('sink'))?.state === 'completed', 60_000, 'the sink to complete');
    console.info(`flows: 1,000-job DAG ran in ${Date.now() - started} ms over 4 workers (no payloads; 100 results)`);
    const events = await allEvents(t.redis, name);
    const position = new Map<string, number>();
    events.forEach((e: StoredJobEvent, i) => {
      if (e.type === 'claimed' && !position.has(`claimed:${e.metadata.jobId}`)) position.set(`claimed:${e.metadata.jobId}`, i);
      if (e.type === 'completed') position.set(`completed:${e.metadata.jobId}`, i);
    });
    for (const [id, d] of deps) {
      const started = position.get(`claimed:${id}`) as number;
      expect(started, id).toBeDefined();
      for (const prerequisite of d) expect(position.get(`completed:${prerequisite}`) as number, `${prerequisite} before ${id}`).toBeLessThan(started);
    }
    expect(sinkSaw).toEqual(layer3.slice(-100).map((id) => ({ done: id })));
    const ancestors = new Set<string>();
    const walk = (id: string): void => {
      if (ancestors.has(id)) return;
      ancestors.add(id);
      for (const d of deps.get(id) ?? []) walk(d);
    };
    walk('sink');
    const flow = await queue.flow('sink');
    expect(flow).toMatchObject({ state: 'completed', total: ancestors.size, counts: { completed: ancestors.size } });
    expect((await queue.stats()).counts).toMatchObject({ completed: 1000, blocked: 0, waiting: 0 });
    expect((await verify(t.redis, name)).differences).toEqual([]);
    const before = await readModelSnapshot(t.redis, name);
    await deleteReadModel(t.redis, name);
    await rebuild(t.redis, name);
    expect(await readModelSnapshot(t.redis, name)).toEqual(before);
  });

  it('a failed prerequisite dead-letters its dependants (cascading) or, with ignore, counts as resolved; counts are queryable', async () => {
    const { name, queue, clock } = setup();
    await queue.publish('a', undefined, { jobId: 'a', attempts: 1 });
    await queue.publish('x', undefined, { jobId: 'x' });
    await queue.publish('b', undefined, { jobId: 'b', dependsOn: ['a'] });
    await queue.publish('c', undefined, { jobId: 'c', dependsOn: ['b', 'x'] });
    await queue.publish('d', undefined, { jobId: 'd', dependsOn: ['a', 'x'], onDependencyFailure: 'ignore' });
    expect((await queue.get('d'))?.pendingDependencies).toBe(2);
    expect((await queue.get('d'))?.state).toBe('blocked');
    const claimed = await claim(t.redis, name, ++clock.t, 2);
    const a = claimed.find((x) => x.id === 'a');
    const x = claimed.find((j) => j.id === 'x');
    expect(await fail(t.redis, name, ++clock.t, a!)).toBe('dead');
    expect(await queue.get('b')).toMatchObject({ state: 'dead', deadReason: 'dependency-failed', pendingDependencies: 0 });
    expect(await queue.get('c')).toMatchObject({ state: 'dead', deadReason: 'dependency-failed' });
    expect(await queue.get('d')).toMatchObject({ state: 'blocked', pendingDependencies: 1 });
    const events = await allEvents(t.redis, name);
    expect(typesOf(events, 'b')).toEqual(['created', 'dependency-resolved', 'dead-lettered']);
    const resolved = events.find((e) => e.type === 'dependency-resolved' && e.metadata.jobId === 'b');
    expect(resolved?.data).toEqual({ dependency: { queue: name, jobId: 'a' }, outcome: 'dead', remaining: 0 });
    await complete(t.redis, name, ++clock.t, [x!]);
    expect(await queue.get('d')).toMatchObject({ state: 'waiting', pendingDependencies: 0 });
    expect(typesOf(await allEvents(t.redis, name), 'd')).toEqual(['created', 'dependency-resolved', 'dependency-resolved', 'promoted']);
    expect((await queue.flow('c')).state).toBe('failed');
    expect((await queue.flow('d')).state).toBe('running');
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('resolves prerequisites known at publish: completed counts as done, dead fails at once, unknown ids are waited for', async () => {
    const { name, queue, clock } = setup();
    await queue.publish('done', undefined, { jobId: 'done' });
    await queue.publish('doomed', undefined, { jobId: 'doomed', attempts: 1 });
    for (const attempt of await claim(t.redis, name, ++clock.t, 2)) {
      if (attempt.id === 'done') await complete(t.redis, name, ++clock.t, [attempt]);
      else await fail(t.redis, name, ++clock.t, attempt);
    }
    expect((await queue.publish('n', undefined, { jobId: 'ready', dependsOn: ['done'] })).created).toBe(true);
    expect(await queue.get('ready')).toMatchObject({ state: 'waiting', pendingDependencies: 0 });
    await queue.publish('n', undefined, { jobId: 'failed-early', dependsOn: ['doomed'] });
    expect(await queue.get('failed-early')).toMatchObject({ state: 'dead', deadReason: 'dependency-failed' });
    // The dependant first, its prerequisite later in the same batch.
    await queue.publishMany([
      { name: 'n', opts: { jobId: 'child-first', dependsOn: ['later'] } },
      { name: 'n', opts: { jobId: 'later' } },
    ]);
    expect((await queue.get('child-first'))?.state).toBe('blocked');
    const attempts = await claim(t.redis, name, ++clock.t, 10);
    await complete(t.redis, name, ++clock.t, attempts.filter((a) => a.id === 'later'));
    expect((await queue.get('child-first'))?.state).toBe('waiting');
    // Cancelling a blocked job fails its own dependants.
    await queue.publish('n', undefined, { jobId: 'p', dependsOn: ['never'] });
    await queue.publish('n', undefined, { jobId: 'q', dependsOn: ['p'] });
    expect(await queue.cancel('p')).toBe('blocked');
    expect((await queue.get('q'))?.deadReason).toBe('dependency-failed');
    await expect(queue.publish('n', undefined, { jobId: 'self', dependsOn: ['self'] })).rejects.toThrow(/itself/);
    await expect(queue.publish('n', undefined, { dependsOn: ['done'], delayMs: 10 })).rejects.toThrow(/delayed/);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('waits for prerequisites in another queue, relayed through the flow outbox', async () => {
    const upstream = setup();
    const downstream = setup();
    await downstream.queue.publish('report', undefined, {
      jobId: 'report',
      dependsOn: [{ queue: upstream.name, jobId: 'extract' }, { queue: upstream.name, jobId: 'already' }],
    });
    expect((await downstream.queue.get('report'))?.pendingDependencies).toBe(2);
    await upstream.queue.publish('extract', { rows: 3 }, { jobId: 'extract' });
    await upstream.queue.publish('already', undefined, { jobId: 'already' });
    worker(upstream.name, (job) => ({ extracted: job.id }));
    let seen: unknown[] = [];
    worker(downstream.name, async (job) => {
      seen = await job.dependencies();
    });
    await waitFor(async () => (await downstream.queue.get('report'))?.state === 'completed', 20_000, 'the downstream job');
    expect(seen).toEqual([
      { queue: upstream.name, jobId: 'extract', state: 'completed', result: { extracted: 'extract' } },
      { queue: upstream.name, jobId: 'already', state: 'completed', result: { extracted: 'already' } },
    ]);
    expect(await t.redis.xlen(`sluice:{${upstream.name}}:flow:outbox`)).toBe(0);
    // A dependant registered after its prerequisite finished hears of it at once.
    await downstream.queue.publish('late', undefined, { jobId: 'late', dependsOn: [{ queue: upstream.name, jobId: 'extract' }] });
    await waitFor(async () => (await downstream.queue.get('late'))?.state === 'completed', 20_000, 'the late dependant');
    const flow = await downstream.queue.flow('report');
    expect(flow).toMatchObject({ state: 'completed', total: 3 });
    for (const q of [upstream.name, downstream.name]) expect((await verify(t.redis, q)).differences).toEqual([]);
  });
});
