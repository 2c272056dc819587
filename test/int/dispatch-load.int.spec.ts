import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { Queue } from '../../src/queue/queue.js';
import { allEvents, dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';

describe('load', () => {
  it('10,000 jobs over 4 workers with random failures: every job ends in exactly one terminal state', async () => {
    const redis = testRedis();
    const name = testQueueName();
    const queue = new Queue(name, { connection: redis });
    const total = 10_000;
    try {
      for (let i = 0; i < total; i += 1000) {
        await queue.publishMany(
          Array.from({ length: 1000 }, (_, k) => ({
            name: 'work',
            opts: { jobId: `job-${i + k}`, priority: (i + k) % 5, attempts: 3, backoff: { type: 'fixed' as const, delayMs: 5 } },
          })),
        );
      }
      let seed = 42;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const runs = new Map<string, number>();
      const workers = Array.from(
        { length: 4 },
        () =>
          new Worker(
            name,
            (job) => {
              runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
              if (random() < 0.2) throw new Error('random failure');
            },
            { connection: inject('redisUrl'), concurrency: 50, blockMs: 200, promoteIntervalMs: 20 },
          ),
      );
      await waitFor(async () => {
        const { counts } = await queue.stats();
        return counts.completed + counts.dead === total;
      }, 120_000, 'all jobs terminal');
      await Promise.all(workers.map((w) => w.close()));

      const { counts } = await queue.stats();
      expect(counts.waiting + counts.active + counts.delayed + counts.failed).toBe(0);
      const events = await allEvents(redis, name);
      const terminal = new Map<string, number>();
      const created = new Set<string>();
      for (const e of events) {
        if (e.type === 'created') created.add(e.metadata.jobId);
        if (e.type === 'completed' || e.type === 'dead-lettered') terminal.set(e.metadata.jobId, (terminal.get(e.metadata.jobId) ?? 0) + 1);
      }
      expect(created.size).toBe(total);
      expect(terminal.size).toBe(total);
      expect([...terminal.values()].every((n) => n === 1)).toBe(true);
      // The read model agrees with the log: completed + dead = all, and each job's attempts match its claims.
      const completedEvents = events.filter((e) => e.type === 'completed').length;
      expect(counts.completed).toBe(completedEvents);
      expect(counts.dead).toBe(total - completedEvents);
      const claims = events.filter((e) => e.type === 'claimed').length;
      expect(claims).toBe([...runs.values()].reduce((a, b) => a + b, 0));
    } finally {
      await queue.close();
      await dropQueue(redis, name);
      await redis.quit();
    }
  });
});
