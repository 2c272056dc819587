/**
 * Settling attempts whose lane entry was deleted while pending (something XDEL'd or trimmed a
 * lane: a fault). reap.lua learns their tokens from XAUTOCLAIM and keeps them in the queue's
 * `lost` set; the read model keeps no index of active jobs to look them up by (see
 * src/queue/active.ts), and the deleted entry no longer names its job, so the jobs holding those
 * tokens are found here by SCANning the queue's job hashes, a page at a time (never blocking
 * Redis), stopping once every token is found. loseEntries.lua then checks, atomically, that each
 * job is still active with that token and appends `lost` and `dead-lettered`.
 *
 * Cost: nothing while no entry is deleted (reap.lua reads the empty set once per call). When one
 * is, one SCAN pass over the keyspace of the queue's Redis node (at most until the jobs are
 * found) with one HMGET per job hash, spread over pages of 1000 keys.
 *
 * @packageDocumentation
 */
import type { Clock } from '../core/clock.js';
import { scriptTime } from '../core/clock.js';
import { jobKeyPrefix, type QueueName } from '../core/keys.js';
import { loseEntries } from '../events/commands/index.js';
import { scanPrefix, type RedisClient } from '../redis/connection.js';

/**
 * Finds the active jobs holding `tokens` and settles them `lost` (then `dead-lettered`); every
 * token searched leaves the queue's `lost` set, found or not (a token no active job holds
 * belongs to an attempt that ended since).
 * @returns the number of jobs settled.
 */
export async function settleLostEntries(redis: RedisClient, queue: QueueName, clock: Clock, tokens: readonly string[]): Promise<number> {
  if (tokens.length === 0) return 0;
  const wanted = new Set(tokens);
  const found: { jobId: string; token: string }[] = [];
  const prefix = jobKeyPrefix(queue);
  for await (const keys of scanPrefix(redis, prefix)) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.hmget(key, 'state', 'token');
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, [error, reply]] of replies.entries()) {
      if (error) throw error;
      const [state, token] = reply as [string | null, string | null];
      if (state === 'active' && token !== null && wanted.delete(token)) found.push({ jobId: (keys[i] as string).slice(prefix.length), token });
    }
    if (wanted.size === 0) break;
  }
  return loseEntries(redis, queue, scriptTime(clock), tokens, found);
}
