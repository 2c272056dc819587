/**
 * Redis Cluster failover under load: three masters with one replica each (`cluster-node-timeout
 * 1000`, no persistence: AOF off, no RDB snapshots). A queue whose slot sits on master M runs a
 * producer (`publishMany`, every acknowledged batch recorded) and a Worker on its own Cluster
 * connection; M is SIGKILLed. The test shows that M's replica is promoted (the slot's owner
 * changes), that ioredis follows it (publishes fail with `RedisUnavailableError` for a measured
 * window, then succeed again), that the worker resumes by itself, and what the promoted replica
 * kept: every acknowledged publish is completed exactly once or lost (replication is
 * asynchronous and Sluice does not call WAIT: losses are counted and reported, not assumed
 * away), `verify` is clean and no job is left unfinished. Then the killed process is restarted
 * and rejoins as a replica of the new master.
 */
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker, type Handler } from '../../src/consumers/worker.js';
import { isRedisDown, RedisUnavailableError, SluiceError } from '../../src/core/errors.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { closeRedis, createCluster, keySlot } from '../../src/redis/connection.js';
import { allEvents, waitFor } from '../helpers/dispatch.js';
import { clusterNodes, nodeRole, RedisClusterFixture, replicationInfo, slotOwner, type ClusterMaster, type ClusterReplica } from '../helpers/redis-cluster.js';
import { statesOf } from './harness.js';

/** Milliseconds without a reply before a node is suspected; a majority of masters then marks it failed. */
const NODE_TIMEOUT_MS = 1000;
const BATCH = 10;
const TERMINAL = new Set(['completed', 'dead', 'cancelled']);

let fixture: RedisClusterFixture;
/** The producer's connection (and the one the checks read through). */
let cluster: Cluster;
/** The worker's own connection. */
let workerCluster: Cluster;
let queue: Queue;
let worker: Worker;
let name: string;
let slot: number;
/** The master serving the queue's slot, SIGKILLed below, and its replica. */
let doomed: ClusterMaster;
let replica: ClusterReplica;
const workerErrors: unknown[] = [];
/** Handler runs per job id, and when each ran. */
const runs = new Map<string, number>();
const runTimes: number[] = [];

/** One publishMany call of the producer. */
interface BatchRecord {
  ids: string[];
  start: number;
  end: number;
  error?: unknown;
}
const batches: BatchRecord[] = [];
let producing = true;
let producer: Promise<void> = Promise.resolve();

function startProducer(): void {
  let next = 0;
  producer = (async () => {
    while (producing) {
      const ids = Array.from({ length: BATCH }, () => `f-${next++}`);
      const record: BatchRecord = { ids, start: Date.now(), end: 0 };
      try {
        await queue.publishMany(ids.map((id) => ({ name: 'load', payload: undefined, opts: { jobId: id } })));
      } catch (error) {
        record.error = error;
      }
      record.end = Date.now();
      batches.push(record);
      await new Promise((r) => setTimeout(r, record.error ? 20 : 5));
    }
  })();
}

const acked = (): string[] => batches.filter((b) => !b.error).flatMap((b) => b.ids);

const handler: Handler = async (job) => {
  runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
  runTimes.push(Date.now());
  await new Promise((r) => setTimeout(r, 1 + Math.random() * 2));
};

/** A master other than `doomed` that is alive, to ask about the cluster. */
function witness(): number {
  return fixture.masters.find((m) => m !== doomed && m.server.running)!.port;
}

// Filled by the failover test, read by the restart test.
let killedAt = 0;
let promotedAt = 0;

beforeAll(async () => {
  fixture = await RedisClusterFixture.start(3, NODE_TIMEOUT_MS, { replicas: 1 });
  cluster = createCluster(fixture.url, { maxRetriesPerRequest: 3 });
  cluster.on('error', () => undefined);
  // Any queue name: its slot decides which master is doomed.
  name = `fo-${Math.random().toString(36).slice(2, 7)}`;
  slot = keySlot(eventsKey(toQueueName(name)));
  doomed = fixture.masterOfSlot(slot);
  replica = fixture.replicaOf(doomed);
  queue = new Queue(name, { connection: cluster });
  workerCluster = createCluster(fixture.url, { maxRetriesPerRequest: 3 });
  workerCluster.on('error', () => undefined);
}, 60_000);

afterAll(async () => {
  producing = false;
  await producer.catch(() => undefined);
  await worker?.close(500).catch(() => undefined);
  await queue?.close().catch(() => undefined);
  if (workerCluster) await closeRedis(workerCluster).catch(() => undefined);
  if (cluster) await closeRedis(cluster).catch(() => undefined);
  await fixture?.stop();
});

describe('Redis Cluster failover (3 masters, 1 replica each)', () => {
  it('the topology: six nodes, each master with one replica in sync; the queue\'s slot is served by the doomed master', async () => {
    expect(fixture.masters).toHaveLength(3);
    expect(fixture.replicas).toHaveLength(3);
    expect(new Set(fixture.replicas.map((r) => r.masterPort))).toEqual(new Set(fixture.masters.map((m) => m.port)));
    expect(await fixture.keySlot(eventsKey(toQueueName(name)))).toBe(slot);
    expect(await slotOwner(witness(), slot)).toBe(doomed.port);
    expect(await nodeRole(replica.port)).toEqual({ role: 'slave', masterPort: doomed.port, state: 'connected' });
    expect((await replicationInfo(replica.port)).master_link_status).toBe('up');
  });

  it('SIGKILL of the master under load: the replica is promoted, publishes fail with RedisUnavailableError for a bounded window then succeed, the worker resumes, every acknowledged job is completed once or counted as lost', async () => {
    worker = new Worker(name, handler, { connection: workerCluster, concurrency: 8, blockMs: 200, leaseMs: 2000, promoteIntervalMs: 50 });
    worker.on('error', (e) => workerErrors.push(e));
    startProducer();
    await waitFor(() => acked().length >= 400 && runs.size >= 200, 20_000, 'load before the kill');
    expect(batches.every((b) => !b.error)).toBe(true);
    expect(workerErrors).toEqual([]);

    await doomed.server.kill();
    killedAt = Date.now();

    // The cluster promotes the replica: a surviving master's slot map names it, and it says it is a master.
    await waitFor(async () => (await slotOwner(witness(), slot).catch(() => undefined)) === replica.port, 15_000, 'slot owned by the promoted replica');
    promotedAt = Date.now();
    expect(await nodeRole(replica.port)).toEqual({ role: 'master' });
    const seen = await clusterNodes(witness());
    expect(seen.find((n) => n.port === doomed.port)?.flags).toEqual(expect.arrayContaining(['master', 'fail']));
    expect(seen.find((n) => n.port === replica.port)?.flags).toContain('master');

    // ioredis follows: publishes succeed again, and keep succeeding.
    const recovered = (): BatchRecord | undefined => batches.find((b) => !b.error && b.start > killedAt);
    await waitFor(() => recovered() !== undefined, 20_000, 'a publish acknowledged after the kill');
    const firstOk = recovered()!;
    await waitFor(() => acked().filter((id) => Number(id.slice(2)) >= Number(firstOk.ids[0]!.slice(2))).length >= 300, 20_000, '300 publishes after the failover');
    producing = false;
    await producer;

    // Every failure is a typed, retryable RedisUnavailableError, and all of them fall in the
    // failover window (from the batch in flight at the kill to the first batch acknowledged after it).
    const failed = batches.filter((b) => b.error);
    expect(failed.length).toBeGreaterThan(0);
    for (const b of failed) {
      expect(b.error).toBeInstanceOf(RedisUnavailableError);
      expect((b.error as SluiceError).code).toBe('SLUICE_ERR_REDIS_UNAVAILABLE');
      expect((b.error as SluiceError).retryable).toBe(true);
      expect((b.error as Error).message).toMatch(new RegExp(`^Redis unavailable during publish on queue ${name}: `));
      expect(b.end).toBeGreaterThanOrEqual(killedAt);
      expect(b.start).toBeLessThan(firstOk.start);
    }
    const lastFailedEnd = Math.max(...failed.map((b) => b.end));
    const outageMs = firstOk.end - killedAt;

    // The worker resumes by itself: its handler runs again after the failover, and its errors
    // during the window were connection-level ones.
    await waitFor(() => runTimes.some((t) => t > firstOk.end), 20_000, 'the worker ran a job after the failover');
    expect(workerErrors.every((e) => isRedisDown(e))).toBe(true);

    // The drain: every acknowledged job is completed or absent (lost with the master), and every
    // job the promoted master holds, acknowledged or not (a batch whose reply was lost), is finished.
    const ackedIds = acked();
    const attempted = batches.flatMap((b) => b.ids);
    await waitFor(async () => {
      const states = await statesOf(cluster, name, attempted);
      return [...states.values()].every((s) => s === null || TERMINAL.has(s));
    }, 30_000, 'every job on the promoted master finished');
    const states = await statesOf(cluster, name, attempted);
    const lost = ackedIds.filter((id) => states.get(id) === null);
    expect(ackedIds.filter((id) => states.get(id) !== null && states.get(id) !== 'completed')).toEqual([]);
    const ghosts = failed.flatMap((b) => b.ids).filter((id) => states.get(id) !== null);
    const stats = await queue.stats();
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'blocked'] as const) expect(stats.counts[state], state).toBe(0);
    expect(stats.counts.completed).toBe(attempted.filter((id) => states.get(id) === 'completed').length);

    // Exactly once in the read model of the promoted master; verify clean.
    const events = await allEvents(cluster, name);
    const completions = new Map<string, number>();
    for (const e of events) if (e.type === 'completed') completions.set(e.metadata.jobId, (completions.get(e.metadata.jobId) ?? 0) + 1);
    expect([...completions.entries()].filter(([, n]) => n > 1)).toEqual([]);
    for (const id of ackedIds) if (!lost.includes(id)) expect(completions.get(id), id).toBe(1);
    expect(events.some((e) => e.type === 'completed' && e.metadata.time > firstOk.end)).toBe(true);
    const report = await verify(cluster, name);
    expect(report.differences).toEqual([]);
    expect(report.clean).toBe(true);

    // A lost job can only be one acknowledged just before the kill (the replication lag):
    // anything acknowledged a second earlier was on the replica.
    const ackedAt = new Map(batches.filter((b) => !b.error).flatMap((b) => b.ids.map((id) => [id, b.end] as const)));
    for (const id of lost) expect(ackedAt.get(id)!).toBeGreaterThan(killedAt - 1000);
    const reruns = [...runs.values()].filter((n) => n > 1).length;
    // Batches that began after the kill and were acknowledged once the replica took over (ioredis
    // held them while it refreshed its slot map) rather than failing.
    const waited = batches.filter((b) => !b.error && b.start > killedAt && b.start < promotedAt);
    console.log(
      `cluster failover: killed master ${doomed.port} (slot ${slot}); replica ${replica.port} owned the slot ${promotedAt - killedAt} ms later; ` +
        `no publish acknowledged for ${outageMs} ms after the kill (the first batch acknowledged after it ended at +${outageMs} ms); ` +
        `${failed.length} failed batches (ended between +${Math.min(...failed.map((b) => b.end)) - killedAt} and +${lastFailedEnd - killedAt} ms), ` +
        `${waited.length} batches held until the failover then acknowledged (longest ${Math.max(0, ...waited.map((b) => b.end - b.start))} ms); ` +
        `first error: ${(failed[0]!.error as Error).message}; ` +
        `${ackedIds.length} acknowledged publishes, ${lost.length} lost${lost.length ? ` (${lost.join(',')})` : ''}, ${ghosts.length} unacknowledged but present; ` +
        `${completions.size} completed once, none twice; ${reruns} handler re-runs; ${workerErrors.length} worker errors`,
    );
  });

  it('the killed process restarts and rejoins as a replica of the new master, with its data', async () => {
    expect(promotedAt).toBeGreaterThan(0);
    await doomed.server.restart();
    await waitFor(async () => {
      const role = await nodeRole(doomed.port).catch(() => undefined);
      return role?.role === 'slave' && role.masterPort === replica.port && role.state === 'connected';
    }, 20_000, 'restarted node replicating the new master');
    expect(await nodeRole(doomed.port)).toEqual({ role: 'slave', masterPort: replica.port, state: 'connected' });
    const seen = await clusterNodes(witness());
    const promotedId = seen.find((n) => n.port === replica.port)!.id;
    await waitFor(async () => {
      const node = (await clusterNodes(witness())).find((n) => n.port === doomed.port);
      return node?.flags.includes('slave') === true && !node.flags.includes('fail') && node.masterId === promotedId;
    }, 20_000, 'the cluster sees the restarted node as a replica of the new master');
    expect(await slotOwner(witness(), slot)).toBe(replica.port);

    // It resynchronised: its copy of the queue's event log matches the new master's.
    const copy = new Redis(doomed.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    copy.on('error', () => undefined);
    try {
      await copy.call('READONLY');
      const length = await cluster.xlen(eventsKey(toQueueName(name)));
      await waitFor(async () => (await copy.xlen(eventsKey(toQueueName(name)))) === length, 10_000, 'the replica holds the event log');
    } finally {
      copy.disconnect();
    }
    // And the queue goes on.
    expect((await queue.publish('after-rejoin', undefined, { jobId: 'after-rejoin' })).created).toBe(true);
    await waitFor(async () => (await queue.get('after-rejoin'))?.state === 'completed', 10_000, 'job after the rejoin completed');
    console.log(`cluster failover: killed node ${doomed.port} restarted and rejoined as a replica of ${replica.port}`);
  });
});
