/**
 * The event log of one queue: the `sluice:{<queue>}:events` stream, read by id range or time
 * range and followed live as an rxjs Observable.
 *
 * {@link EventLog} is the contract; {@link RedisEventLog} implements it on Redis Streams and
 * `MemoryEventLog` (memory-log.ts) in memory, and both pass the same contract suite
 * (`test/contracts/eventLog.contract.ts`).
 *
 * In production, events are appended by the Lua scripts that change dispatch state, in the same
 * call; {@link EventLog.append} is the low-level write for tools and tests.
 *
 * Reading semantics, shared by both implementations:
 * - ids are Redis stream ids `<ms>-<seq>`; `<ms>` is the append time in milliseconds;
 * - `from` and `to` are inclusive, `after` is exclusive (see {@link IdRange});
 * - `since` and `until` are inclusive milliseconds (see {@link TimeRange});
 * - an entry that does not decode is a {@link CorruptEventError} naming its id, handled per
 *   {@link CorruptPolicy} (by default the read fails).
 *
 * @packageDocumentation
 */
import type { RedisClient } from '../redis/connection.js';
import { mergeMap, Observable, type OperatorFunction } from 'rxjs';
import { ClosedError, CorruptEventError, ValidationError } from '../core/errors.js';
import { eventsKey, toQueueName, type QueueName } from '../core/keys.js';
import { closeRedis, createRedisClient, type CreateRedisOptions } from '../redis/connection.js';
import { execStrings, toStreamEntries, type StreamEntry } from '../redis/replies.js';
import {
  formatStreamId,
  resolveRange,
  timeRangeToIdRange,
  type IdRange,
  type ResolvedRange,
  type TimeRange,
} from '../redis/stream-id.js';
import { tailStream } from '../redis/stream-tail.js';
import { decodeEvent, encodeEvent } from './codec.js';
import type { JobEvent, StoredJobEvent } from './types.js';

export type { IdRange, TimeRange } from '../redis/stream-id.js';

/**
 * What a read or tail does with an entry that is not a valid event:
 * - `'error'`: fail with the {@link CorruptEventError} (a read rejects, a tail errors and ends);
 * - `'skip'`: leave it out and go on;
 * - a function: call it with the error (to log or count it), then skip the entry.
 */
export type CorruptPolicy = 'error' | 'skip' | ((error: CorruptEventError) => void);

/** Options of every read. */
export interface ReadOptions {
  /**
   * Return at most this many events.
   * @default unlimited
   */
  count?: number;
  /**
   * Entries fetched per round trip (XRANGE COUNT), so a huge range never arrives in one reply.
   * @default 500
   */
  pageSize?: number;
  /**
   * What to do with an entry that is not a valid event.
   * @default 'error'
   */
  onCorrupt?: CorruptPolicy;
}

/** A read by stream id: {@link IdRange} bounds plus {@link ReadOptions}. */
export type ReadQuery = IdRange & ReadOptions;

/** A read by append time: {@link TimeRange} bounds plus {@link ReadOptions}. */
export type TimeQuery = TimeRange & ReadOptions;

/** Options of {@link EventLog.tail$}. */
export interface TailOptions {
  /**
   * What to do with an entry that is not a valid event. With `'error'` the Observable errors
   * with the {@link CorruptEventError} and ends (its connection is closed).
   * @default 'error'
   */
  onCorrupt?: CorruptPolicy;
  /**
   * Entries fetched per round trip while catching up and per live read.
   * @default 500
   */
  pageSize?: number;
  /**
   * Redis only: how long one `XREAD BLOCK` waits before it is re-issued. Unsubscribing does not
   * wait for it: the tail's dedicated connection is disconnected at once.
   * @default 5000
   */
  blockMs?: number;
}

/** The event log of one queue. */
export interface EventLog {
  /** The queue whose events this log holds. */
  readonly queue: QueueName;

  /**
   * Appends events in order, all or nothing, and returns their stream ids (increasing).
   * Each event is validated by a codec round trip before anything is written.
   * @throws {@link ValidationError} naming `events[i]` when an event is invalid or belongs to
   * another queue; nothing is appended then.
   */
  append(events: readonly JobEvent[]): Promise<string[]>;

  /**
   * Iterates the events of an id range in order, fetching them page by page.
   * @throws {@link ValidationError} (synchronously) for a malformed query.
   */
  entries(query?: ReadQuery): AsyncIterable<StoredJobEvent>;

  /** The events of an id range, in order (every page collected into one array). */
  read(query?: ReadQuery): Promise<StoredJobEvent[]>;

  /** The events appended within a time range, in order. */
  readByTime(query?: TimeQuery): Promise<StoredJobEvent[]>;

  /**
   * Follows the log: emits the events after `fromId` (exclusive) that are already stored, then
   * every event appended later, each exactly once and in order, until unsubscribed.
   * `fromId` `'$'` or omitted means only events appended after the subscription; `'0'` means
   * the whole log. Cold: each subscription reads independently.
   * @throws {@link ValidationError} (synchronously) when `fromId` is not a stream id or `'$'`.
   */
  tail$(fromId?: string, options?: TailOptions): Observable<StoredJobEvent>;

  /** Number of entries in the log. */
  length(): Promise<number>;

  /** Id of the newest entry, or `undefined` when the log is empty. */
  lastId(): Promise<string | undefined>;

  /**
   * Completes every open tail and releases resources (the connection only when owned).
   * Later calls reject with {@link ClosedError}. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Validates and encodes events for appending to `queue`'s log. Shared by the implementations.
 * @internal
 * @throws {@link ValidationError} naming `events[i]` for the first invalid event.
 */
export function encodeForAppend(queue: QueueName, events: readonly JobEvent[]): string[][] {
  return events.map((event, index) => {
    const field = `events[${index}]`;
    if (event.metadata.queue !== queue) {
      throw new ValidationError(field, `belongs to queue ${JSON.stringify(event.metadata.queue)}, not ${JSON.stringify(queue)}`);
    }
    const fields = encodeEvent(event);
    try {
      decodeEvent('(new)', fields);
    } catch (error) {
      if (!(error instanceof CorruptEventError)) throw error;
      const reason = typeof error.details.reason === 'string' ? error.details.reason : error.message;
      throw new ValidationError(field, `is not a valid event: ${reason}`, { cause: error });
    }
    return fields;
  });
}

/**
 * Decodes one stream entry under a {@link CorruptPolicy}.
 * @returns `undefined` when the entry is corrupt and the policy skips it.
 * @throws {@link CorruptEventError} when the entry is corrupt and the policy is `'error'`.
 */
export function decodeEntry(entry: StreamEntry, onCorrupt: CorruptPolicy = 'error'): StoredJobEvent | undefined {
  try {
    return decodeEvent(entry[0], entry[1]);
  } catch (error) {
    if (!(error instanceof CorruptEventError) || onCorrupt === 'error') throw error;
    if (typeof onCorrupt === 'function') onCorrupt(error);
    return undefined;
  }
}

/** rxjs operator: decodes entries under a {@link CorruptPolicy}; with `'error'` the Observable errors. */
export function decodeEntries(onCorrupt: CorruptPolicy = 'error'): OperatorFunction<StreamEntry, StoredJobEvent> {
  // A throw inside the projection becomes the Observable's error notification.
  return mergeMap((entry) => {
    const event = decodeEntry(entry, onCorrupt);
    return event === undefined ? [] : [event];
  });
}

/**
 * Validates the options every read shares. Shared by the implementations.
 * @internal
 * @throws {@link ValidationError} when `count` or `pageSize` is not a positive integer.
 */
export function readLimits(query: ReadOptions): { count: number; pageSize: number } {
  const count = query.count ?? Number.POSITIVE_INFINITY;
  if (count !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(count) || count < 1)) {
    throw new ValidationError('count', `must be a positive integer, got ${count}`);
  }
  const pageSize = query.pageSize ?? 500;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new ValidationError('pageSize', `must be a positive integer, got ${pageSize}`);
  }
  return { count, pageSize };
}

/** Options of {@link RedisEventLog}. */
export interface RedisEventLogOptions {
  /**
   * Close the connection in {@link RedisEventLog.close}. Set it only when this log is the
   * connection's sole user; {@link RedisEventLog.connect} sets it for the connection it opens.
   * @default false
   */
  ownsConnection?: boolean;
}

/** The event log of one queue on a Redis stream (`sluice:{<queue>}:events`). */
export class RedisEventLog implements EventLog {
  readonly queue: QueueName;
  /** The stream key. */
  readonly key: string;
  private readonly ownsConnection: boolean;
  private readonly closers = new Set<() => void>();
  private closed = false;

  /**
   * @param redis - the connection to use; tails duplicate it for their blocking reads.
   * @param queue - the queue name (validated).
   * @throws {@link ValidationError} when `queue` is not a valid queue name.
   */
  constructor(
    private readonly redis: RedisClient,
    queue: string,
    options: RedisEventLogOptions = {},
  ) {
    this.queue = toQueueName(queue);
    this.key = eventsKey(this.queue);
    this.ownsConnection = options.ownsConnection ?? false;
  }

  /** Opens a connection to `url` (see `createRedisClient`: `redis://` or `redis+cluster://`) and returns a log that owns and closes it. */
  static connect(url: string, queue: string, options: CreateRedisOptions = {}): RedisEventLog {
    const queueName = toQueueName(queue);
    return new RedisEventLog(createRedisClient(url, options), queueName, { ownsConnection: true });
  }

  async append(events: readonly JobEvent[]): Promise<string[]> {
    this.assertOpen();
    const encoded = encodeForAppend(this.queue, events);
    if (encoded.length === 0) return [];
    // MULTI: the batch lands contiguously and all together, like the Lua scripts' appends.
    const multi = this.redis.multi();
    for (const fields of encoded) multi.xadd(this.key, '*', ...fields);
    return execStrings(await multi.exec(), 'XADD');
  }

  entries(query: ReadQuery = {}): AsyncGenerator<StoredJobEvent> {
    this.assertOpen();
    const { count, pageSize } = readLimits(query);
    return this.pages(resolveRange(query), count, pageSize, query.onCorrupt);
  }

  async read(query: ReadQuery = {}): Promise<StoredJobEvent[]> {
    const events: StoredJobEvent[] = [];
    for await (const event of this.entries(query)) events.push(event);
    return events;
  }

  async readByTime(query: TimeQuery = {}): Promise<StoredJobEvent[]> {
    const { since, until, ...options } = query;
    return this.read({ ...timeRangeToIdRange({ since, until }), ...options });
  }

  /**
   * {@inheritDoc EventLog.tail$}
   *
   * Each subscription reads on a dedicated connection named `sluice:tail:<queue>`, duplicated
   * from this log's connection and disconnected as soon as the subscription ends.
   */
  tail$(fromId?: string, options: TailOptions = {}): Observable<StoredJobEvent> {
    const entries$ = tailStream(this.redis, this.key, {
      after: fromId ?? '$',
      connectionName: `sluice:tail:${this.queue}`,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(options.blockMs === undefined ? {} : { blockMs: options.blockMs }),
    });
    return new Observable<StoredJobEvent>((subscriber) => {
      if (this.closed) {
        subscriber.error(new ClosedError(`event log of queue ${this.queue}`));
        return undefined;
      }
      const complete = (): void => subscriber.complete();
      this.closers.add(complete);
      const subscription = entries$.pipe(decodeEntries(options.onCorrupt)).subscribe(subscriber);
      return () => {
        this.closers.delete(complete);
        subscription.unsubscribe();
      };
    });
  }

  async length(): Promise<number> {
    this.assertOpen();
    return this.redis.xlen(this.key);
  }

  async lastId(): Promise<string | undefined> {
    this.assertOpen();
    const [newest] = toStreamEntries(await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1), 'XREVRANGE');
    return newest?.[0];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const complete of [...this.closers]) complete();
    if (this.ownsConnection) await closeRedis(this.redis);
  }

  /** XRANGE page by page; each page starts right after the last id of the previous one. */
  private async *pages(
    range: ResolvedRange | undefined,
    count: number,
    pageSize: number,
    onCorrupt: CorruptPolicy | undefined,
  ): AsyncGenerator<StoredJobEvent> {
    if (range === undefined) return;
    let start: string | undefined = formatStreamId(range.start);
    const end = formatStreamId(range.end);
    let emitted = 0;
    while (start !== undefined && emitted < count) {
      const want = Math.min(pageSize, count - emitted);
      const page = toStreamEntries(await this.redis.xrange(this.key, start, end, 'COUNT', want), 'XRANGE');
      for (const entry of page) {
        const event = decodeEntry(entry, onCorrupt);
        if (event === undefined) continue;
        emitted++;
        yield event;
      }
      const last = page.at(-1);
      if (page.length < want || last === undefined) break;
      start = nextAfter(last[0]);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`event log of queue ${this.queue}`);
  }
}

/** The id right after `id` as an XRANGE start, or `undefined` when nothing can follow it. */
function nextAfter(id: string): string | undefined {
  const range = resolveRange({ after: id });
  return range === undefined ? undefined : formatStreamId(range.start);
}
