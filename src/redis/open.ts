/**
 * Opening a queue's Redis connection and creating its consumer groups: the helpers every layer
 * that talks to a queue shares (Queue, Worker, partitions, the HTTP consume service).
 *
 * @packageDocumentation
 */
import { Redis } from 'ioredis';
import { CONSUMER_GROUP, groupLaneKey, laneKeys, type QueueName } from '../core/keys.js';
import { createCluster, isClusterUrl, type RedisClient } from './connection.js';

/**
 * How a Queue or Worker reaches Redis: a URL, or a connection the caller owns and closes — an
 * ioredis `Redis` (one server) or `Cluster` (Redis Cluster). URLs: `redis://` and `rediss://`
 * for one server, `redis+cluster://host:port[,host:port...]` (or `rediss+cluster://`) for a
 * cluster, given by any of its nodes.
 */
export type RedisConnection = string | RedisClient;

/** Creates an ioredis client (a `Cluster` for `redis+cluster://` URLs) with Sluice's defaults, or returns the caller's. */
export function openRedis(connection: RedisConnection): { redis: RedisClient; owned: boolean } {
  if (typeof connection !== 'string') return { redis: connection, owned: false };
  const redis: RedisClient = isClusterUrl(connection)
    ? createCluster(connection, { maxRetriesPerRequest: 3, enableReadyCheck: true })
    : new Redis(connection, { maxRetriesPerRequest: 3, enableReadyCheck: true });
  // Connection errors surface on the commands that fail; ioredis reconnects on its own.
  redis.on('error', () => undefined);
  return { redis, owned: true };
}

/** Creates the consumer group on every lane and on the group lane (idempotent). */
export async function ensureGroups(redis: RedisClient, queue: QueueName): Promise<void> {
  await Promise.all(
    [...laneKeys(queue), groupLaneKey(queue)].map(async (lane) => {
      try {
        await redis.xgroup('CREATE', lane, CONSUMER_GROUP, '0', 'MKSTREAM');
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
      }
    }),
  );
}
