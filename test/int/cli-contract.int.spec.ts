/**
 * The CLI contract of docs/CLI.md for issue #14, part 2, on the built CLI (`npm run build`):
 * an unknown queue fails every read and repair command with exit 1 and
 * `SLUICE_ERR_QUEUE_NOT_FOUND`, creating nothing; `cleanup --json` counts cancelled jobs; and the
 * worker's retention options cover cancelled jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, retentionFromConfig } from '../../src/app/config.js';
import { eventsKey, QUEUES_KEY, toQueueName } from '../../src/core/keys.js';
import { SluiceContext } from '../../src/app/context.js';
import { dropQueue, testQueueName } from '../helpers/dispatch.js';
import { dropDatabase, runCli, testConfig, testDatabase, testEnv } from '../helpers/service.js';

const database = testDatabase();
const env = testEnv(database);
let context: SluiceContext;
const queues: string[] = [];

beforeAll(() => {
  context = new SluiceContext(testConfig(database));
});

afterAll(async () => {
  for (const q of queues) await dropQueue(context.redis, q);
  await context.close();
  await dropDatabase(database);
});

function freshQueue(): string {
  const name = testQueueName();
  queues.push(name);
  return name;
}

describe('sluice CLI contract (built)', () => {
  it('fails every read and repair command on an unknown queue with exit 1, creating nothing', { timeout: 300_000 }, async () => {
    const queue = freshQueue();
    const commands = [
      ['stats', queue],
      ['jobs', queue],
      ['show', queue, 'j1'],
      ['flow', queue, 'j1'],
      ['history', queue, 'j1'],
      ['replay', queue],
      ['export', queue],
      ['rebuild', queue],
      ['verify', queue],
      ['retry', queue, 'j1'],
      ['priority', queue, 'j1', '1'],
      ['dlq', 'list', queue],
      ['dlq', 'requeue', queue, '--all'],
      ['cleanup', queue],
      ['repeat', 'list', queue],
      ['repeat', 'remove', queue, 'r1'],
      ['limits', 'show', queue],
    ];
    // A few at a time: each is a Node process on a shared, loaded machine.
    const results = [];
    for (let i = 0; i < commands.length; i += 4) {
      results.push(...(await Promise.all(commands.slice(i, i + 4).map((args) => runCli([...args, '--json'], env, 90_000)))));
    }
    for (const [i, result] of results.entries()) {
      const args = (commands[i] as string[]).join(' ');
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect({ args, error: (JSON.parse(result.stderr) as { error: { code: string } }).error.code }).toEqual({ args, error: 'SLUICE_ERR_QUEUE_NOT_FOUND' });
    }
    const text = await runCli(['stats', queue], env);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`queue ${queue} not found`);
    expect(await context.redis.sismember(QUEUES_KEY, queue)).toBe(0);
    expect(await context.redis.exists(eventsKey(toQueueName(queue)))).toBe(0);
    // Configuring creates the queue: then it reads as empty.
    expect((await runCli(['pause', queue], env)).code).toBe(0);
    const stats = await runCli(['stats', queue, '--json'], env);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ queue, paused: true });
  });

  it('cleanup applies the cancelled retention limits and counts them in --json', async () => {
    const queue = freshQueue();
    const q = context.queue(queue);
    for (const id of ['c1', 'c2', 'c3']) {
      await q.publish('x', undefined, { jobId: id });
      await q.cancel(id);
    }
    await q.setRetention({ cancelled: { maxCount: 1 } });
    const cleaned = await runCli(['cleanup', queue, '--json'], env);
    expect(cleaned.code).toBe(0);
    expect(JSON.parse(cleaned.stdout)).toEqual({ queue, state: 'policy', removed: 2, dryRun: false, byState: { completed: 0, dead: 0, cancelled: 2 } });
    expect((await q.stats()).counts.cancelled).toBe(1);
    expect((await q.get('c3'))?.state).toBe('cancelled');
  });
});

describe('worker retention options', () => {
  it('cover cancelled jobs like completed and dead ones (variables and flags)', () => {
    expect(retentionFromConfig(loadConfig({ env: { SLUICE_RETAIN_CANCELLED_AGE: '2d', SLUICE_RETAIN_CANCELLED_COUNT: 'none' } }))).toEqual({
      cancelled: { maxAgeMs: 2 * 86_400_000, maxCount: null },
    });
    expect(retentionFromConfig(loadConfig({ env: {}, flags: { retainCancelledCount: '5', retainDeadAge: '1h' } }))).toEqual({
      dead: { maxAgeMs: 3_600_000 },
      cancelled: { maxCount: 5 },
    });
  });

  it('are flags of `sluice worker`', async () => {
    const help = await runCli(['worker', '--help'], {});
    expect(help.stdout).toContain('--retain-cancelled-age');
    expect(help.stdout).toContain('--retain-cancelled-count');
  });
});
