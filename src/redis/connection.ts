/**
 * Creating and closing ioredis connections. The rule (STYLE 13): whoever creates a connection
 * closes it. Classes that accept a connection take an `ownsConnection` flag and close it only
 * when they created it or were told they own it.
 *
 * @packageDocumentation
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Options of {@link createRedis}: any ioredis option, plus Sluice's defaults below. */
export interface CreateRedisOptions extends RedisOptions {
  /**
   * Name shown by `CLIENT LIST`, to tell Sluice's connections apart.
   * @default 'sluice'
   */
  connectionName?: string;
  /**
   * Reconnection attempts a command waits through before it fails. Fail fast rather than hang:
   * callers see a retryable error and decide.
   * @default 5
   */
  maxRetriesPerRequest?: number | null;
}

/**
 * Opens an ioredis connection to `url` (`redis://[user:pass@]host:port[/db]`) with options
 * suited to Sluice: reconnection with capped backoff (50 ms steps up to 2 s) and a bounded
 * number of retries per command. The caller owns the connection; close it with {@link closeRedis}.
 */
export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  return new Redis(url, {
    retryStrategy: (times) => Math.min(times * 50, 2000),
    ...options,
    connectionName: options.connectionName ?? 'sluice',
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 5 : options.maxRetriesPerRequest,
  });
}

/**
 * Closes a connection: QUIT (so pending replies arrive) with a deadline, then a hard
 * disconnect, so closing never hangs on a server that went away. Idempotent.
 * @param timeoutMs - how long to wait for QUIT before disconnecting.
 */
export async function closeRedis(redis: Redis, timeoutMs = 1000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    // QUIT may fail when the socket drops meanwhile; the hard disconnect below still closes it.
    await Promise.race([redis.quit().catch(() => undefined), deadline]);
    clearTimeout(timer);
  }
  redis.disconnect();
}
