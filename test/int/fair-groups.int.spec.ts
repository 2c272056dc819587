import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { allEvents, waitFor } from '../helpers/dispatch.js';
import { claim, complete } from '../helpers/scripted.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture();

function setup(): { name: string; queue: Queue; clock: { t: number; now(): number } } {
  const clock = { t: 1_800_000_000_000, now() { return this.t; } };
  return { ...t.setup({ clock }), clock };
}

async function publish(queue: Queue, group: string | undefined, count: number, prefix: string): Promise<void> {
  for (let start = 0; start < count; start += 5000) {
    const n = Math.min(5000, count - start);
    await queue.publishMany(Array.from({ length: n }, (_, i) => ({
      name: 'work',
      opts: { jobId: `${prefix}-${start + i}`, ...(group === undefined ? {} : { group }) },
    })));
  }
}

describe('fair groups', () => {
  it('one group with 10,000 waiting jobs cannot starve nine groups of 10: theirs all start before its 100th (4 workers)', async () => {
    const { name, queue } = setup();
    await publish(queue, 'big', 10_000, 'big');
    for (let g = 1; g <= 9; g++) await publish(queue, `small-${g}`, 10, `small-${g}`);
    let bigStarted = 0;
    const workers = Array.from({ length: 4 }, () => {
      const w = new Worker(name, (job) => {
        if (job.id.startsWith('big-')) bigStarted++;
      }, { connection: t.redis, concurrency: 10, blockMs: 100, metrics: false, repeatIntervalMs: 0, retentionIntervalMs: 0 });
      t.defer(() => w.close(1000));
      return w;
    });
    await waitFor(() => bigStarted >= 150, 30_000, '150 jobs of the big group');
    await Promise.all(workers.map((w) => w.close(1000))); // stop the workers; keep the queue for the checks
    const claims = (await allEvents(t.redis, name)).filter((e) => e.type === 'claimed').map((e) => e.metadata.jobId);
    const hundredthBig = claims.filter((id) => id.startsWith('big-'))[99] as string;
    const before = claims.slice(0, claims.indexOf(hundredthBig));
    const small = claims.filter((id) => id.startsWith('small-'));
    expect(small).toHaveLength(90);
    expect(before.filter((id) => id.startsWith('small-'))).toHaveLength(90);
    const bigBeforeLastSmall = claims.slice(0, claims.indexOf(small[89] as string)).filter((id) => id.startsWith('big-')).length;
    console.info(`fair groups: the last of the 90 small-group jobs started after ${bigBeforeLastSmall} big-group jobs`);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('weights share the starts in proportion while both groups are backlogged; FIFO within a group', async () => {
    const { name, queue, clock } = setup();
    await queue.setGroupLimits({ weight: 3 }, 'gold');
    await publish(queue, 'gold', 300, 'gold');
    await publish(queue, 'iron', 300, 'iron');
    const order: string[] = [];
    for (let i = 0; i < 200; i++) {
      const claimed = await claim(t.redis, name, ++clock.t, 1);
      order.push(...claimed.map((c) => c.id));
      await complete(t.redis, name, ++clock.t, claimed);
    }
    const gold = order.filter((id) => id.startsWith('gold-'));
    expect(gold.length).toBeGreaterThanOrEqual(149);
    expect(gold.length).toBeLessThanOrEqual(151);
    // Within any 4 consecutive starts: 3 gold, 1 iron (give or take the phase).
    for (let i = 0; i + 8 <= order.length; i += 8) {
      expect(order.slice(i, i + 8).filter((id) => id.startsWith('gold-')).length).toBeGreaterThanOrEqual(5);
    }
    expect(gold).toEqual(gold.map((_, i) => `gold-${i}`));
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('a group that joins late starts at the current virtual time: no banked credit, no waiting behind the backlog', async () => {
    const { name, queue, clock } = setup();
    await publish(queue, 'early', 100, 'early');
    for (let i = 0; i < 50; i++) await complete(t.redis, name, ++clock.t, await claim(t.redis, name, ++clock.t, 1));
    await publish(queue, 'late', 10, 'late');
    const next: string[] = [];
    for (let i = 0; i < 20; i++) {
      const claimed = await claim(t.redis, name, ++clock.t, 1);
      next.push(...claimed.map((c) => c.id));
      await complete(t.redis, name, ++clock.t, claimed);
    }
    // Alternating from the moment it joins: exactly 10 of each in the next 20 starts.
    expect(next.filter((id) => id.startsWith('late-'))).toHaveLength(10);
    expect(next.slice(0, 2).some((id) => id.startsWith('late-'))).toBe(true);
  });

  it('grouped and ungrouped jobs share each claim half and half, so neither starves the other', async () => {
    const { name, queue, clock } = setup();
    await publish(queue, undefined, 100, 'plain');
    await publish(queue, 'tenant', 100, 'grouped');
    const first = await claim(t.redis, name, ++clock.t, 10);
    expect(first.filter((c) => c.id.startsWith('plain-'))).toHaveLength(5);
    expect(first.filter((c) => c.id.startsWith('grouped-'))).toHaveLength(5);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });
});
