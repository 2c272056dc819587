import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { laneKey, lostEntriesKey, toQueueName } from '../../src/core/keys.js';
import { Child } from '../helpers/child.js';
import { allEvents, typesOf, waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture();
const setup = t.setup;

function child(name: string, env: Record<string, string>): Child {
  const c = new Child('worker-process.ts', { REDIS_URL: inject('redisUrl'), QUEUE: name, ...env });
  t.defer(() => c.kill());
  return c;
}

function rescuer(name: string, leaseMs: number): Worker {
  const w = new Worker(name, () => 'rescued', { connection: t.redis, leaseMs, reapIntervalMs: 100, blockMs: 200 });
  t.defer(() => w.close(500));
  return w;
}

describe('worker process faults', () => {
  it('a SIGKILLed worker’s job is re-delivered after the lease and completes once', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('victim', undefined);
    const doomed = child(name, { LEASE_MS: '800', HANDLER_MS: '60000' });
    await doomed.waitForLine(new RegExp(`^start ${id}$`));
    doomed.signal('SIGKILL');
    await doomed.exited();
    rescuer(name, 800);
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    const events = await allEvents(t.redis, name);
    expect(typesOf(events, id)).toEqual(['created', 'claimed', 'timed-out', 'claimed', 'completed']);
    const claims = events.filter((e) => e.type === 'claimed');
    expect(claims.map((e) => (e.type === 'claimed' ? e.data.worker.pid : 0))).toEqual([doomed.process.pid, process.pid]);
    expect((await queue.stats()).counts.completed).toBe(1);
  });

  it('a SIGSTOPped worker past its lease loses the job, and its late ack is refused when it resumes', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('frozen', undefined);
    const frozen = child(name, { LEASE_MS: '800', HANDLER_MS: '1500' });
    await frozen.waitForLine(new RegExp(`^start ${id}$`));
    frozen.signal('SIGSTOP');
    rescuer(name, 800);
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    frozen.signal('SIGCONT');
    await frozen.waitForLine(new RegExp(`^stale ${id}$`), 10_000);
    const events = await allEvents(t.redis, name);
    expect(typesOf(events, id)).toEqual(['created', 'claimed', 'timed-out', 'claimed', 'completed']);
    expect((await queue.stats()).counts.completed).toBe(1);
    expect(frozen.lines).not.toContain(`done ${id}`);
  });

  it('SIGTERM closes the worker gracefully: the running job finishes, the process exits 0', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('graceful', undefined);
    const w = child(name, { HANDLER_MS: '400' });
    await w.waitForLine(new RegExp(`^start ${id}$`));
    w.signal('SIGTERM');
    expect(await w.exited()).toBe(0);
    expect((await queue.get(id))?.state).toBe('completed');
  });

  it('a lane entry deleted while pending becomes an explicit lost outcome and a dead letter', async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('vanishing', undefined, { priority: 1 });
    const w = child(name, { LEASE_MS: '500', HANDLER_MS: '60000' });
    await w.waitForLine(new RegExp(`^start ${id}$`));
    w.signal('SIGKILL');
    const claimed = (await allEvents(t.redis, name)).find((e) => e.type === 'claimed');
    const token = claimed?.type === 'claimed' ? claimed.data.token : '';
    expect(await t.redis.xdel(laneKey(toQueueName(name), 1), token)).toBe(1);
    rescuer(name, 500);
    await waitFor(async () => (await queue.get(id))?.state === 'dead');
    const events = await allEvents(t.redis, name);
    expect(typesOf(events, id)).toEqual(['created', 'claimed', 'lost', 'dead-lettered']);
    const lost = events.find((e) => e.type === 'lost');
    expect(lost?.type === 'lost' && lost.data.reason).toMatch(/deleted while pending/);
    const dead = events.find((e) => e.type === 'dead-lettered');
    expect(dead?.type === 'dead-lettered' && dead.data.reason).toBe('lost');
    // Settled: no token is left for a later reaper run to look for.
    await waitFor(async () => (await t.redis.exists(lostEntriesKey(toQueueName(name)))) === 0);
    expect((await queue.list('active')).jobs).toEqual([]);
  });
});
