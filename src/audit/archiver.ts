/**
 * The archiver: copies a queue's new stream entries into the archive as one chunk per run
 * (insertOne, majority write concern), writes the chunk's summary and job runs, moves the head
 * hint, then trims the stream with `XTRIM MINID <last archived id>`: only entries strictly below
 * an archived one are removed, and the last archived entry stays in the stream as the seam replay
 * uses to detect a trim that happened while it read.
 *
 * Chunk `_id`s are `<queue>/<k>` with k consecutive, so two archivers racing insert each record
 * exactly once (the loser's insert fails on the unique `_id` and it reloads). An archiver that
 * loads its position (at start, after a crash, after losing a race) rewrites the last chunk's
 * summary and job runs first (idempotent), so a chunk's derived documents are complete before the
 * next chunk exists: readers rely on that (see `EventArchive.jobRecords`).
 *
 * @packageDocumentation
 */
import { MongoBulkWriteError } from 'mongodb';
import type { RedisClient } from '../redis/connection.js';
import { describe, InvalidStateError, ValidationError } from '../core/errors.js';
import { decodeEvent } from '../events/codec.js';
import { eventsKey, toQueueName, type QueueName } from '../core/keys.js';
import { PeriodicTask } from '../core/periodic.js';
import { trimEvents } from '../events/commands/index.js';
import {
  buildChunk,
  chunkRecordsOf,
  compareIds,
  GENESIS_HASH,
  headKey,
  jobRunKey,
  jobRunsOf,
  recordHash,
  summaryOf,
  type ArchiveAccess,
  type ChunkDoc,
  type HeadDoc,
  type JobRunDoc,
  type StoredRecord,
} from '../history/layout.js';

/** Options of {@link Archiver}. */
export interface ArchiverOptions {
  /** Redis connection holding the queue (the caller closes it). */
  redis: RedisClient;
  /** The archive (an `EventArchive`). */
  archive: ArchiveAccess;
  queue: string;
  /**
   * Most events per run, i.e. per chunk.
   * @default 1000
   */
  batchSize?: number;
  /**
   * Trim the stream after archiving (`XTRIM MINID`). Turn off to keep the stream whole.
   * @default true
   */
  trim?: boolean;
  /**
   * Pause between runs when the stream is caught up (of {@link Archiver.start}; the service's
   * `ArchiverPool` schedules runs itself).
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

interface Position {
  /** Last chunk number. */
  k: number;
  n: number;
  id: string;
  hash: string;
}

/** Copies a queue's events into the archive and trims the stream behind it. Safe to run in several processes. */
export class Archiver {
  readonly queue: QueueName;
  /** Most events per run. */
  readonly batchSize: number;
  private readonly task: PeriodicTask;
  /** The archive's end as this archiver knows it; reloaded after a conflict. */
  private state: Position | undefined;
  private loaded = false;

  constructor(private readonly options: ArchiverOptions) {
    this.queue = toQueueName(options.queue);
    const batch = options.batchSize ?? 1000;
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new ValidationError('batchSize', 'must be an integer from 1 to 10000');
    this.batchSize = batch;
    this.task = new PeriodicTask(
      async () => ((await this.runOnce()).archived >= batch ? 0 : undefined),
      (next) => next ?? options.intervalMs ?? 1000,
      options.onError ?? ((error) => console.error(`sluice archiver (queue ${this.queue}):`, describe(error))),
    );
  }

  /** Stream id of the last archived event as this archiver knows it (undefined before its first run or when none is). */
  get lastId(): string | undefined {
    return this.state?.id;
  }

  /** Reads the archive's end and completes the last chunk's derived documents. */
  private async load(): Promise<void> {
    const { archive } = this.options;
    const tail = await archive.tail(this.queue);
    this.state = undefined;
    if (tail) {
      if (!(await archive.hasSummary(this.queue, tail.k))) {
        // The run that inserted the last chunk died before its summary: complete its documents.
        const chunk = await archive.chunk(this.queue, tail.k);
        if (chunk) await writeDerived(archive, chunk);
      }
      this.state = { k: tail.k, n: tail.record.n, id: tail.record.id, hash: tail.record.hash };
    }
    this.loaded = true;
  }

  /**
   * Archives one chunk of at most `batchSize` events (and trims). `archived: 0` means the stream
   * is caught up, or another archiver kept winning the race for the next chunk.
   */
  async runOnce(): Promise<ArchiveRunReport> {
    for (let attempt = 1; ; attempt++) {
      const report = await this.attempt();
      if (report !== 'lost') return report;
      // Another archiver inserted the chunk first (or an earlier run of ours, or one that died,
      // did and its insert landed late): reload the archive's end and try again.
      if (attempt === 3) return { archived: 0, lastId: this.state?.id, trimmed: 0 };
    }
  }

  private async attempt(): Promise<ArchiveRunReport | 'lost'> {
    const { redis, archive } = this.options;
    if (!this.loaded) await this.load();
    const stream = eventsKey(this.queue);
    const [first] = await redis.xrange(stream, '-', '+', 'COUNT', 1);
    if (this.state && first && compareIds(first[0], this.state.id) > 0) {
      await this.load(); // another archiver may have archived and trimmed past our position
      if (this.state && compareIds(first[0], this.state.id) > 0) {
        throw new InvalidStateError(
          `the event stream of queue ${this.queue} starts at ${first[0]}, past the last archived event ${this.state.id}: ` +
            'it was trimmed by something other than the archiver, and the events in between are not archived',
        );
      }
    }
    const last = this.state;
    const entries = await redis.xrange(stream, last ? `(${last.id}` : '-', '+', 'COUNT', this.batchSize);
    if (entries.length === 0) return { archived: 0, lastId: last?.id, trimmed: await this.trim(last?.id) };
    let prev = last?.hash ?? GENESIS_HASH;
    let n = last?.n ?? 0;
    const records: StoredRecord[] = [];
    for (const [id, fields] of entries) {
      const event = decodeEvent(id, fields); // a corrupt entry stops archiving here, named
      const raw = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) raw.set(fields[i] as string, fields[i + 1] as string);
      n += 1;
      const content = { n, id, type: event.type, v: raw.get('v') ?? '', data: raw.get('data') ?? '', meta: raw.get('meta') ?? '' };
      const hash = recordHash({ ...content, prev, queue: this.queue });
      records.push({ ...content, jobId: event.metadata.jobId, seq: event.metadata.seq, hash });
      prev = hash;
    }
    const chunk = buildChunk(this.queue, (last?.k ?? 0) + 1, last?.hash ?? GENESIS_HASH, records);
    try {
      await archive.collection.insertOne(chunk, { writeConcern: { w: 'majority' } });
    } catch (error) {
      this.loaded = false;
      if (isDuplicateKey(error)) return 'lost';
      throw error;
    }
    await writeDerived(archive, chunk);
    this.state = { k: chunk.k, n: chunk.last, id: chunk.lastId, hash: prev };
    return { archived: records.length, lastId: chunk.lastId, trimmed: await this.trim(chunk.lastId) };
  }

  private async trim(lastArchivedId: string | undefined): Promise<number> {
    if (this.options.trim === false || lastArchivedId === undefined) return 0;
    // MINID removes entries strictly below the id: the last archived entry stays as the seam.
    // The script holds back while a verify or rebuild replays the queue (see trimEvents.lua).
    return trimEvents(this.options.redis, this.queue, Date.now(), lastArchivedId);
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

/**
 * Writes a chunk's summary and job runs and moves the head hint to it. Idempotent: documents
 * already there are left alone; a job run slot taken by another job of the same id (published
 * again after removal) moves the run to the next free variant.
 */
export async function writeDerived(archive: ArchiveAccess, chunk: ChunkDoc): Promise<void> {
  // The job runs first, the summary after them: a summary means the chunk's runs are all there.
  const runs = jobRunsOf(chunk);
  try {
    await archive.collection.insertMany(runs, { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const reported: unknown = error.writeErrors;
    const errors = (Array.isArray(reported) ? reported : [reported]) as { code: number; index: number }[];
    if (errors.some((e) => e.code !== 11000)) throw error;
    const taken = errors.map((e) => runs[e.index]).filter((run) => run !== undefined);
    for (let i = 0; i < taken.length; i += 32) await Promise.all(taken.slice(i, i + 32).map((run) => placeRun(archive, run)));
  }
  try {
    await archive.collection.insertOne(summaryOf(chunk));
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
  }
  const records = chunkRecordsOf(chunk);
  const record = records[records.length - 1] as StoredRecord;
  const prev = records.length > 1 ? (records[records.length - 2] as StoredRecord).hash : chunk.prev;
  const head: Omit<HeadDoc, '_id'> = { kind: 'head', queue: chunk.queue, chunk: chunk.k, record, prev };
  try {
    // Only forward; a racing archiver may still move it back a little (a hint; readers probe forward).
    await archive.collection.updateOne({ _id: headKey(chunk.queue), chunk: { $lt: chunk.k } }, { $set: head }, { upsert: true });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error; // the head is at or past this chunk already
  }
}

/** Inserts a job run whose first slot is taken: the slot already holds it, or the next free variant gets it. */
async function placeRun(archive: ArchiveAccess, run: JobRunDoc): Promise<void> {
  for (let variant = 1; variant < 10_000; variant++) {
    const _id = jobRunKey(run.queue, run.jobId, run.from, variant);
    const existing = (await archive.collection.findOne({ _id })) as JobRunDoc | null;
    if (existing) {
      if (existing.k === run.k && existing.to === run.to && existing.ns.join() === run.ns.join()) return;
      continue;
    }
    try {
      await archive.collection.insertOne({ ...run, _id });
      return;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      variant -= 1; // inserted by someone else meanwhile: look at it again
    }
  }
  throw new InvalidStateError(`job ${run.jobId} of queue ${run.queue} has too many runs starting at sequence ${run.from}`);
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}
