/**
 * verify and rebuild on a live, archiving queue (issue #14): an archiver trimming every 100 ms,
 * a publisher at a few hundred jobs a second, worker processes failing attempts at random (and
 * one SIGKILLed mid-run, so its jobs wait out their lease), while verify and rebuild run over and
 * over. Every verify answers (never throws) and is clean; after every rebuild `completed` never
 * went down, `active` stays within the workers' total concurrency and no job is active longer
 * than its lease allows; at the end every job is in exactly one terminal state and the read
 * model verifies clean against the whole history (archive, then stream).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Archiver } from '../../src/audit/archiver.js';
import { replayBatches } from '../../src/history/replay.js';
import { jobKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { Child } from '../helpers/child.js';
import { waitFor } from '../helpers/dispatch.js';
import { archivedQueue, Producer } from './harness.js';

const LOAD_MS = Number(process.env.LIVE_LOAD_MS ?? '40000');
const WORKERS = 2;
const CONCURRENCY = 8;
const LEASE_MS = 1500;
/** A job may stay active this long: its lease, a reaper run (lease / 2 ± 25 %), and slack for a loaded machine. */
const ACTIVE_BOUND_MS = LEASE_MS + LEASE_MS * 0.75 + 5000;

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('verify and rebuild on a live, archiving queue', () => {
  it(`${LOAD_MS / 1000} s of load with the archiver trimming: verify is clean, rebuild never regresses`, { timeout: LOAD_MS + 240_000 }, async () => {
    const { server, redis, archive, name, queue } = await archivedQueue(cleanups, 'live');

    const archiver = new Archiver({ redis, archive, queue: name, batchSize: 1000, intervalMs: 100, onError: () => undefined });
    archiver.start();
    cleanups.push(() => archiver.stop());
    const spawnWorker = (): Child =>
      new Child('soak-worker.ts', { REDIS_URL: server.url, QUEUE: name, LEASE_MS: String(LEASE_MS), CONCURRENCY: String(CONCURRENCY), FAIL_RATE: '0.2', HANG_RATE: '0', WORK_MS: '40' });
    const workers = Array.from({ length: WORKERS }, spawnWorker);
    cleanups.push(() => Promise.all(workers.map((w) => w.kill())).then(() => undefined));
    await Promise.all(workers.map((w) => w.waitForLine(/^ready/, 60_000)));

    // A few hundred jobs a second; each job may fail up to twice before it completes (or dies).
    const producer = new Producer(
      { publishMany: (jobs) => queue.publishMany(jobs.map((j) => ({ ...j, opts: { ...j.opts, attempts: 3, backoff: { type: 'fixed', delayMs: 20 } } }))) },
      { batch: 10, pauseMs: 40, idPrefix: 'live-' },
    );
    cleanups.push(() => producer.stop());
    const started = Date.now();
    const log = (what: string): void => console.log(`live rebuild +${Math.round((Date.now() - started) / 1000)} s: ${what}`);
    let killed = false;
    let rounds = 0;
    let lastCompleted = 0;
    let maxActive = 0;
    let oldestActiveMs = 0;
    const verifyErrors: unknown[] = [];
    while (Date.now() - started < LOAD_MS) {
      if (!killed && Date.now() - started > LOAD_MS / 3) {
        // A worker dies holding jobs: they stay active until the reaper takes them after the lease.
        const victim = workers[0] as Child;
        const victimId = (await victim.waitForLine(/^ready /)).slice('ready '.length);
        // Freeze it (SIGSTOP) until it is caught holding a job, then kill it.
        await waitFor(async () => {
          victim.signal('SIGSTOP');
          const { jobs: active } = await queue.list('active', { limit: 1000 });
          if (active.some((job) => job.worker === victimId)) return true;
          victim.signal('SIGCONT');
          return false;
        }, 20_000, 'the victim holding a job');
        await victim.kill();
        workers[0] = spawnWorker();
        killed = true;
      }
      try {
        const report = await verify(redis, name, { archive });
        expect(report.differences).toEqual([]);
      } catch (error) {
        verifyErrors.push(error);
      }
      await rebuild(redis, name, { archive });
      const { counts } = await queue.stats();
      expect(counts.completed).toBeGreaterThanOrEqual(lastCompleted);
      expect(counts.active).toBeLessThanOrEqual(WORKERS * CONCURRENCY);
      lastCompleted = counts.completed;
      maxActive = Math.max(maxActive, counts.active);
      // No job stays active past its lease (plus a reaper run): a rebuild must not resurrect one.
      const { jobs: active } = await queue.list('active', { limit: 1000 });
      const now = Date.now();
      for (const { id } of active) {
        const claimedAt = Number(await redis.hget(jobKey(toQueueName(name), toJobId(id)), 'claimedAt'));
        oldestActiveMs = Math.max(oldestActiveMs, now - claimedAt);
        expect(now - claimedAt, `job ${id} active since ${now - claimedAt} ms`).toBeLessThan(ACTIVE_BOUND_MS);
      }
      rounds++;
    }
    await producer.stop();
    log(`load stopped after ${rounds} rounds`);
    expect(verifyErrors).toEqual([]);

    // Drain: every acknowledged job reaches a terminal state.
    await waitFor(async () => {
      const { counts } = await queue.stats();
      return counts.completed + counts.dead === producer.acked.size && counts.active + counts.waiting + counts.delayed === 0;
    }, 120_000, 'every job terminal');
    log('drained');
    const stats = await queue.stats();
    expect(stats.stream.trimmed).toBeGreaterThan(0); // the archiver did trim: the history spans archive and stream

    // Every job ends in exactly one terminal state, across the whole history.
    const terminal = new Map<string, number>();
    let events = 0;
    for await (const batch of replayBatches({ redis, archive, queue: name })) {
      events += batch.length;
      for (const e of batch) {
        if (e.type === 'completed' || e.type === 'dead-lettered' || e.type === 'cancelled') terminal.set(e.metadata.jobId, (terminal.get(e.metadata.jobId) ?? 0) + 1);
      }
    }
    expect(events).toBe(stats.stream.appended);
    expect(terminal.size).toBe(producer.acked.size);
    expect([...terminal.values()].every((n) => n === 1)).toBe(true);

    log('history counted');
    const final = await verify(redis, name, { archive });
    log('verified');
    expect(final.differences).toEqual([]);
    expect(final.replayed + final.caughtUp).toBe(stats.stream.appended);
    console.log(
      `live rebuild figures: ${JSON.stringify({
        loadSeconds: LOAD_MS / 1000,
        rounds,
        jobs: producer.acked.size,
        events: stats.stream.appended,
        trimmed: stats.stream.trimmed,
        completed: stats.counts.completed,
        dead: stats.counts.dead,
        failedAttempts: stats.events.failed ?? 0,
        timedOut: stats.events['timed-out'] ?? 0,
        maxActive,
        oldestActiveMs,
      })}`,
    );
    expect(rounds).toBeGreaterThan(1);
    expect(stats.events['timed-out'] ?? 0).toBeGreaterThan(0); // the victim's jobs waited out their lease
  });
});
