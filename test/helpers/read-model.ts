/** Reads and deletes a queue's whole read model (job hashes, state indexes, priority, counts). */
import type { Redis } from 'ioredis';
import { countsKey, INDEXED_STATES, jobKey, jobKeyPrefix, priorityKey, stateKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { activeJobs } from '../../src/queue/active.js';

/**
 * Everything the projection fold maintains, as plain data for deep equality: the counts, the
 * priority set (the index of the waiting jobs), the state indexes (no `waiting` and no `active`:
 * the fold keeps no index of them), the active jobs (the lanes' pending entries,
 * src/queue/active.ts) and the hashes of all those jobs.
 */
export async function readModelSnapshot(redis: Redis, queueName: string): Promise<Record<string, unknown>> {
  const queue = toQueueName(queueName);
  const priority = await redis.zrange(priorityKey(queue), '0', '-1', 'WITHSCORES');
  const snapshot: Record<string, unknown> = {
    counts: await redis.hgetall(countsKey(queue)),
    priority,
  };
  const jobs: Record<string, Record<string, string>> = {};
  const readJobs = async (members: string[]): Promise<void> => {
    for (let i = 0; i < members.length; i += 2) {
      const id = members[i] as string;
      jobs[id] = await redis.hgetall(jobKey(queue, toJobId(id)));
    }
  };
  // The priority set is the index of the waiting jobs.
  await readJobs(priority);
  for (const state of INDEXED_STATES) {
    const members = await redis.zrange(stateKey(queue, state), '0', '-1', 'WITHSCORES');
    snapshot[`state:${state}`] = members;
    await readJobs(members);
  }
  const active = await activeJobs(redis, queue);
  snapshot.active = active.map((a) => [a.job.id, a.claimedAt]);
  for (const { job } of active) jobs[job.id] = await redis.hgetall(jobKey(queue, toJobId(job.id)));
  snapshot.jobs = jobs;
  return snapshot;
}

/** Deletes every read-model key of the queue (every job hash, found by SCAN). */
export async function deleteReadModel(redis: Redis, queueName: string): Promise<void> {
  const queue = toQueueName(queueName);
  const keys = [countsKey(queue), priorityKey(queue), ...INDEXED_STATES.map((state) => stateKey(queue, state))];
  const pattern = `${jobKeyPrefix(queue).replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  await redis.del(...keys);
}
