import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { claimAttempts, promoteDue, reapLeases, releaseAttempts } from '../../src/events/commands/index.js';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import { allEvents, waitFor } from '../helpers/dispatch.js';
import { claim, claimReply, complete, fail } from '../helpers/scripted.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture();

function setup(): { name: string; queue: Queue; clock: { t: number; now(): number } } {
  const clock = { t: 1_800_000_000_000, now() { return this.t; } };
  return { ...t.setup({ clock }), clock };
}

async function publishGrouped(queue: Queue, group: string | undefined, count: number): Promise<string[]> {
  const results = await queue.publishMany(
    Array.from({ length: count }, () => ({ name: 'job', opts: group === undefined ? {} : { group } })),
  );
  return results.map((r) => r.id);
}

/** Most claims (by recorded `claimed` time) inside any window [t, t + windowMs). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) < (sorted[i] as number) - windowMs + 1) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('claims that drain the lanes', () => {
  it('carry the cursor an empty claim would give, so the worker blocks without claiming again', async () => {
    const { name, queue, clock } = setup();
    const ids = await publishGrouped(queue, undefined, 3);
    const q = queue.name;
    // Two of three asked for two: a plain `jobs` reply, the lanes still hold work.
    const two = await claimAttempts(t.redis, q, ++clock.t, { id: 'w1', host: 'test', pid: 1 }, 2);
    expect(two).toMatchObject({ kind: 'jobs' });
    expect(two.kind === 'jobs' && two.drained).toBeUndefined();
    // One left, five asked for: the jobs and the cursor.
    const last = await claimAttempts(t.redis, q, ++clock.t, { id: 'w1', host: 'test', pid: 1 }, 5);
    if (last.kind !== 'jobs') throw new Error(`expected jobs, got ${last.kind}`);
    expect(last.jobs.map((j) => j.id)).toEqual([ids[2]]);
    const empty = await claimAttempts(t.redis, q, ++clock.t, { id: 'w1', host: 'test', pid: 1 }, 5);
    if (empty.kind !== 'empty') throw new Error(`expected empty, got ${empty.kind}`);
    expect(last.drained).toEqual({ cursor: empty.cursor, retryAfterMs: -1 });
    // The cursor names the newest entry of the job's lane: blocking from it misses nothing newer.
    expect(empty.cursor.filter((id) => id !== '0-0')).toHaveLength(1);
    expect((await claimReply(t.redis, name, ++clock.t, 5))[0]).toBe('empty');
  });
});

describe('queue rate limit', () => {
  it('allows max claims per sliding window and tells the caller how long to wait (injected clock)', async () => {
    const { name, queue, clock } = setup();
    await queue.setRateLimit({ max: 5, durationMs: 1000 });
    expect(await queue.getRateLimit()).toEqual({ max: 5, durationMs: 1000 });
    await publishGrouped(queue, undefined, 20);
    const start = clock.t;
    expect(await claim(t.redis, name, start, 3)).toHaveLength(3);
    expect(await claim(t.redis, name, start + 400, 10)).toHaveLength(2);
    expect(await claimReply(t.redis, name, start + 500, 10)).toEqual(['limited', 500]);
    // The first three claims leave the window at start + 1000, the other two at start + 1400.
    expect(await claim(t.redis, name, start + 1000, 10)).toHaveLength(3);
    expect(await claimReply(t.redis, name, start + 1001, 10)).toEqual(['limited', 399]);
    expect(await claim(t.redis, name, start + 1400, 10)).toHaveLength(2);
    await queue.setRateLimit(null);
    expect(await claim(t.redis, name, start + 1401, 100)).toHaveLength(10);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it.each([
    { max: 20, durationMs: 1000, jobs: 80 },
    { max: 10, durationMs: 250, jobs: 100 },
  ])('holds across 4 workers: no window of $durationMs ms holds more than $max recorded claim times', async ({ max, durationMs, jobs }) => {
    const { name, queue } = setup();
    await queue.setRateLimit({ max, durationMs });
    await publishGrouped(queue, undefined, jobs);
    for (let i = 0; i < 4; i++) {
      const w = new Worker(name, () => undefined, { connection: t.redis, concurrency: 8, blockMs: 100, metrics: false, id: `rate-${i}` });
      t.defer(() => w.close(500));
    }
    await waitFor(async () => (await queue.stats()).counts.completed === jobs, 30_000, 'every completion');
    const claims = (await allEvents(t.redis, name)).filter((e) => e.type === 'claimed');
    expect(claims).toHaveLength(jobs);
    const times = claims.map((e) => e.metadata.time);
    expect(busiestWindow(times, durationMs)).toBeLessThanOrEqual(max);
    // Every worker took part, so the limit was shared rather than held by one process.
    const byWorker = new Set(claims.map((e) => (e.type === 'claimed' ? e.data.worker.id : '')));
    expect(byWorker.size).toBeGreaterThan(1);
    // Informational: the limit was also used, not only respected (the least possible span is
    // (jobs / max - 1) × durationMs).
    const span = Math.max(...times) - Math.min(...times);
    console.info(`rate limit ${max}/${durationMs} ms over 4 workers (${byWorker.size} claimed): ${jobs} claims in ${span} ms (least possible ${(jobs / max - 1) * durationMs}), busiest window ${busiestWindow(times, durationMs)}`);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });
});

describe('group limits', () => {
  it('caps the active jobs of a group; a finished job frees its slot (injected clock)', async () => {
    const { name, queue, clock } = setup();
    await queue.setGroupLimits({ concurrency: 2 }, 'a');
    const a = await publishGrouped(queue, 'a', 6);
    const b = await publishGrouped(queue, 'b', 6);
    const first = await claim(t.redis, name, ++clock.t, 8);
    const inA = (ids: { id: string }[]): number => ids.filter((x) => a.includes(x.id)).length;
    expect(inA(first)).toBe(2);
    expect(first.filter((x) => b.includes(x.id))).toHaveLength(6);
    expect(await claim(t.redis, name, ++clock.t, 8)).toEqual([]);
    const doneA = first.filter((x) => a.includes(x.id));
    await complete(t.redis, name, ++clock.t, [doneA[0]!]);
    const next = await claim(t.redis, name, ++clock.t, 8);
    expect(next.map((x) => x.id)).toEqual([a[2]]);
    // A failed attempt frees its slot too; the retry comes back through the group.
    expect(await fail(t.redis, name, ++clock.t, doneA[1]!, clock.t + 10)).toBe('retry');
    clock.t += 20;
    await promoteDue(t.redis, queue.name, clock.t, 100);
    const again = await claim(t.redis, name, ++clock.t, 8);
    expect(again).toHaveLength(1);
    expect(await queue.getGroupLimits('a')).toMatchObject({ concurrency: 2, weight: 1 });
    expect((await queue.get(a[0]!))?.group).toBe('a');
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('rate-limits a group on its own and reports when it may run again (injected clock)', async () => {
    const { name, queue, clock } = setup();
    await queue.setGroupLimits({ rate: { max: 3, durationMs: 1000 } }, 'slow');
    const slow = await publishGrouped(queue, 'slow', 10);
    const fast = await publishGrouped(queue, 'fast', 4);
    const start = clock.t;
    const first = await claim(t.redis, name, start, 20);
    expect(first.filter((x) => slow.includes(x.id))).toHaveLength(3);
    expect(first.filter((x) => fast.includes(x.id))).toHaveLength(4);
    const reply = await claimReply(t.redis, name, start + 10, 20);
    expect(reply[0]).toBe('empty');
    expect(reply[7]).toBe(990);
    expect(await claim(t.redis, name, start + 1000, 20)).toHaveLength(3);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('timed-out, released and cancelled grouped attempts free their slot and requeue through the group', async () => {
    const { name, queue, clock } = setup();
    await queue.setGroupLimits({ concurrency: 1 });
    const ids = await publishGrouped(queue, 'g', 3);
    const [first] = await claim(t.redis, name, ++clock.t, 5);
    expect(first?.token.startsWith('g')).toBe(true);
    await reapLeases(t.redis, queue.name, ++clock.t, { consumer: 'reaper', leaseMs: 0, count: 100 });
    expect((await queue.get(first!.id))?.state).toBe('waiting');
    const [second] = await claim(t.redis, name, ++clock.t, 5);
    expect(second?.id).toBe(ids[1]);
    await releaseAttempts(t.redis, queue.name, ++clock.t, 'w1', [[second!.id, second!.token]]);
    const [third] = await claim(t.redis, name, ++clock.t, 5);
    expect(third?.id).toBe(ids[2]);
    await queue.cancel(third!.id);
    const rest = await claim(t.redis, name, ++clock.t, 5);
    expect(rest.map((x) => x.id)).toEqual([ids[0]]);
    await complete(t.redis, name, ++clock.t, rest);
    const last = await claim(t.redis, name, ++clock.t, 5);
    expect(last.map((x) => x.id)).toEqual([ids[1]]);
    await complete(t.redis, name, ++clock.t, last);
    expect(await claim(t.redis, name, ++clock.t, 5)).toEqual([]);
    // Idle groups are forgotten: only the virtual time is left.
    expect(Object.keys(await t.redis.hgetall(`sluice:{${name}}:groups:state`))).toEqual(['vt']);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });

  it('real workers never run more than the group concurrency at once', async () => {
    const { name, queue } = setup();
    await queue.setGroupLimits({ concurrency: 3 });
    await publishGrouped(queue, 'a', 30);
    await publishGrouped(queue, 'b', 30);
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const handler = async (job: { id: string }): Promise<void> => {
      const group = (await queue.get(job.id))?.group ?? '?';
      running.set(group, (running.get(group) ?? 0) + 1);
      most.set(group, Math.max(most.get(group) ?? 0, running.get(group) ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 5));
      running.set(group, (running.get(group) ?? 0) - 1);
    };
    for (let i = 0; i < 4; i++) {
      const w = new Worker(name, handler, { connection: t.redis, concurrency: 10, blockMs: 100, metrics: false });
      t.defer(() => w.close(500));
    }
    await waitFor(async () => (await queue.stats()).counts.completed === 60, 30_000, '60 completions');
    expect(most.get('a')).toBeLessThanOrEqual(3);
    expect(most.get('b')).toBeLessThanOrEqual(3);
    expect((await verify(t.redis, name)).differences).toEqual([]);
  });
});
