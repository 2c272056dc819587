/**
 * How much of a stream's history the stream itself still holds, from `XINFO STREAM`
 * (Redis 7.0+: `entries-added` counts every entry ever appended, trimmed or not).
 *
 * @packageDocumentation
 */
import type { RedisClient } from './connection.js';

/** A stream's extent: what was appended, what is still held. */
export interface StreamExtent {
  /** Entries in the stream now. */
  length: number;
  /** Entries ever appended to the stream (XINFO `entries-added`). */
  appended: number;
  /**
   * Entries no longer in the stream (`appended - length`): trimmed after archiving. When it is
   * above 0, the history before {@link StreamExtent.firstId} is only in the archive.
   */
  trimmed: number;
  /** Id of the first entry still in the stream; null when the stream is empty. */
  firstId: string | null;
  /** Id of the last entry; null when the stream is empty. */
  lastId: string | null;
}

/** The extent of stream `key`; all zeros and nulls when the key does not exist. */
export async function streamExtent(redis: RedisClient, key: string): Promise<StreamExtent> {
  let reply: unknown[];
  try {
    reply = (await redis.xinfo('STREAM', key)) as unknown[];
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return { length: 0, appended: 0, trimmed: 0, firstId: null, lastId: null };
    throw error;
  }
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const length = Number(fields.get('length') ?? 0);
  // Redis 7.0 is Sluice's floor; an older server has no entries-added and counts as untrimmed.
  const appended = Number(fields.get('entries-added') ?? length);
  const entryId = (entry: unknown): string | null => (Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : null);
  return {
    length,
    appended,
    trimmed: Math.max(0, appended - length),
    firstId: entryId(fields.get('first-entry')),
    lastId: entryId(fields.get('last-entry')),
  };
}
