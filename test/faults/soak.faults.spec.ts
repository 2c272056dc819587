/**
 * Soak: SOAK_JOBS jobs (default 10,000 here; `npm run soak` runs 200,000) through worker
 * processes that fail, overrun their timeouts and are SIGKILLed and replaced at random, with
 * cancellations and the archiver running throughout. At the end every job is in exactly one
 * terminal state, the read model verifies clean, the counters add up, the archive holds every
 * event exactly once with an intact chain, and after retention Redis memory is back near its
 * baseline. The figures are printed for docs/RELIABILITY.md.
 */
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Archiver } from '../../src/audit/archiver.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { verify } from '../../src/projections/rebuild.js';
import { Child } from '../helpers/child.js';
import { waitFor } from '../helpers/dispatch.js';
import { archivedQueue } from './harness.js';

const JOBS = Number(process.env.SOAK_JOBS ?? '10000');
const WORKERS = 3;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

describe('soak', () => {
  it(`${JOBS} jobs with failures, timeouts, cancellations and worker kills end consistent`, { timeout: Math.max(300_000, JOBS * 30) }, async () => {
    const started = Date.now();
    const { server, redis, archive, name, queue } = await archivedQueue(cleanups, 'soak');
    await redis.memory('PURGE').catch(() => undefined);
    const baseline = await usedMemory(redis);

    const archiver = new Archiver({ redis, archive, queue: name, batchSize: 2000, intervalMs: 200, onError: () => undefined });
    archiver.start();
    cleanups.push(() => archiver.stop());

    const spawnWorker = (): Child => new Child('soak-worker.ts', { REDIS_URL: server.url, QUEUE: name, LEASE_MS: '1500' });
    const workers = Array.from({ length: WORKERS }, spawnWorker);
    cleanups.push(() => Promise.all(workers.map((w) => w.kill())).then(() => undefined));
    let kills = 0;
    let killing = true;
    const killer = (async () => {
      while (killing) {
        await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
        if (!killing) break;
        const i = Math.floor(Math.random() * workers.length);
        await (workers[i] as Child).kill();
        kills++;
        workers[i] = spawnWorker();
      }
    })();

    let cancelled = 0;
    for (let i = 0; i < JOBS; i += 1000) {
      const results = await queue.publishMany(
        Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => ({
          name: 'soak',
          opts: { jobId: `s-${i + k}`, attempts: 3, backoff: { type: 'fixed' as const, delayMs: 20 }, timeoutMs: 100 },
        })),
      );
      for (const r of results.filter((_, k) => k % 97 === 0)) {
        try {
          await queue.cancel(r.id, 'soak');
          cancelled++;
        } catch {
          // already finished: fine
        }
      }
    }

    await waitFor(async () => {
      const { counts } = await queue.stats();
      return counts.completed + counts.dead + counts.cancelled === JOBS;
    }, Math.max(240_000, JOBS * 20), 'every job terminal');
    killing = false;
    await killer;
    await Promise.all(workers.map((w) => w.kill()));
    const drained = Date.now();

    const stats = await queue.stats();
    expect(stats.events.created).toBe(JOBS);
    expect((stats.events.completed ?? 0) + (stats.events['dead-lettered'] ?? 0) + (stats.events.cancelled ?? 0)).toBe(JOBS);
    expect(stats.counts.cancelled).toBe(cancelled);
    expect((await verify(redis, name, { archive })).differences).toEqual([]);

    // Retention empties the read model; the archive then holds every event once.
    await queue.setRetention({ completed: { maxCount: 0 }, dead: { maxCount: 0 }, cancelled: { maxCount: 0 } });
    for (;;) {
      const removed = await queue.applyRetention(5000);
      if (removed.completed + removed.dead + removed.cancelled === 0) break;
    }
    expect(Object.values((await queue.stats()).counts).every((n) => n === 0)).toBe(true);
    await archiver.stop();
    const finalArchiver = new Archiver({ redis, archive, queue: name, batchSize: 5000 });
    while ((await finalArchiver.runOnce()).archived > 0);
    const info = (await redis.xinfo('STREAM', eventsKey(toQueueName(name)))) as unknown[];
    const added = Number(info[info.indexOf('entries-added') + 1]);
    const audit = await verifyAudit(archive, name);
    expect(audit.ok).toBe(true);
    expect(audit.checked).toBe(added);
    await redis.memory('PURGE').catch(() => undefined);
    const after = await usedMemory(redis);
    const figures = {
      jobs: JOBS,
      completed: stats.counts.completed,
      dead: stats.counts.dead,
      cancelled: stats.counts.cancelled,
      events: added,
      workerKills: kills,
      timedOut: stats.events['timed-out'] ?? 0,
      failedAttempts: stats.events.failed ?? 0,
      drainSeconds: Math.round((drained - started) / 1000),
      baselineBytes: baseline,
      afterRetentionBytes: after,
    };
    console.log(`soak figures: ${JSON.stringify(figures)}`);
    expect(kills).toBeGreaterThan(0);
    expect(after - baseline).toBeLessThan(2 * 1024 * 1024);
  });
});
