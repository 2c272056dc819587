/**
 * The reaper's housekeeping: consumers that workers left behind in the lanes' consumer group
 * (dead or departed workers) and stale worker-list entries are removed — but never a consumer
 * that still holds a pending entry, since deleting it would drop the entry from the group's
 * pending list and with it the lease the reaper needs to requeue the job.
 */
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { laneKey, toQueueName, workersKey } from '../../src/core/keys.js';
import { waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture();

async function consumers(lane: string): Promise<Map<string, number>> {
  const reply = (await t.redis.xinfo('CONSUMERS', lane, 'workers')) as (string | number)[][];
  const out = new Map<string, number>();
  for (const c of reply) {
    const info: Record<string, string | number> = {};
    for (let i = 0; i + 1 < c.length; i += 2) info[String(c[i])] = c[i + 1] as string | number;
    out.set(String(info.name), Number(info.pending));
  }
  return out;
}

describe('reaper housekeeping', () => {
  it('deletes idle consumers with nothing pending and old worker-list entries, and keeps a consumer holding a pending entry', async () => {
    const { name, queue } = t.setup();
    const lane = laneKey(toQueueName(name), 2);
    await queue.publishMany([{ name: 'a', opts: { jobId: 'a' } }, { name: 'b', opts: { jobId: 'b' } }]);
    // Two departed workers read one entry each; the first acknowledged its entry, the second
    // died holding it (its lease is far from over, so the reaper leaves the entry alone).
    const read = (await t.redis.xreadgroup('GROUP', 'workers', 'gone-idle', 'COUNT', 1, 'STREAMS', lane, '>')) as [string, [string, string[]][]][];
    await t.redis.xack(lane, 'workers', read[0]![1][0]![0]);
    await t.redis.xreadgroup('GROUP', 'workers', 'gone-holding', 'COUNT', 1, 'STREAMS', lane, '>');
    await t.redis.zadd(workersKey(toQueueName(name)), Date.now() - 3_600_000, 'gone-idle');
    expect(await consumers(lane)).toEqual(new Map([['gone-idle', 0], ['gone-holding', 1]]));

    await new Promise((resolve) => setTimeout(resolve, 300));
    const worker = new Worker(name, () => undefined, { connection: t.redis, leaseMs: 60_000, reapIntervalMs: 50, pruneConsumersAfterMs: 250 });
    t.defer(() => worker.close());
    await waitFor(async () => !(await consumers(lane)).has('gone-idle'), 10_000, 'the idle consumer to be deleted');
    const left = await consumers(lane);
    expect(left.get('gone-holding')).toBe(1);
    expect((await queue.workers(24 * 3_600_000)).map((w) => w.id)).not.toContain('gone-idle');
  });
});
