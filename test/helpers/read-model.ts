/** Reads and deletes a queue's whole read model (job hashes, state indexes, priority, counts). */
import type { Redis } from 'ioredis';
import { countsKey, INDEXED_STATES, jobKey, priorityKey, stateKey, toJobId, toQueueName } from '../../src/core/keys.js';

/** Everything the projection fold maintains, as plain data for deep equality. */
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
  snapshot.jobs = jobs;
  return snapshot;
}

/** Deletes every read-model key of the queue. */
export async function deleteReadModel(redis: Redis, queueName: string): Promise<void> {
  const queue = toQueueName(queueName);
  const keys = [countsKey(queue), priorityKey(queue)];
  keys.push(...(await redis.zrange(priorityKey(queue), '0', '-1')).map((id) => jobKey(queue, toJobId(id))));
  for (const state of INDEXED_STATES) {
    const ids = await redis.zrange(stateKey(queue, state), '0', '-1');
    keys.push(stateKey(queue, state), ...ids.map((id) => jobKey(queue, toJobId(id))));
  }
  await redis.del(...keys);
}
