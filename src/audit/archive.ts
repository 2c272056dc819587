/**
 * The event archive: a MongoDB collection holding every event of every queue, hash-chained per
 * queue, so the Redis stream can be trimmed while replay still covers the whole history.
 *
 * Each record is one stream entry with its raw `type`, `v`, `data` and `meta` fields, a per-queue
 * gapless number `n` (1, 2, …), the hash of the previous record (`prev`) and its own `hash`:
 * `sha256(prev \n queue \n n \n id \n type \n v \n data \n meta)`. Payloads are referenced by id
 * and content hash inside `data`, so a payload can be erased without breaking the chain.
 *
 * The {@link Archiver} copies new stream entries into the archive (insertMany, ordered, majority
 * write concern), then trims the stream with `XTRIM MINID <last archived id>`: only entries
 * strictly below an archived one are removed, and the last archived entry stays in the stream as
 * the seam replay uses to detect a trim that happened while it read. While a verify or rebuild
 * replays the queue, the trim stops at the last event it folded (its `replayHold`, see
 * src/events/lua/trimEvents.lua). Record `_id`s are
 * `<queue>/<n>`, so two archivers racing insert each record once; a crashed archiver resumes
 * from the last record it inserted.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { Collection, Db, MongoClient } from 'mongodb';
import type { RedisClient } from '../redis/connection.js';
import { describe, InvalidStateError, PayloadStoreUnavailableError, ValidationError } from '../errors.js';
import { decodeEvent } from '../events/codec.js';
import { eventsKey, toQueueName, type QueueName } from '../keys.js';
import { PeriodicTask } from '../consumers/periodic.js';
import { runScript } from '../events/scripts.js';

/** One archived event. */
export interface ArchiveRecord {
  /** `<queue>/<n>` */
  _id: string;
  queue: string;
  /** Position in the queue's archive, from 1, gapless. */
  n: number;
  /** Stream entry id. */
  id: string;
  /** Milliseconds part of the stream id (for time-range queries). */
  ms: number;
  type: string;
  v: string;
  /** Raw JSON of the event data, as appended. */
  data: string;
  /** Raw JSON of the event metadata, as appended. */
  meta: string;
  jobId: string;
  /** Per-job sequence number from the metadata. */
  seq: number;
  /** Hash of the previous record of the queue (64 zeros for the first). */
  prev: string;
  /** Hash of this record, chained. */
  hash: string;
}

/** Hash that the first record of a queue chains from. */
export const GENESIS_HASH = '0'.repeat(64);

/** Default archive collection name. */
export const DEFAULT_ARCHIVE_COLLECTION = 'sluice_events';

/** Computes a record's chained hash from its content. */
export function recordHash(r: Pick<ArchiveRecord, 'prev' | 'queue' | 'n' | 'id' | 'type' | 'v' | 'data' | 'meta'>): string {
  return createHash('sha256').update([r.prev, r.queue, String(r.n), r.id, r.type, r.v, r.data, r.meta].join('\n')).digest('hex');
}

/** Options of {@link EventArchive}. */
export interface EventArchiveOptions {
  /** A connected MongoClient (the caller closes it). */
  client: MongoClient;
  /** @default 'sluice' */
  database?: string;
  /** @default 'sluice_events' */
  collection?: string;
}

/** Read and write access to the archive collection. */
export class EventArchive {
  readonly collection: Collection<ArchiveRecord>;
  private indexed: Promise<void> | undefined;

  constructor(options: EventArchiveOptions) {
    const db: Db = options.client.db(options.database ?? 'sluice');
    this.collection = db.collection<ArchiveRecord>(options.collection ?? DEFAULT_ARCHIVE_COLLECTION);
  }

  /** Creates the indexes (queue + n, queue + job id + seq, queue + time); idempotent. */
  ensureIndexes(): Promise<void> {
    this.indexed ??= (async () => {
      await this.collection.createIndex({ queue: 1, n: 1 }, { unique: true, name: 'queue_n' });
      await this.collection.createIndex({ queue: 1, jobId: 1, seq: 1 }, { name: 'queue_job_seq' });
      await this.collection.createIndex({ queue: 1, ms: 1 }, { name: 'queue_time' });
    })().catch((error: unknown) => {
      this.indexed = undefined;
      throw error;
    });
    return this.indexed;
  }

  /** The queue's last archived record, or undefined when none is. */
  async last(queue: QueueName): Promise<ArchiveRecord | undefined> {
    const [doc] = await this.collection.find({ queue }).sort({ n: -1 }).limit(1).toArray();
    return doc ?? undefined;
  }

  /**
   * Records with n > `afterN`, in order, streamed from one cursor. (One query for the whole
   * read: a server without a usable index, such as FerretDB, scans the collection once per
   * query, so paging with repeated queries would cost a scan per page.)
   */
  async *records(queue: QueueName, afterN: number, options: { batchSize?: number } = {}): AsyncGenerator<ArchiveRecord> {
    const cursor = this.collection.find({ queue, n: { $gt: afterN } }).sort({ n: 1 }).batchSize(options.batchSize ?? 1000);
    try {
      for await (const record of cursor) yield record;
    } finally {
      await cursor.close();
    }
  }

  /** The n of the last record whose stream id is at or below `id` (0 when none). */
  async positionOf(queue: QueueName, id: string): Promise<number> {
    const ms = Number(id.split('-')[0]);
    const candidates = await this.collection.find({ queue, ms: { $lte: ms } }).sort({ n: -1 }).limit(64).toArray();
    for (const doc of candidates) if (compareIds(doc.id, id) <= 0) return doc.n;
    if (candidates.length === 64) {
      // More than 64 records share the millisecond: fall back to a scan of that millisecond.
      const same = await this.collection.find({ queue, ms }).sort({ n: -1 }).toArray();
      for (const doc of same) if (compareIds(doc.id, id) <= 0) return doc.n;
    }
    return 0;
  }

  /** Number of records of the queue. */
  async count(queue: QueueName): Promise<number> {
    return (await this.last(queue))?.n ?? 0;
  }

  /** Same as {@link EventArchive.count}; makes the archive usable as the metrics' `ArchiveProgress`. */
  archivedEvents(queue: QueueName): Promise<number> {
    return this.count(queue);
  }
}

/** Compares two complete stream ids numerically. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** Options of {@link Archiver}. */
export interface ArchiverOptions {
  /** Redis connection holding the queue (the caller closes it). */
  redis: RedisClient;
  archive: EventArchive;
  queue: string;
  /**
   * Events copied per insertMany.
   * @default 1000
   */
  batchSize?: number;
  /**
   * Trim the stream after archiving (`XTRIM MINID`). Turn off to keep the stream whole.
   * @default true
   */
  trim?: boolean;
  /**
   * Pause between runs when the stream is caught up.
   * @default 1000
   */
  intervalMs?: number;
  /** Background error sink. @default console.error */
  onError?: (error: unknown) => void;
}

/** What one {@link Archiver.runOnce} did. */
export interface ArchiveRunReport {
  archived: number;
  /** Last archived stream id after the run (undefined when the archive is empty). */
  lastId: string | undefined;
  /** Entries removed from the stream by the trim. */
  trimmed: number;
}

/** Copies a queue's events into the archive and trims the stream behind it. Safe to run in several processes. */
export class Archiver {
  readonly queue: QueueName;
  private readonly task: PeriodicTask;
  /** The last archived record as this archiver knows it; reloaded after a conflict. */
  private state: Pick<ArchiveRecord, 'n' | 'id' | 'hash'> | undefined;
  private loaded = false;

  constructor(private readonly options: ArchiverOptions) {
    this.queue = toQueueName(options.queue);
    const batch = options.batchSize ?? 1000;
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new ValidationError('batchSize', 'must be an integer from 1 to 10000');
    this.task = new PeriodicTask(
      async () => ((await this.runOnce()).archived >= batch ? 0 : undefined),
      (next) => next ?? options.intervalMs ?? 1000,
      options.onError ?? ((error) => console.error(`sluice archiver (queue ${this.queue}):`, describe(error))),
    );
  }

  /** Archives one batch (and trims). */
  async runOnce(): Promise<ArchiveRunReport> {
    const { redis, archive } = this.options;
    const batchSize = this.options.batchSize ?? 1000;
    try {
      await archive.ensureIndexes();
    } catch (error) {
      throw new PayloadStoreUnavailableError('archive ensureIndexes', 1, error);
    }
    if (!this.loaded) {
      const record = await archive.last(this.queue);
      this.state = record && { n: record.n, id: record.id, hash: record.hash };
      this.loaded = true;
    }
    const last = this.state;
    const start = last ? `(${last.id}` : '-';
    const [first] = await redis.xrange(eventsKey(this.queue), '-', '+', 'COUNT', 1);
    if (last && first && compareIds(first[0], last.id) > 0) {
      throw new InvalidStateError(
        `the event stream of queue ${this.queue} starts at ${first[0]}, past the last archived event ${last.id}: ` +
          'it was trimmed by something other than the archiver, and the events in between are not archived',
      );
    }
    const entries = await redis.xrange(eventsKey(this.queue), start, '+', 'COUNT', batchSize);
    if (entries.length === 0) return { archived: 0, lastId: last?.id, trimmed: await this.trim(last?.id) };
    let prev = last?.hash ?? GENESIS_HASH;
    let n = last?.n ?? 0;
    const records: ArchiveRecord[] = [];
    for (const [id, fields] of entries) {
      const event = decodeEvent(id, fields); // a corrupt entry stops archiving here, named
      const raw = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) raw.set(fields[i] as string, fields[i + 1] as string);
      n += 1;
      const record: Omit<ArchiveRecord, 'hash'> = {
        _id: `${this.queue}/${n}`,
        queue: this.queue,
        n,
        id,
        ms: Number(id.split('-')[0]),
        type: event.type,
        v: raw.get('v') ?? '',
        data: raw.get('data') ?? '',
        meta: raw.get('meta') ?? '',
        jobId: event.metadata.jobId,
        seq: event.metadata.seq,
        prev,
      };
      const hash = recordHash(record);
      records.push({ ...record, hash });
      prev = hash;
    }
    try {
      await archive.collection.insertMany(records, { ordered: true, writeConcern: { w: 'majority' } });
    } catch (error) {
      // Another archiver got there first, or an earlier run of ours died after a partial insert:
      // reload the archive's end and go on from there next time.
      this.loaded = false;
      if (isDuplicateKey(error)) return { archived: 0, lastId: last?.id, trimmed: 0 };
      throw error;
    }
    const end = records[records.length - 1] as ArchiveRecord;
    this.state = { n: end.n, id: end.id, hash: end.hash };
    return { archived: records.length, lastId: end.id, trimmed: await this.trim(end.id) };
  }

  private async trim(lastArchivedId: string | undefined): Promise<number> {
    if (this.options.trim === false || lastArchivedId === undefined) return 0;
    // MINID removes entries strictly below the id: the last archived entry stays as the seam.
    // The script holds back while a verify or rebuild replays the queue (see trimEvents.lua).
    return Number(await runScript(this.options.redis, 'trimEvents', this.queue, Date.now(), [lastArchivedId]));
  }

  /** Runs batches in the background until {@link Archiver.stop}. */
  start(): void {
    this.task.start();
  }

  /** Stops the background loop (waits for a batch in progress). */
  stop(): Promise<void> {
    return this.task.stop();
  }
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
