/**
 * Flows: jobs that wait for other jobs (`dependsOn`), within a queue or across queues.
 *
 * Within a queue everything happens in the finishing script (src/events/lua/includes/flows.lua).
 * A script touches one queue's slot only, so outcomes owed to dependants in other queues go to
 * the prerequisite queue's outbox stream (`sluice:{q}:flow:outbox`); {@link relayFlowOutbox}
 * (run by every worker of that queue) delivers each entry with the idempotent
 * resolveDependency script of the dependant's queue and deletes it afterwards — at least once,
 * applied exactly once.
 *
 * @packageDocumentation
 */
import type { RedisClient } from '../redis/connection.js';
import { registerDependant as registerDependantScript, resolveDependency } from '../events/commands/index.js';
import type { JobRef, PayloadRef } from '../events/types.js';
import { flowOutboxKey, jobKey, toJobId, toQueueName, type JobId, type JobState, type QueueName } from '../core/keys.js';
import { parseJobHash, type Job } from '../projections/job.js';
import type { PayloadStore } from '../payloads/store.js';
import type { ScriptTime } from '../core/clock.js';

/** A prerequisite of a job, as {@link readDependencies} reports it. */
export interface DependencyInfo extends JobRef {
  /** Its state, or undefined when it does not exist (not published yet, or removed). */
  state: JobState | undefined;
  /** Its result, read from the payload store once it completed (undefined without a store). */
  result?: unknown;
}

/** The state of a flow: a job and all its prerequisites, transitively. */
export interface FlowState {
  /**
   * The root's outcome: completed (so every prerequisite was resolved), failed (the root is dead
   * or cancelled — a failed prerequisite under policy `fail` dead-letters it), running otherwise.
   */
  state: 'completed' | 'failed' | 'running';
  /** Jobs in the flow (including the root). */
  total: number;
  /** Jobs per state (`missing` for prerequisites not found). */
  counts: Partial<Record<JobState | 'missing', number>>;
  /** Every job of the flow with its state and unresolved-dependency count. */
  jobs: { queue: string; jobId: string; state: JobState | 'missing'; pendingDependencies?: number }[];
}

/** Registers dependant `dependantRef` (`<queue>|<jobId>`) on job `jobId` of `queue`. */
export async function registerDependant(redis: RedisClient, queue: QueueName, jobId: string, dependantRef: string, now: ScriptTime): Promise<string> {
  return registerDependantScript(redis, queue, now, jobId, dependantRef);
}

/**
 * Delivers the entries of `queue`'s flow outbox to the dependants' queues.
 * @returns how many entries were delivered.
 */
export async function relayFlowOutbox(redis: RedisClient, queue: QueueName, now: ScriptTime, count = 100): Promise<number> {
  const entries = await redis.xrange(flowOutboxKey(queue), '-', '+', 'COUNT', count);
  for (const [id, fields] of entries) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
    if (f.queue && f.job && f.from && f.outcome) {
      await resolveDependency(redis, toQueueName(f.queue), now, f.job, f.from, f.outcome);
    }
    await redis.xdel(flowOutboxKey(queue), id);
  }
  return entries.length;
}

async function readJob(redis: RedisClient, queue: QueueName, jobId: JobId): Promise<Job | undefined> {
  return parseJobHash(queue, await redis.hgetall(jobKey(queue, jobId)));
}

/**
 * The job hashes of `refs`, in order. One pipeline per queue: a pipeline must stay in one slot
 * on a Redis Cluster, and the jobs of a flow may sit in queues on different masters.
 */
async function readJobHashes(redis: RedisClient, refs: readonly JobRef[]): Promise<Record<string, string>[]> {
  const byQueue = new Map<string, number[]>();
  refs.forEach((ref, i) => {
    const positions = byQueue.get(ref.queue);
    if (positions) positions.push(i);
    else byQueue.set(ref.queue, [i]);
  });
  const out: Record<string, string>[] = refs.map(() => ({}));
  await Promise.all(
    [...byQueue].map(async ([queue, positions]) => {
      const pipeline = redis.pipeline();
      for (const i of positions) pipeline.hgetall(jobKey(toQueueName(queue), toJobId((refs[i] as JobRef).jobId)));
      const replies = (await pipeline.exec()) ?? [];
      positions.forEach((position, k) => {
        const [error, hash] = replies[k] ?? [null, {}];
        if (error) throw error;
        out[position] = hash as Record<string, string>;
      });
    }),
  );
  return out;
}

/** The prerequisites of job `jobId` with their state and (when completed) result. */
export async function readDependencies(redis: RedisClient, queue: QueueName, jobId: JobId, payloads?: PayloadStore): Promise<DependencyInfo[]> {
  const job = await readJob(redis, queue, jobId);
  const refs = job?.dependsOn ?? [];
  const hashes = await readJobHashes(redis, refs);
  const out: DependencyInfo[] = [];
  // Results are fetched with one query per queue.
  const wanted = new Map<string, { info: DependencyInfo; ref: PayloadRef }[]>();
  refs.forEach((ref, i) => {
    const dep = parseJobHash(ref.queue, hashes[i] ?? {});
    const info: DependencyInfo = { queue: ref.queue, jobId: ref.jobId, state: dep?.state };
    out.push(info);
    if (dep?.state === 'completed' && dep.result && payloads) {
      const list = wanted.get(ref.queue) ?? [];
      list.push({ info, ref: dep.result });
      wanted.set(ref.queue, list);
    }
  });
  for (const [q, list] of wanted) {
    const values = await (payloads as PayloadStore).getMany(q, list.map((w) => w.ref));
    for (const w of list) w.info.result = values.get(w.ref.id);
  }
  return out;
}

/** Walks the prerequisites of `jobId` transitively (across queues) and summarises the flow. */
export async function flowState(redis: RedisClient, queue: QueueName, jobId: JobId): Promise<FlowState> {
  const seen = new Set<string>();
  const jobs: FlowState['jobs'] = [];
  const counts: FlowState['counts'] = {};
  let frontier: JobRef[] = [{ queue, jobId }];
  while (frontier.length > 0) {
    const next: JobRef[] = [];
    const batch = frontier.filter((ref) => {
      const key = `${ref.queue}|${ref.jobId}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const hashes = await readJobHashes(redis, batch);
    batch.forEach((ref, i) => {
      const job = parseJobHash(ref.queue, hashes[i] ?? {});
      const state = job?.state ?? 'missing';
      counts[state] = (counts[state] ?? 0) + 1;
      jobs.push({ queue: ref.queue, jobId: ref.jobId, state, ...(job?.pendingDependencies === undefined ? {} : { pendingDependencies: job.pendingDependencies }) });
      next.push(...(job?.dependsOn ?? []));
    });
    frontier = next;
  }
  const root = jobs[0]?.state;
  const state = root === 'completed' ? 'completed' : root === 'dead' || root === 'cancelled' ? 'failed' : 'running';
  return { state, total: jobs.length, counts, jobs };
}
