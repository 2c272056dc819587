/**
 * Sluice on a real Redis Cluster: three masters (no replicas), one queue whose slot sits on each.
 * Every queue runs unchanged (publish, workers, retries, delays, a flow across masters, the event
 * tail, rebuild and verify); then one master is SIGKILLed: the queues on the two survivors keep
 * publishing and completing, and the queue on the dead master reports a typed, retryable error.
 * On the same cluster: the HTTP service started from a `redis+cluster://` URL, and a partitioned
 * queue whose partitions sit on all three masters, before and after that kill.
 */
import { Writable } from 'node:stream';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { loadConfig } from '../../src/app/config.js';
import type { Handler, Worker } from '../../src/consumers/worker.js';
import { isRedisDown, RedisUnavailableError, SluiceError } from '../../src/core/errors.js';
import { RedisEventLog } from '../../src/events/log.js';
import type { StoredJobEvent } from '../../src/events/types.js';
import { eventsKey, partitionQueueName, partitionsKey, QUEUES_KEY, toQueueName } from '../../src/core/keys.js';
import { partitionOf, PartitionedQueue, PartitionedWorker } from '../../src/consumers/partitioned.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { closeRedis, createCluster, isCluster, keySlot, scanKeys } from '../../src/redis/connection.js';
import { createLogger } from '../../src/server/logger.js';
import { startService } from '../../src/server/serve.js';
import { allEvents, typesOf, waitFor } from '../helpers/dispatch.js';
import { RedisClusterFixture, type ClusterMaster } from '../helpers/redis-cluster.js';
import { dropDatabase, testDatabase } from '../helpers/service.js';
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
/** When the doomed master was SIGKILLed. */
let killedAt = 0;

/** Partitions of the partitioned queue. */
const PARTITIONS = 6;
/** The partitioned queue: its partitions sit on all three masters, its stored count not on the doomed one. */
let partitioned: string;
/** Index (in `fixture.masters`) of the master holding each partition. */
let partitionMaster: number[];
/** A partition key routing to each partition. */
let partitionKeys: string[];
/** What the partitioned queue's producers (one per partition, started before the kill) acknowledged. */
let partitionProducers: Producer[] = [];
/** Job ids published to each partition before the kill (all completed then). */
let partitionIds: Set<string>[] = [];
const partitionWorkerErrors: unknown[] = [];
let partitionedQueue: PartitionedQueue;

/** The physical queue of partition `p` of the partitioned queue. */
function partitionName(p: number): string {
  return partitionQueueName(toQueueName(partitioned), p);
}

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
  // A partitioned queue whose partitions sit on every master (each `<q>#<p>` is its own hash
  // tag), and whose stored partition count (`sluice:{<q>}:partitions`) is on a survivor.
  const masterIndex = (key: string): number => fixture.masters.indexOf(fixture.masterOfSlot(keySlot(key)));
  for (let i = 0; ; i++) {
    if (i > 500) throw new Error('no partitioned queue name found spreading over every master');
    const name = `pcl-${run}-${i}`;
    const owners = Array.from({ length: PARTITIONS }, (_, p) => masterIndex(eventsKey(partitionQueueName(toQueueName(name), p))));
    if (new Set(owners).size === fixture.masters.length && masterIndex(partitionsKey(toQueueName(name))) !== doomed) {
      partitioned = name;
      partitionMaster = owners;
      break;
    }
  }
  partitionKeys = Array.from({ length: PARTITIONS }, (_, p) => {
    for (let k = 0; ; k++) if (partitionOf(`key-${k}`, PARTITIONS) === p) return `key-${k}`;
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(partitionProducers.map((p) => p.stop().catch(() => undefined)));
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

  it('the HTTP service and the CLI on a redis+cluster:// URL: publish and read a job over HTTP, /metrics carries the queues of every master, CLI show and verify, the password is logged masked', async () => {
    const database = testDatabase();
    let logged = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString('utf8');
        done();
      },
    });
    // The nodes' `default` user has no password (nopass accepts any): the URL's password is sent and must never be logged.
    const secret = 'cluster-pa55word';
    const url = fixture.url.replace('redis+cluster://', `redis+cluster://default:${secret}@`);
    const config = loadConfig({
      env: {
        REDIS_URL: url,
        MONGO_URL: inject('mongoUrl'),
        SLUICE_MONGO_DATABASE: database,
        SLUICE_HOST: '127.0.0.1',
        SLUICE_PORT: '0',
        SLUICE_LOCAL_NO_AUTH: 'true',
        SLUICE_OTEL: 'off',
        // Archive every queue (the archivers discover them in sluice:queues), without trimming the
        // streams the other tests read.
        SLUICE_ARCHIVE_INTERVAL: '200ms',
        SLUICE_ARCHIVE_TRIM: 'false',
      },
    });
    const service = await startService(config, { logger: createLogger({ level: 'debug', destination }) });
    cleanups.push(() => dropDatabase(database), () => service.close());
    expect(isCluster(service.context.redis)).toBe(true);

    const queue = `${names[0]}-http`;
    const post = await fetch(`${service.url}/v1/queues/${queue}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'over-http', payload: { n: 7 }, opts: { jobId: 'h-1' } }),
    });
    expect(post.status).toBe(201);
    expect(await post.json()).toEqual({ id: 'h-1', created: true });
    const job = await fetch(`${service.url}/v1/queues/${queue}/jobs/h-1?include=payload`);
    expect(job.status).toBe(200);
    expect(await job.json()).toMatchObject({ id: 'h-1', queue, name: 'over-http', state: 'waiting', payloadValue: { n: 7 } });
    const listed: unknown = await (await fetch(`${service.url}/v1/queues`)).json();
    expect(JSON.stringify(listed)).toContain(queue);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);

    // /metrics reads every registered queue through one pipeline per queue (one slot each), on every master.
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain(`sluice_jobs_published_total{queue="${queue}"} 1`);
    expect(metrics).toContain(`sluice_queue_jobs{queue="${queue}",state="waiting"} 1`);
    for (const name of names) expect(metrics).toMatch(new RegExp(`sluice_jobs_completed_total\\{queue="${name}"\\} [1-9]`));
    expect(metrics).toMatch(/^sluice_metrics_collect_errors_total 0$/m);
    // The archivers (one per queue found in sluice:queues at start) run on the cluster connection
    // too: every master's queue gets archived.
    for (const name of names) {
      await waitFor(async () => (await service.context.archive.count(toQueueName(name))) >= 60, 15_000, `queue ${name} archived`);
    }

    // The CLI on the same URL (in process): show the job, list the queues, verify a queue of
    // every master against its archive.
    const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
      const output = { out: '', err: '' };
      const sink = (key: 'out' | 'err') =>
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            output[key] += chunk.toString('utf8');
            done();
          },
        });
      const code = await runCli([...args, '--json', '--redis-url', url, '--mongo-url', inject('mongoUrl'), '--mongo-database', database], { out: sink('out'), err: sink('err') });
      return { code, ...output };
    };
    const shown = await cli('show', queue, 'h-1');
    expect(shown).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(shown.out)).toMatchObject({ id: 'h-1', queue, state: 'waiting' });
    expect((await cli('queues')).out).toContain(queue);
    for (const name of names) {
      const verified = await cli('verify', name);
      expect(verified.code, verified.err).toBe(0);
      expect(JSON.parse(verified.out)).toMatchObject({ queue: name, ok: true, projections: { clean: true }, audit: { ok: true } });
    }
    expect(process.exitCode).toBeUndefined();

    await service.close();
    expect(logged).toContain('"redisUrl":"redis+cluster://default:***@127.0.0.1:');
    expect(logged).not.toContain(secret);
  });

  it(`a partitioned queue (${PARTITIONS} partitions) spreads over the three masters: publishMany, a PartitionedWorker on a Cluster connection, every job completed once`, async () => {
    const slots = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => fixture.keySlot(eventsKey(toQueueName(partitionName(p))))));
    expect(Array.from({ length: PARTITIONS }, (_, p) => keySlot(eventsKey(toQueueName(partitionName(p)))))).toEqual(slots);
    expect(slots.map((slot) => fixture.masters.indexOf(fixture.masterOfSlot(slot)))).toEqual(partitionMaster);
    expect(new Set(partitionMaster).size).toBe(3);

    const pq = new PartitionedQueue(partitioned, { connection: cluster, partitions: PARTITIONS });
    partitionedQueue = pq;
    cleanups.push(() => pq.close());
    const ids = Array.from({ length: 300 }, (_, i) => `pj-${i}`);
    const results = await pq.publishMany(ids.map((id) => ({ name: 'work', payload: undefined, opts: { jobId: id, attempts: 3, backoff: { type: 'fixed', delayMs: 50 } } })));
    expect(results.every((r) => r.created)).toBe(true);
    partitionIds = Array.from({ length: PARTITIONS }, () => new Set<string>());
    for (const r of results) partitionIds[r.partition]!.add(r.id);
    expect(partitionIds.every((set) => set.size > 0)).toBe(true);

    const connection = createCluster(fixture.url, { maxRetriesPerRequest: 3 });
    connection.on('error', () => undefined);
    const worker = await PartitionedWorker.open(partitioned, handler, { connection, partitions: PARTITIONS, concurrency: 12, blockMs: 200, leaseMs: 2000, promoteIntervalMs: 50 });
    worker.on('error', (e) => partitionWorkerErrors.push(e));
    cleanups.push(() => closeRedis(connection), () => worker.close(500));

    for (let p = 0; p < PARTITIONS; p++) {
      await expectAllCompletedOnce(cluster, partitionName(p), partitionIds[p]!, 30_000);
      expect((await verify(cluster, partitionName(p))).clean).toBe(true);
    }
    expect((await pq.stats()).counts.completed).toBe(ids.length);
    expect(partitionWorkerErrors).toEqual([]);

    // Load for the kill below: one producer per partition, each batch routed by a key of that partition.
    partitionProducers = partitionKeys.map(
      (key, p) =>
        new Producer(
          { publishMany: (jobs) => pq.publishMany(jobs.map((job) => ({ ...job, opts: { ...job.opts, partitionKey: key } }))) },
          { batch: 10, pauseMs: 20, idPrefix: `pp${p}-` },
        ),
    );
    await waitFor(() => partitionProducers.every((p) => p.acked.size >= 50), 20_000, 'every partition producer published');
    expect(partitionProducers.every((p) => p.errors.length === 0)).toBe(true);
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
    killedAt = Date.now();
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

  it('after that kill, the partitioned queue: partitions on the survivors keep accepting and completing, publishes to the dead master\'s partitions fail with RedisUnavailableError, nothing acknowledged is lost', async () => {
    expect(killedAt).toBeGreaterThan(0);
    const pq = partitionedQueue;
    const dead = partitionMaster.flatMap((m, p) => (m === doomed ? [p] : []));
    const alive = partitionMaster.flatMap((m, p) => (m === doomed ? [] : [p]));
    expect(dead.length).toBeGreaterThan(0);
    expect(alive.length).toBeGreaterThan(0);
    const ackedBefore = partitionProducers.map((p) => p.acked.size);

    // The survivors' partitions go on: 100 more acknowledged publishes each.
    for (const p of alive) {
      await waitFor(() => partitionProducers[p]!.acked.size >= ackedBefore[p]! + 100, 30_000, `partition ${p} kept publishing`);
    }
    // The dead master's partitions report typed, retryable errors, and acknowledge nothing more.
    for (const p of dead) await waitFor(() => partitionProducers[p]!.errors.length > 0, 10_000, `partition ${p} reported an error`);
    await Promise.all(partitionProducers.map((p) => p.stop()));
    for (const p of dead) {
      const producer = partitionProducers[p]!;
      expect(producer.acked.size).toBe(ackedBefore[p]);
      for (const error of producer.errors) {
        expect(error).toBeInstanceOf(RedisUnavailableError);
        expect((error as SluiceError).retryable).toBe(true);
        expect((error as Error).message).toMatch(new RegExp(`Redis unavailable during publish on queue ${partitionName(p)}: `));
      }
    }
    for (const p of alive) expect(partitionProducers[p]!.errors).toEqual([]);
    // A direct publish says the same; one routed to a survivor succeeds, also through a fresh
    // handle (the stored partition count sits on a survivor).
    await expect(pq.publish('x', undefined, { partitionKey: partitionKeys[dead[0]!]! })).rejects.toBeInstanceOf(RedisUnavailableError);
    const fresh = new PartitionedQueue(partitioned, { connection: cluster, partitions: PARTITIONS });
    cleanups.push(() => fresh.close());
    const survivor = await fresh.publish('after-kill', undefined, { jobId: 'pp-after-kill', partitionKey: partitionKeys[alive[0]!]! });
    expect(survivor).toMatchObject({ created: true, partition: alive[0] });

    // Nothing acknowledged on a surviving partition was lost: every job published before or after
    // the kill completed exactly once, some of them after it, and verify is clean.
    for (const p of alive) {
      const acked = new Set([...partitionIds[p]!, ...partitionProducers[p]!.acked, ...(p === alive[0] ? ['pp-after-kill'] : [])]);
      await expectAllCompletedOnce(cluster, partitionName(p), acked, 30_000);
      const events = await allEvents(cluster, partitionName(p));
      expect(events.some((e) => e.type === 'completed' && e.metadata.time > killedAt)).toBe(true);
      expect((await verify(cluster, partitionName(p))).clean).toBe(true);
    }
    // The worker's loops on the dead partitions report connection-level errors and keep running.
    await waitFor(() => partitionWorkerErrors.length > 0, 10_000, 'partitioned worker reported an error');
    expect(partitionWorkerErrors.every((e) => isRedisDown(e))).toBe(true);
    console.log(
      `cluster, partitioned: ${PARTITIONS} partitions on masters ${partitionMaster.join(',')}; killed master ${doomed} held partitions ${dead.join(',')}; ` +
        `survivors acked ${alive.map((p) => partitionProducers[p]!.acked.size).join(' + ')} load jobs (${alive.map((p) => partitionProducers[p]!.acked.size - ackedBefore[p]!).join(' + ')} in this test), all completed; ` +
        `dead partitions: ${dead.map((p) => partitionProducers[p]!.errors.length).join(' + ')} publish errors`,
    );
  });
});
