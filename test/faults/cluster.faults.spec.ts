/**
 * Sluice on a real Redis Cluster: three masters (no replicas), one queue whose slot sits on each.
 * Every queue runs unchanged (publish, workers, retries, delays, a flow across masters, the event
 * tail, rebuild and verify); then one master is SIGKILLed: the queues on the two survivors keep
 * publishing and completing, and the queue on the dead master reports a typed, retryable error.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handler, Worker } from '../../src/consumers/worker.js';
import { isRedisDown, RedisUnavailableError, SluiceError } from '../../src/errors.js';
import { RedisEventLog } from '../../src/events/log.js';
import type { StoredJobEvent } from '../../src/events/types.js';
import { eventsKey, QUEUES_KEY, toQueueName } from '../../src/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue.js';
import { closeRedis, createCluster, isCluster, keySlot, scanKeys } from '../../src/redis/connection.js';
import { allEvents, typesOf, waitFor } from '../helpers/dispatch.js';
import { RedisClusterFixture, type ClusterMaster } from '../helpers/redis-cluster.js';
import { expectAllCompletedOnce, Producer, startWorkers } from './harness.js';

let fixture: RedisClusterFixture;
let cluster: Cluster;
/** Queue names, one per master (same index as `fixture.masters`). */
let names: string[];
/** The master holding the queue registry key, and the index of the queue on it. */
let doomed: number;
const workers: Worker[] = [];
/** What each queue's event tail (`tail$`) delivered and the errors it reported. */
const tails = new Map<string, { events: StoredJobEvent[]; errors: unknown[] }>();
const cleanups: (() => Promise<unknown>)[] = [];

async function masterOf(key: string): Promise<ClusterMaster> {
  return fixture.masterOfSlot(await fixture.keySlot(key));
}

beforeAll(async () => {
  fixture = await RedisClusterFixture.start(3);
  cluster = createCluster(fixture.url, { maxRetriesPerRequest: 3 });
  cluster.on('error', () => undefined);
  // One queue per master: the first name (of run-unique candidates) whose slot the master serves.
  const run = Math.random().toString(36).slice(2, 7);
  const found: (string | undefined)[] = fixture.masters.map(() => undefined);
  for (let i = 0; found.includes(undefined); i++) {
    if (i > 500) throw new Error('no queue name found for every master');
    const name = `cl-${run}-${i}`;
    const at = fixture.masters.indexOf(await masterOf(eventsKey(toQueueName(name))));
    found[at] ??= name;
  }
  names = found as string[];
  // Kill the master that also holds the global queue registry (`sluice:queues`): the survivors
  // must not depend on it.
  doomed = fixture.masters.indexOf(await masterOf(QUEUES_KEY));
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(500).catch(() => undefined)));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  if (cluster) await closeRedis(cluster);
  await fixture?.stop();
});

const handler: Handler = async (job) => {
  // A few jobs fail their first attempt: retries (failed → delayed → promoted) run too.
  if (job.id.endsWith('-7') && job.attempt === 1) throw new Error('first attempt fails');
  await new Promise((r) => setTimeout(r, 1 + Math.random() * 3));
};

describe('Redis Cluster (3 masters)', () => {
  it('each master holds one queue, and every queue runs unchanged on a Cluster connection', async () => {
    expect(new Set(names).size).toBe(3);
    expect(isCluster(cluster)).toBe(true);
    const slots = await Promise.all(names.map((n) => fixture.keySlot(eventsKey(toQueueName(n)))));
    // Sluice computes the same slots as the server (rebuild and flush scan only that master).
    expect(names.map((n) => keySlot(eventsKey(toQueueName(n))))).toEqual(slots);
    expect(new Set(slots.map((s) => fixture.masterOfSlot(s).port)).size).toBe(3);

    await Promise.all(
      names.map(async (name) => {
        const queue = new Queue(name, { connection: cluster });
        cleanups.push(() => queue.close());
        // The event tail: catch-up and live XREAD BLOCK on a duplicated Cluster connection.
        const log = new RedisEventLog(cluster, name);
        const tailed: StoredJobEvent[] = [];
        const tailErrors: unknown[] = [];
        tails.set(name, { events: tailed, errors: tailErrors });
        const tail = log.tail$('0-0', { blockMs: 200 }).subscribe({ next: (e) => tailed.push(e), error: (e: unknown) => tailErrors.push(e) });
        cleanups.push(() => Promise.resolve(tail.unsubscribe()));

        const ids = Array.from({ length: 60 }, (_, i) => `${name}-${i}`);
        const published = await queue.publishMany(
          ids.map((id, i) => ({ name: 'work', payload: undefined, opts: { jobId: id, attempts: 3, backoff: { type: 'fixed', delayMs: 50 }, ...(i % 10 === 3 ? { delayMs: 100 } : {}) } })),
        );
        expect(published.every((p) => p.created)).toBe(true);
        // Workers get the URL form: each opens its own Cluster connection.
        workers.push(...startWorkers(2, name, fixture.url, handler, { concurrency: 5 }));
        await expectAllCompletedOnce(cluster, name, new Set(ids), 30_000);

        const events = await allEvents(cluster, name);
        expect(typesOf(events, `${name}-1`)).toEqual(['created', 'claimed', 'completed']);
        expect(typesOf(events, `${name}-3`)).toEqual(['created', 'scheduled', 'promoted', 'claimed', 'completed']);
        const retried = typesOf(events, `${name}-7`);
        expect(retried[0]).toBe('created');
        expect(retried).toContain('failed');
        expect(retried.at(-1)).toBe('completed');
        expect((await queue.get(`${name}-1`))?.state).toBe('completed');
        const viaUrl = RedisEventLog.connect(fixture.url, name); // opens its own Cluster connection
        expect((await viaUrl.read({ count: events.length })).map((e) => e.id)).toEqual(events.map((e) => e.id));
        await viaUrl.close();
        await waitFor(() => tailed.length >= events.length, 10_000, `tail of ${name} caught up`);
        expect(tailed.slice(0, events.length).map((e) => e.id)).toEqual(events.map((e) => e.id));

        // Rebuild (SCAN over every master for the shadow keys) and verify stay clean.
        const report = await rebuild(cluster, name);
        expect(report.replayed + report.caughtUp).toBeGreaterThanOrEqual(events.length);
        expect((await verify(cluster, name)).differences).toEqual([]);
      }),
    );
  });

  it('a flow whose jobs sit on two masters completes (cross-queue relay, per-queue pipelines)', async () => {
    const [a, b] = names.filter((_, i) => i !== doomed) as [string, string];
    const qa = new Queue(a, { connection: cluster });
    const qb = new Queue(b, { connection: cluster });
    cleanups.push(() => qa.close(), () => qb.close());
    await qb.publish('prerequisite', undefined, { jobId: 'flow-pre' });
    await qa.publish('dependant', undefined, { jobId: 'flow-root', dependsOn: [{ queue: b, jobId: 'flow-pre' }, { queue: a, jobId: `${a}-1` }] });
    await waitFor(async () => (await qa.get('flow-root'))?.state === 'completed', 20_000, 'flow root completed');
    const deps = await qa.dependencies('flow-root');
    expect(deps.map((d) => [d.queue, d.state])).toEqual([
      [b, 'completed'],
      [a, 'completed'],
    ]);
    expect((await qa.flow('flow-root')).state).toBe('completed');
  });

  it('SIGKILL of one master: the other two queues keep publishing and completing; the dead one fails with RedisUnavailableError', async () => {
    const dead = names[doomed] as string;
    const alive = names.filter((_, i) => i !== doomed);
    const queues = names.map((n) => new Queue(n, { connection: cluster }));
    cleanups.push(...queues.map((q) => () => q.close()));
    const producers = queues.map((q) => new Producer(q, { batch: 10, pauseMs: 10 }));
    await waitFor(() => producers.every((p) => p.acked.size >= 100), 20_000, 'every producer published');

    const deadWorkerErrors: unknown[] = [];
    for (const w of workers.filter((w) => w.queue === dead)) w.on('error', (e) => deadWorkerErrors.push(e));
    await fixture.masters[doomed]!.server.kill();
    const killedAt = Date.now();
    const ackedAtKill = producers.map((p) => p.acked.size);
    const errorsAtKill = producers.map((p) => p.errors.length);

    // The survivors go on: 200 more acknowledged publishes each after the kill.
    for (const [i, p] of producers.entries()) {
      if (i === doomed) continue;
      await waitFor(() => p.acked.size >= (ackedAtKill[i] as number) + 200, 30_000, `queue ${names[i]} kept publishing`);
    }
    // A fresh handle on a surviving queue works too, although the registry key's master is gone.
    const fresh = new Queue(alive[0] as string, { connection: cluster });
    cleanups.push(() => fresh.close());
    expect((await fresh.publish('after-kill', undefined, { jobId: 'after-kill' })).created).toBe(true);

    // The dead queue's producer got errors, each a typed, retryable RedisUnavailableError.
    const deadProducer = producers[doomed] as Producer;
    await waitFor(() => deadProducer.errors.length > (errorsAtKill[doomed] as number), 10_000, 'dead queue reported an error');
    await Promise.all(producers.map((p) => p.stop()));
    const afterKill = deadProducer.errors.slice(errorsAtKill[doomed]);
    expect(afterKill.length).toBeGreaterThan(0);
    for (const error of afterKill) {
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect((error as SluiceError).code).toBe('SLUICE_ERR_REDIS_UNAVAILABLE');
      expect((error as SluiceError).retryable).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`Redis unavailable during publish on queue ${dead}: `));
    }
    // Acknowledged publishes after the kill: at most the batch in flight when it happened.
    expect(deadProducer.acked.size - (ackedAtKill[doomed] as number)).toBeLessThanOrEqual(10);
    // A direct call says the same.
    const direct = await queues[doomed]!.publish('x').catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(RedisUnavailableError);

    // Nothing acknowledged on a surviving queue was lost: before or after the kill, every job
    // completed exactly once, and the read model equals a replay of the log.
    for (const [i, p] of producers.entries()) {
      if (i === doomed) continue;
      await expectAllCompletedOnce(cluster, names[i] as string, p.acked, 30_000);
      const events = await allEvents(cluster, names[i] as string);
      expect(events.some((e) => e.type === 'completed' && e.metadata.time > killedAt)).toBe(true);
    }
    // The survivors' event tails followed through the kill; the dead queue's tail waits for its
    // master (a blocked read on a Cluster duplicate retries redirections without end) instead of failing.
    for (const name of alive) {
      const tail = tails.get(name)!;
      await waitFor(() => tail.events.some((e) => e.metadata.time > killedAt && e.type === 'completed'), 10_000, `tail of ${name} after the kill`);
      expect(tail.errors).toEqual([]);
    }
    expect(tails.get(dead)!.errors).toEqual([]);

    // The dead queue's workers reported connection-level errors, and keep running.
    await waitFor(() => deadWorkerErrors.length > 0, 10_000, 'dead queue worker reported an error');
    expect(deadWorkerErrors.every((e) => isRedisDown(e))).toBe(true);

    // SCAN: a surviving queue's keys are found on its own master; a scan of every master (what
    // a flush without a hash tag would need) reports the dead one instead of skipping it.
    const survivorKeys: string[] = [];
    for await (const page of scanKeys(cluster, `sluice:{${alive[0]}}:*`, { slotKey: `{${alive[0]}}` })) survivorKeys.push(...page);
    expect(survivorKeys).toContain(eventsKey(toQueueName(alive[0] as string)));
    const everywhere = (async () => {
      for await (const page of scanKeys(cluster, 'sluice:*')) expect(page.length).toBeGreaterThan(0);
    })();
    await expect(everywhere).rejects.toBeInstanceOf(RedisUnavailableError);
    // verify of a surviving queue runs (it scans only that queue's master); of the dead queue it fails typed.
    expect((await verify(cluster, alive[1] as string)).clean).toBe(true);
    await expect(verify(cluster, dead)).rejects.toSatisfy((e: unknown) => isRedisDown(e));
    console.log(
      `cluster: killed master ${fixture.masters[doomed]!.port} (queue ${dead}); survivors acked ${alive.map((n) => producers[names.indexOf(n)]!.acked.size).join(' + ')} jobs ` +
        `(${alive.map((n) => producers[names.indexOf(n)]!.acked.size - (ackedAtKill[names.indexOf(n)] as number)).join(' + ')} after the kill), all completed; ` +
        `dead queue: ${afterKill.length} publish errors, first: ${(afterKill[0] as Error).message}`,
    );
  });
});
