/**
 * The payload sweep (src/payloads/sweep.ts) against the run's Redis and MongoDB wire-protocol
 * server: payloads and results of jobs that left the read model, and payloads a publish never
 * used, are deleted; everything a job still references stays readable, including a payload two
 * jobs share; workers run it on their own, one of them per interval.
 */
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { PayloadNotFoundError } from '../../src/core/errors.js';
import { payloadSweepKey, toQueueName } from '../../src/core/keys.js';
import { referencedPayloadIds, sweepPayloads } from '../../src/payloads/sweep.js';
import { waitFor } from '../helpers/dispatch.js';
import { useQueueFixture } from '../helpers/fixture.js';

const t = useQueueFixture({ payloads: true });

describe('payload sweep', () => {
  it('deletes what no job references and keeps every payload and result a job still holds', async () => {
    const { name, queue } = t.setup();
    await queue.publishMany(Array.from({ length: 6 }, (_, i) => ({ name: 'p', payload: { i }, opts: { jobId: `j${i}` } })));
    // A payload shared by two jobs (the same id, put once) and one no job ever referenced.
    const [shared] = await t.payloads.put(name, [{ id: 'shared-1', value: { shared: true } }]);
    const [orphan] = await t.payloads.put(name, [{ value: { orphan: true } }]);
    const worker = new Worker<{ i: number }>(name, (job) => ({ doubled: job.payload.i * 2 }), {
      connection: t.redis,
      payloads: t.payloads,
      payloadSweepIntervalMs: 0,
      metrics: false,
    });
    t.defer(() => worker.close());
    await waitFor(async () => (await queue.stats()).counts.completed === 6);
    const done = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => (await queue.get(`j${i}`))!));
    for (const i of [0, 1, 2]) await queue.remove(`j${i}`);
    // Jobs referencing the shared payload: a live one and a removed one, through the hash fields.
    const sharedKeyOf = (jobId: string): string => `sluice:{${name}}:job:${jobId}`;
    await t.redis.hset(sharedKeyOf('j3'), 'payloadId', shared!.id);

    const referenced = await referencedPayloadIds(t.redis, name);
    expect([...referenced].sort()).toEqual([shared!.id, done[3]!.result!.id, ...[4, 5].flatMap((i) => [done[i]!.payload!.id, done[i]!.result!.id])].sort());

    await new Promise((resolve) => setTimeout(resolve, 20));
    const result = await sweepPayloads(t.redis, name, t.payloads, { olderThanMs: 0 });
    // The removed jobs' payloads and results, the orphan, and j3's own payload (its hash now
    // names the shared one instead).
    expect(result.deleted).toBe(3 * 2 + 1 + 1);
    for (const i of [0, 1, 2]) {
      await expect(t.payloads.get(name, done[i]!.payload!)).rejects.toBeInstanceOf(PayloadNotFoundError);
      await expect(t.payloads.get(name, done[i]!.result!)).rejects.toBeInstanceOf(PayloadNotFoundError);
    }
    await expect(t.payloads.get(name, orphan!)).rejects.toBeInstanceOf(PayloadNotFoundError);
    expect(await t.payloads.get(name, shared!)).toEqual({ shared: true });
    for (const i of [4, 5]) {
      expect(await queue.getPayload(done[i]!)).toEqual({ i });
      expect(await queue.getResult(done[i]!)).toEqual({ doubled: i * 2 });
    }
    expect(await queue.getResult(done[3]!)).toEqual({ doubled: 6 });
  });

  it('keeps payloads younger than the grace period, and workers sweep by themselves, one per interval', async () => {
    const { name, queue } = t.setup();
    await queue.publish('p', { keep: true }, { jobId: 'live' });
    const [young] = await t.payloads.put(name, [{ value: { young: true } }]);
    expect(await sweepPayloads(t.redis, name, t.payloads, { olderThanMs: 3_600_000 })).toEqual({ examined: 0, deleted: 0 });
    expect(await t.payloads.get(name, young!)).toEqual({ young: true });

    const options = { connection: t.redis, payloads: t.payloads, payloadSweepIntervalMs: 400, payloadSweepGraceMs: 0, metrics: false } as const;
    const a = new Worker(name, () => undefined, { ...options, concurrency: 1 });
    const b = new Worker(name, () => undefined, { ...options, concurrency: 1 });
    t.defer(() => a.close());
    t.defer(() => b.close());
    // The workers try every 300–500 ms (the interval is under a minute); the lease lets one sweep.
    await waitFor(async () => (await t.payloads.get(name, young!).then(() => false, (error: unknown) => error instanceof PayloadNotFoundError)) || undefined, 10_000, 'the orphan to be swept');
    const holder = await t.redis.get(payloadSweepKey(toQueueName(name)));
    expect([a.id, b.id]).toContain(holder);
    expect(await t.redis.pttl(payloadSweepKey(toQueueName(name)))).toBeLessThanOrEqual(400);
    const live = await queue.get('live');
    await waitFor(async () => (await queue.get('live'))?.state === 'completed');
    expect(await queue.getPayload(live!)).toEqual({ keep: true });
  });
});
