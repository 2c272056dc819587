/**
 * Follows one Redis stream as an Observable of raw entries: catch-up with XRANGE pages on the
 * shared connection, then live with `XREAD BLOCK` on a dedicated connection.
 *
 * Invariant: every entry is emitted exactly once and in id order. The loop keeps one cursor, the
 * id of the last entry it emitted, and every read (catch-up page or live XREAD) asks for entries
 * strictly after it, so the switch from catch-up to live can neither skip nor repeat an entry.
 *
 * A blocked XREAD holds its connection until data arrives or the block times out, so it cannot
 * share a connection with other commands; each subscription duplicates the caller's connection
 * and, on unsubscribe, disconnects that duplicate at once instead of waiting for the block to end.
 *
 * @packageDocumentation
 */
import { duplicateClient, type RedisClient } from './connection.js';
import { Observable } from 'rxjs';
import { toStreamEntries, xreadEntries, type StreamEntry } from './replies.js';
import { formatStreamId, MIN_ID, nextStreamId, parseStreamId, type StreamIdParts } from './stream-id.js';
import { ValidationError } from '../core/errors.js';

/** Options of {@link tailStream}. */
export interface StreamTailOptions {
  /**
   * Emit entries strictly after this id. `'$'` (or omitted) means only entries appended after
   * the subscription: the current last id is read at subscribe time, on the caller's connection,
   * so an entry appended through that connection after `subscribe()` returns is always seen.
   * `'0'` or `'0-0'` means the whole stream. An incomplete id `<ms>` means `<ms>-0`, as in XREAD.
   * @default '$'
   */
  after?: string;
  /**
   * Entries fetched per XRANGE page and per XREAD.
   * @default 500
   */
  pageSize?: number;
  /**
   * How long one XREAD blocks waiting for entries. It only bounds how often an idle tail
   * re-issues its read: unsubscribing disconnects the dedicated connection without waiting.
   * @default 5000
   */
  blockMs?: number;
  /**
   * `CLIENT SETNAME` of the dedicated connection, to find it in `CLIENT LIST`.
   * @default 'sluice:tail'
   */
  connectionName?: string;
}

/**
 * Returns a cold Observable of the entries of stream `key`. Each subscription opens its own
 * dedicated connection (a duplicate of `redis`, a server or a Cluster connection) and closes it when the subscription ends for any
 * reason (unsubscribe, error). The dedicated connection waits through Redis outages
 * (`maxRetriesPerRequest: null`) and resumes from its cursor after reconnecting; the catch-up
 * reads on the shared connection follow that connection's retry policy and error out on failure.
 *
 * @throws {@link ValidationError} (synchronously) when `after` is not a stream id or `'$'`.
 */
export function tailStream(redis: RedisClient, key: string, options: StreamTailOptions = {}): Observable<StreamEntry> {
  const after = options.after ?? '$';
  const parsedAfter = after === '$' ? undefined : parseStreamId(after, 'min');
  if (after !== '$' && parsedAfter === undefined) {
    throw new ValidationError('fromId', `${JSON.stringify(after)} is not a stream id (<ms>-<seq>, <ms> or '$')`);
  }
  const pageSize = positiveInteger('pageSize', options.pageSize ?? 500);
  const blockMs = positiveInteger('blockMs', options.blockMs ?? 5000);
  const connectionName = options.connectionName ?? 'sluice:tail';

  return new Observable<StreamEntry>((subscriber) => {
    let stopped = false;
    const live = duplicateClient(redis, { connectionName, maxRetriesPerRequest: null, enableOfflineQueue: true });
    // Connection errors also reject the pending command (or are retried by reconnection);
    // without a listener ioredis would print each one as an unhandled 'error' event.
    live.on('error', () => undefined);
    // Issued synchronously, before subscribe() returns, so later commands on `redis` run after it.
    const lastReply = parsedAfter === undefined ? redis.xrevrange(key, '+', '-', 'COUNT', 1) : undefined;

    const emit = (entries: readonly StreamEntry[]): string | undefined => {
      let last: string | undefined;
      for (const entry of entries) {
        if (stopped) return undefined;
        subscriber.next(entry);
        last = entry[0];
      }
      return last;
    };

    const run = async (): Promise<void> => {
      let cursor: StreamIdParts = parsedAfter ?? MIN_ID;
      if (lastReply !== undefined) {
        const [newest] = toStreamEntries(await lastReply, 'XREVRANGE');
        if (newest !== undefined) cursor = parseEntryId(newest[0]);
      }
      // Catch-up: pages of XRANGE strictly after the cursor, until a short page.
      for (;;) {
        const start = nextStreamId(cursor);
        if (start === undefined || stopped) break;
        const page = toStreamEntries(await redis.xrange(key, formatStreamId(start), '+', 'COUNT', pageSize), 'XRANGE');
        const last = emit(page);
        if (stopped) return;
        if (last !== undefined) cursor = parseEntryId(last);
        if (page.length < pageSize) break;
      }
      // Live: XREAD BLOCK strictly after the cursor on the dedicated connection.
      while (!stopped) {
        const reply = await live.xread('COUNT', pageSize, 'BLOCK', blockMs, 'STREAMS', key, formatStreamId(cursor));
        const last = emit(xreadEntries(reply, key));
        if (last !== undefined) cursor = parseEntryId(last);
      }
    };

    run().then(
      () => undefined,
      (error: unknown) => {
        // After unsubscribe the disconnect rejects the pending read; that is the expected end.
        if (!stopped) subscriber.error(error);
      },
    );

    return () => {
      stopped = true;
      live.disconnect();
    };
  });
}

function parseEntryId(id: string): StreamIdParts {
  const parsed = parseStreamId(id);
  if (parsed === undefined) throw new TypeError(`Redis returned a malformed stream id ${JSON.stringify(id)}`);
  return parsed;
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(field, `must be a positive integer, got ${value}`);
  return value;
}
