/**
 * An in-memory {@link EventLog} for unit tests and tools that need no Redis. It behaves like the
 * Redis stream: ids are `<ms>-<seq>` from an injectable clock and strictly increasing (a clock
 * that goes back reuses the last millisecond, as Redis does), entries are stored encoded and
 * decoded on every read (so readers never share objects with writers, and corrupt entries are
 * reported exactly as from Redis), and tails deliver asynchronously.
 *
 * @packageDocumentation
 */
import { Observable, type Subscriber } from 'rxjs';
import { ClosedError, ValidationError } from '../core/errors.js';
import { toQueueName, type QueueName } from '../core/keys.js';
import {
  compareStreamIds,
  formatStreamId,
  MIN_ID,
  parseStreamId,
  resolveRange,
  timeRangeToIdRange,
  type ResolvedRange,
  type StreamIdParts,
} from '../redis/stream-id.js';
import type { StreamEntry } from '../redis/replies.js';
import { decodeEntry, encodeForAppend, readLimits, type CorruptPolicy, type EventLog, type ReadQuery, type TailOptions, type TimeQuery } from './log.js';
import type { JobEvent, StoredJobEvent } from './types.js';

/** Options of {@link MemoryEventLog}. */
export interface MemoryEventLogOptions {
  /**
   * The clock that stamps ids, in milliseconds since the epoch.
   * @default Date.now
   */
  now?: () => number;
}

interface StoredEntry {
  readonly id: StreamIdParts;
  readonly entry: StreamEntry;
}

/** An {@link EventLog} held in memory. */
export class MemoryEventLog implements EventLog {
  readonly queue: QueueName;
  private readonly now: () => number;
  private readonly stored: StoredEntry[] = [];
  /** Last generated id; starts at `0-0` like an empty Redis stream. */
  private lastGenerated: StreamIdParts = MIN_ID;
  private readonly tails = new Set<{ wake(): void; end(): void }>();
  private closed = false;

  /** @throws {@link ValidationError} when `queue` is not a valid queue name. */
  constructor(queue: string, options: MemoryEventLogOptions = {}) {
    this.queue = toQueueName(queue);
    this.now = options.now ?? Date.now;
  }

  async append(events: readonly JobEvent[]): Promise<string[]> {
    this.assertOpen();
    const encoded = encodeForAppend(this.queue, events);
    return Promise.resolve(encoded.map((fields) => this.store(fields)));
  }

  /**
   * Stores a field list without any validation, like a raw `XADD key * ...fields`.
   * For tests of corrupt-entry handling; production code appends through {@link append}.
   * @returns the new entry's id.
   */
  appendRawEntry(fields: readonly string[]): string {
    this.assertOpen();
    return this.store([...fields]);
  }

  entries(query: ReadQuery = {}): AsyncGenerator<StoredJobEvent> {
    this.assertOpen();
    const { count } = readLimits(query);
    return this.generate(resolveRange(query), count, query.onCorrupt);
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

  tail$(fromId?: string, options: TailOptions = {}): Observable<StoredJobEvent> {
    const after = fromId ?? '$';
    const parsed = after === '$' ? undefined : parseStreamId(after, 'min');
    if (after !== '$' && parsed === undefined) {
      throw new ValidationError('fromId', `${JSON.stringify(after)} is not a stream id (<ms>-<seq>, <ms> or '$')`);
    }
    return new Observable<StoredJobEvent>((subscriber) => {
      if (this.closed) {
        subscriber.error(new ClosedError(`event log of queue ${this.queue}`));
        return undefined;
      }
      // '$' is resolved now, at subscribe time, like the Redis tail.
      const cursor = parsed ?? this.stored.at(-1)?.id ?? MIN_ID;
      const tail = this.openTail(subscriber, cursor, options);
      this.tails.add(tail);
      tail.wake();
      return () => this.tails.delete(tail);
    });
  }

  async length(): Promise<number> {
    this.assertOpen();
    return Promise.resolve(this.stored.length);
  }

  async lastId(): Promise<string | undefined> {
    this.assertOpen();
    return Promise.resolve(this.stored.at(-1)?.entry[0]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const tail of [...this.tails]) tail.end();
    return Promise.resolve();
  }

  // Index-based over the live array: entries appended while iterating are seen, as with paging.
  // eslint-disable-next-line @typescript-eslint/require-await -- async to match the Redis log's AsyncGenerator.
  private async *generate(range: ResolvedRange | undefined, count: number, onCorrupt: CorruptPolicy | undefined): AsyncGenerator<StoredJobEvent> {
    if (range === undefined) return;
    let emitted = 0;
    for (let i = this.firstIndexFrom(range.start); i < this.stored.length && emitted < count; i++) {
      const item = this.stored[i] as StoredEntry;
      if (compareStreamIds(item.id, range.end) > 0) break;
      const event = decodeEntry(item.entry, onCorrupt);
      if (event === undefined) continue;
      emitted++;
      yield event;
    }
  }

  private store(fields: string[]): string {
    const ms = BigInt(Math.max(0, Math.floor(this.now())));
    const last = this.lastGenerated;
    const id: StreamIdParts = ms > last.ms ? { ms, seq: 0n } : { ms: last.ms, seq: last.seq + 1n };
    this.lastGenerated = id;
    const text = formatStreamId(id);
    this.stored.push({ id, entry: [text, fields] });
    for (const tail of this.tails) tail.wake();
    return text;
  }

  /** Index of the first stored entry with an id >= `start` (binary search; ids are sorted). */
  private firstIndexFrom(start: StreamIdParts): number {
    let low = 0;
    let high = this.stored.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareStreamIds((this.stored[mid] as StoredEntry).id, start) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * One subscription's cursor. `wake` schedules a drain in a microtask, so delivery is
   * asynchronous (as from Redis) and a subscriber that appends from `next` cannot re-enter it.
   */
  private openTail(subscriber: Subscriber<StoredJobEvent>, start: StreamIdParts, options: TailOptions) {
    let index = this.firstIndexFrom(start);
    // Entries equal to the cursor were seen already: the tail is exclusive of `fromId`.
    if (index < this.stored.length && compareStreamIds((this.stored[index] as StoredEntry).id, start) === 0) index++;
    let scheduled = false;
    const drain = (): void => {
      scheduled = false;
      while (!subscriber.closed && index < this.stored.length) {
        const item = this.stored[index++] as StoredEntry;
        let event: StoredJobEvent | undefined;
        try {
          event = decodeEntry(item.entry, options.onCorrupt);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        if (event !== undefined) subscriber.next(event);
      }
    };
    return {
      wake: (): void => {
        if (scheduled) return;
        scheduled = true;
        queueMicrotask(drain);
      },
      end: (): void => subscriber.complete(),
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError(`event log of queue ${this.queue}`);
  }
}
