import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { isSluiceError } from '../../src/core/errors.js';
import { claimAttempts, completeAttempts, failAttempt, promoteDue, reapLeases, recordProgress, releaseAttempts } from '../../src/events/commands/index.js';
import { toQueueName } from '../../src/core/keys.js';
import { rebuild, verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { ensureGroups } from '../../src/redis/open.js';
import { dropQueue, testQueueName, testRedis } from '../helpers/dispatch.js';
import { deleteReadModel, readModelSnapshot } from '../helpers/read-model.js';

type Op =
  | { op: 'publish'; count: number; delayMs: number; priority: number; attempts: number; dedupe: string | undefined; group: string | undefined; dep: number | undefined; ignore: boolean }
  | { op: 'claim'; count: number }
  | { op: 'complete'; pick: number }
  | { op: 'fail'; pick: number; retry: boolean }
  | { op: 'cancel'; pick: number }
  | { op: 'retry'; pick: number }
  | { op: 'remove'; pick: number }
  | { op: 'progress'; pick: number }
  | { op: 'timeout' }
  | { op: 'release'; pick: number }
  | { op: 'promote'; advanceMs: number }
  | { op: 'reprioritize'; pick: number; priority: number };

// Weighted so that sequences reach deep states: jobs must be published and claimed before
// anything else can happen to them.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      count: fc.integer({ min: 1, max: 4 }),
      delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })),
      priority: fc.integer({ min: 0, max: 4 }),
      attempts: fc.integer({ min: 1, max: 3 }),
      dedupe: fc.oneof(fc.constant(undefined), fc.constantFrom('d1', 'd2')),
      group: fc.oneof(fc.constant(undefined), fc.constantFrom('g1', 'g2')),
      dep: fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.nat()),
      ignore: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), count: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('complete' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('fail' as const), pick: fc.nat(), retry: fc.boolean() }) },
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('retry' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('progress' as const), pick: fc.nat() }),
  fc.constant({ op: 'timeout' as const }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('promote' as const), advanceMs: fc.integer({ min: 0, max: 6000 }) }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant('reprioritize' as const), pick: fc.nat(), priority: fc.integer({ min: 0, max: 4 }) }) },
);

let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await redis.quit();
});

/** Runs a script and swallows the refusals a random sequence is expected to meet. */
async function attempt(work: () => Promise<unknown>): Promise<unknown> {
  try {
    return await work();
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_ERR_STALE_ATTEMPT') || isSluiceError(error, 'SLUICE_ERR_INVALID_STATE') || isSluiceError(error, 'SLUICE_ERR_JOB_NOT_FOUND')) {
      return undefined;
    }
    throw error;
  }
}

describe('the projection is a fold of the log', () => {
  const totals = { completed: 0, failed: 0, 'timed-out': 0, cancelled: 0, 'dependency-resolved': 0, reprioritized: 0 };
  it('random publish / claim / complete / fail / retry / cancel / remove / timeout / promote / reprioritize sequences verify clean and rebuild exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }), async (ops) => {
        const name = testQueueName();
        const queue = toQueueName(name);
        let now = 1_800_000_000_000;
        const clock = { now: () => now };
        const q = new Queue(name, { connection: redis, clock });
        const jobs: string[] = [];
        let active: { id: string; token: string }[] = [];
        const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
        try {
          await ensureGroups(redis, queue);
          await q.setGroupLimits({ concurrency: 1 }, 'g1');
          for (const op of ops) {
            now += 1;
            switch (op.op) {
              case 'publish': {
                // A prerequisite from the jobs published so far (or a job never published).
                const prerequisite = op.dep === undefined ? undefined : (pick(jobs, op.dep) ?? 'never-published');
                const results = await q.publishMany(
                  Array.from({ length: op.count }, () => ({
                    name: 'p',
                    opts: {
                      priority: op.priority, attempts: op.attempts, backoff: { type: 'fixed' as const, delayMs: 100 },
                      ...(op.delayMs && !prerequisite ? { delayMs: op.delayMs } : {}),
                      ...(op.dedupe ? { dedupe: { key: op.dedupe, ttlMs: 50 } } : {}),
                      ...(op.group ? { group: op.group } : {}),
                      ...(prerequisite ? { dependsOn: [prerequisite], onDependencyFailure: op.ignore ? ('ignore' as const) : ('fail' as const) } : {}),
                    },
                  })),
                );
                jobs.push(...results.map((r) => r.id));
                break;
              }
              case 'claim': {
                const outcome = await claimAttempts(redis, queue, now, { id: 'w1', host: 'h', pid: 1 }, op.count);
                if (outcome.kind === 'jobs') for (const job of outcome.jobs) active.push({ id: job.id, token: job.token });
                break;
              }
              case 'complete': {
                const a = pick(active, op.pick);
                if (a) await completeAttempts(redis, queue, now, [{ jobId: a.id, token: a.token, result: undefined, durationMs: 5 }]);
                break;
              }
              case 'fail': {
                const a = pick(active, op.pick);
                if (a) await attempt(() => failAttempt(redis, queue, now, { jobId: a.id, token: a.token }, { name: 'Error', message: 'x' }, op.retry ? now + 100 : undefined));
                break;
              }
              case 'progress': {
                const a = pick(active, op.pick);
                if (a) await attempt(() => recordProgress(redis, queue, now, { jobId: a.id, token: a.token }, { pct: op.pick % 100, at: [1, 'two'] }));
                break;
              }
              case 'release': {
                const a = pick(active, op.pick);
                if (a) await releaseAttempts(redis, queue, now, 'w1', [[a.id, a.token]]);
                break;
              }
              case 'cancel': {
                const id = pick(jobs, op.pick);
                if (id) await attempt(() => q.cancel(id, 'because'));
                break;
              }
              case 'retry': {
                const id = pick(jobs, op.pick);
                if (id) await attempt(() => q.retry(id));
                break;
              }
              case 'remove': {
                const id = pick(jobs, op.pick);
                if (id) await attempt(() => q.remove(id));
                break;
              }
              case 'timeout':
                await reapLeases(redis, queue, now, { consumer: 'reaper', leaseMs: 0, count: 100 });
                break;
              case 'promote':
                now += op.advanceMs;
                await promoteDue(redis, queue, now, 1000);
                break;
              case 'reprioritize': {
                const id = pick(jobs, op.pick);
                if (id) await attempt(() => q.changePriority(id, op.priority));
                break;
              }
            }
            // Tokens that no longer own their job are dropped from the driver's list.
            const still: { id: string; token: string }[] = [];
            for (const a of active) {
              const job = await q.get(a.id);
              if (job?.state === 'active' && (await redis.hget(`sluice:{${name}}:job:${a.id}`, 'token')) === a.token) still.push(a);
            }
            active = still;
          }
          const { events } = await q.stats();
          totals.completed += events.completed ?? 0;
          totals.failed += events.failed ?? 0;
          totals['timed-out'] += events['timed-out'] ?? 0;
          totals.cancelled += events.cancelled ?? 0;
          totals['dependency-resolved'] += events['dependency-resolved'] ?? 0;
          totals.reprioritized += events.reprioritized ?? 0;
          const report = await verify(redis, name);
          expect(report.differences).toEqual([]);
          const before = await readModelSnapshot(redis, name);
          await deleteReadModel(redis, name);
          await rebuild(redis, name);
          expect(await readModelSnapshot(redis, name)).toEqual(before);
        } finally {
          await q.close();
          await dropQueue(redis, name);
        }
      }),
      { numRuns: 100 },
    );
    // The generator must reach deep states, or a passing run proves little.
    for (const [type, count] of Object.entries(totals)) expect(count, type).toBeGreaterThan(5);
  });
});
