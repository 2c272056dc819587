/**
 * Replay of a queue's whole history for audit: the archive first, then the live stream, with no
 * gap and no duplicate across the boundary, optionally followed by the live tail.
 *
 * The position is a stream id: every event with a greater id is still to come. Archive records
 * at or below it are skipped; the stream is read after it. Each stream read is paired (MULTI)
 * with a look at the stream's first entry: when the archiver trimmed past the position in the
 * meantime, replay goes back to the archive for the events in between.
 *
 * @packageDocumentation
 */
import type { Writable } from 'node:stream';
import type { RedisClient } from '../redis/connection.js';
import { Observable } from 'rxjs';
import { ValidationError } from '../core/errors.js';
import { decodeEvent } from '../events/codec.js';
import { RedisEventLog } from '../events/log.js';
import { EVENT_TYPES, type EventType, type StoredJobEvent } from '../events/types.js';
import { eventsKey, toJobId, toQueueName, type QueueName } from '../core/keys.js';
import { compareIds, type ArchiveRecord, type EventArchive } from './archive.js';

/** What to replay. */
export interface ReplayQuery {
  /** Only events strictly after this stream id (a checkpoint). */
  after?: string;
  /** Only events at or after this time. */
  from?: Date | number;
  /** Only events at or before this time, or at or before this stream id. */
  to?: Date | number | string;
  /** Only this job's events. */
  jobId?: string;
  /** Only these event types. */
  types?: readonly EventType[];
  /** After the history, keep emitting new events as they are appended. @default false */
  follow?: boolean;
  /** Events read per round trip. @default 1000 */
  batchSize?: number;
}

/** Where replay reads from. */
export interface ReplaySource {
  /** Connection to the queue's Redis (the caller closes it). */
  redis: RedisClient;
  /** The archive; omit when the stream was never trimmed. */
  archive?: EventArchive;
  queue: string;
}

const streamIdPattern = /^\d{1,20}-\d{1,20}$/;

function toMs(value: Date | number, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ValidationError(field, 'must be a Date or a non-negative integer of milliseconds');
  return ms;
}

interface Bounds {
  after: string | undefined;
  to: string | undefined;
  jobId: string | undefined;
  types: ReadonlySet<string> | undefined;
  batchSize: number;
}

function bounds(query: ReplayQuery): Bounds {
  let after = query.after;
  if (after !== undefined && !streamIdPattern.test(after)) throw new ValidationError('after', 'must be a stream id like 1700000000000-0');
  if (query.from !== undefined) {
    const fromMs = toMs(query.from, 'from');
    const beforeFrom = fromMs === 0 ? undefined : `${fromMs - 1}-18446744073709551615`;
    if (beforeFrom !== undefined && (after === undefined || compareIds(beforeFrom, after) > 0)) after = beforeFrom;
  }
  let to: string | undefined;
  if (query.to !== undefined) {
    if (typeof query.to === 'string') {
      if (!streamIdPattern.test(query.to)) throw new ValidationError('to', 'must be a Date, milliseconds or a stream id');
      to = query.to;
    } else {
      to = `${toMs(query.to, 'to')}-18446744073709551615`;
    }
  }
  if (query.types !== undefined) {
    for (const type of query.types) {
      if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new ValidationError('types', `unknown event type ${JSON.stringify(type)}`);
    }
  }
  const batchSize = query.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new ValidationError('batchSize', 'must be an integer from 1 to 10000');
  return {
    after,
    to,
    jobId: query.jobId === undefined ? undefined : toJobId(query.jobId),
    types: query.types === undefined ? undefined : new Set(query.types),
    batchSize,
  };
}

function fromRecord(record: ArchiveRecord): StoredJobEvent {
  return decodeEvent(record.id, ['type', record.type, 'v', record.v, 'data', record.data, 'meta', record.meta]);
}

/**
 * The history as batches of events, oldest first: archive, then stream. Ends at the stream's
 * end (or at `to`); `follow` is handled by {@link replay$}.
 * @returns (as the generator's return value) the id of the last event read, filtered or not.
 */
export async function* replayBatches(source: ReplaySource, query: ReplayQuery = {}): AsyncGenerator<StoredJobEvent[], string | undefined> {
  const queue = toQueueName(source.queue);
  const b = bounds(query);
  let position = b.after;
  let archived = source.archive && position !== undefined ? await source.archive.positionOf(queue, position) : 0;
  const keep = (event: StoredJobEvent): boolean =>
    (b.jobId === undefined || event.metadata.jobId === b.jobId) && (b.types === undefined || b.types.has(event.type));
  const pastEnd = (id: string): boolean => b.to !== undefined && compareIds(id, b.to) > 0;

  // The archive is read first, and again only when the stream turns out to have been trimmed past
  // the position: not once per stream batch (each read is a query).
  let readArchive = source.archive !== undefined;
  for (;;) {
    if (source.archive && readArchive) {
      readArchive = false;
      let out: StoredJobEvent[] = [];
      for await (const record of source.archive.records(queue, archived, { batchSize: b.batchSize })) {
        archived = record.n;
        if (position !== undefined && compareIds(record.id, position) <= 0) continue;
        if (pastEnd(record.id)) {
          if (out.length > 0) yield out;
          return position;
        }
        position = record.id;
        const event = fromRecord(record);
        if (keep(event)) out.push(event);
        if (out.length >= b.batchSize) {
          yield out;
          out = [];
        }
      }
      if (out.length > 0) yield out;
    }
    const reply = await source.redis
      .multi()
      .xrange(eventsKey(queue), '-', '+', 'COUNT', 1)
      .xrange(eventsKey(queue), position === undefined ? '-' : `(${position}`, '+', 'COUNT', b.batchSize)
      .exec();
    const firstReply = reply?.[0];
    const rangeReply = reply?.[1];
    if (!firstReply || !rangeReply || firstReply[0] || rangeReply[0]) throw firstReply?.[0] ?? rangeReply?.[0] ?? new Error('MULTI failed');
    const first = (firstReply[1] as [string, string[]][])[0];
    const entries = rangeReply[1] as [string, string[]][];
    if (source.archive && first && (position === undefined || compareIds(first[0], position) > 0)) {
      // The stream starts after our position: the archiver moved on while we read. Anything
      // between is in the archive now.
      const last = await source.archive.last(queue);
      if (last && last.n > archived) {
        readArchive = true;
        continue;
      }
    }
    const out: StoredJobEvent[] = [];
    for (const [id, fields] of entries) {
      if (pastEnd(id)) {
        if (out.length > 0) yield out;
        return position;
      }
      position = id;
      const event = decodeEvent(id, fields);
      if (keep(event)) out.push(event);
    }
    if (out.length > 0) yield out;
    if (entries.length < b.batchSize) return position;
  }
}

/**
 * The history as an Observable of events: archive, then stream, then (with `follow`) the live
 * tail. Unsubscribing stops reading and closes the tail's connection.
 */
export function replay$(source: ReplaySource, query: ReplayQuery = {}): Observable<StoredJobEvent> {
  return new Observable<StoredJobEvent>((subscriber) => {
    let stopped = false;
    let tail: { unsubscribe(): void } | undefined;
    void (async () => {
      const batches = replayBatches(source, query);
      let next = await batches.next();
      while (!next.done && !stopped) {
        for (const event of next.value) subscriber.next(event);
        next = await batches.next();
      }
      if (stopped) {
        await batches.return(undefined);
        return;
      }
      const position = next.done ? next.value : undefined;
      if (!query.follow || (query.to !== undefined && position !== undefined && compareIds(position, bounds(query).to ?? position) >= 0)) {
        subscriber.complete();
        return;
      }
      const b = bounds(query);
      const log = new RedisEventLog(source.redis, source.queue);
      tail = log.tail$(position ?? '0-0').subscribe({
        next: (event) => {
          if (b.to !== undefined && compareIds(event.id, b.to) > 0) {
            subscriber.complete();
            return;
          }
          if ((b.jobId === undefined || event.metadata.jobId === b.jobId) && (b.types === undefined || b.types.has(event.type))) {
            subscriber.next(event);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    })().catch((error: unknown) => subscriber.error(error));
    return () => {
      stopped = true;
      tail?.unsubscribe();
    };
  });
}

/** Every event of one job, in order, across archive and stream. */
export async function jobHistory(source: ReplaySource, jobId: string): Promise<StoredJobEvent[]> {
  const id = toJobId(jobId);
  const queue: QueueName = toQueueName(source.queue);
  const events: StoredJobEvent[] = [];
  let position: string | undefined;
  if (source.archive) {
    // The job's runs serve the archived part with point reads (see EventArchive.jobRecords).
    const { records, last } = await source.archive.jobRecords(queue, id);
    for (const record of records) events.push(fromRecord(record));
    position = last?.id;
  }
  if (source.archive && position !== undefined) {
    // Fast path: the stream after the archive's end, read directly. The stream's first id only
    // grows (trims cut the front), so when it is still at or below `position` after the read,
    // nothing after `position` was trimmed before it was read.
    const tail: StoredJobEvent[] = [];
    for await (const batch of replayBatches({ redis: source.redis, queue }, { jobId: id, after: position })) tail.push(...batch);
    const [first] = await source.redis.xrange(eventsKey(queue), '-', '+', 'COUNT', 1);
    if (first && compareIds(first[0], position) <= 0) return [...events, ...tail];
  }
  for await (const batch of replayBatches(source, { jobId: id, ...(position === undefined ? {} : { after: position }) })) {
    events.push(...batch);
  }
  return events;
}

/**
 * Writes the history as NDJSON (one event per line: `{id, type, v, data, metadata}`).
 * @returns the number of events written.
 */
export async function exportNdjson(source: ReplaySource, query: Omit<ReplayQuery, 'follow'>, out: Writable): Promise<number> {
  let written = 0;
  for await (const batch of replayBatches(source, query)) {
    const text = batch.map((event) => JSON.stringify(event)).join('\n') + '\n';
    written += batch.length;
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  return written;
}
