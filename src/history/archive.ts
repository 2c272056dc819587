/**
 * The event archive: MongoDB documents holding every event of every queue, hash-chained per
 * queue, so the Redis stream can be trimmed while replay still covers the whole history.
 *
 * Each record is one stream entry with its raw `type`, `v`, `data` and `meta` fields, a per-queue
 * gapless number `n` (1, 2, …), the hash of the previous record (`prev`) and its own `hash`:
 * `sha256(prev \n queue \n n \n id \n type \n v \n data \n meta)`. Payloads are referenced by id
 * and content hash inside `data`, so a payload can be erased without breaking the chain.
 *
 * Records are stored in chunks of consecutive records with small index documents beside them
 * (layout in src/history/layout.ts, queries in docs/ARCHIVE.md): every read is a point read by
 * `_id`, so reading from a position, finding a stream id and reading one job's history cost
 * O(log n) point reads however long the history grows. The {@link Archiver} (src/audit/archiver.ts)
 * writes them, and trims the stream behind them; while a verify or rebuild replays the queue, the
 * trim stops at the last event it folded (its `replayHold`, see src/events/lua/trimEvents.lua).
 *
 * @packageDocumentation
 */
import type { Collection, Db, MongoClient } from 'mongodb';
import type { QueueName } from '../core/keys.js';
import {
  chunkKey,
  chunkRecordsOf,
  compareIds,
  headKey,
  jobRunKey,
  summaryKey,
  summaryOf,
  type ArchiveDocument,
  type ChunkDoc,
  type HeadDoc,
  type JobRunDoc,
  type StoredRecord,
  type SummaryDoc,
} from './layout.js';

export { compareIds, GENESIS_HASH, recordHash, type ArchiveDocument } from './layout.js';

/** One archived event. */
export interface ArchiveRecord {
  queue: string;
  /** Position in the queue's archive, from 1, gapless. */
  n: number;
  /** Stream entry id. */
  id: string;
  /** Milliseconds part of the stream id. */
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

/** Default archive collection name. */
export const DEFAULT_ARCHIVE_COLLECTION = 'sluice_events';

/** Options of {@link EventArchive}. */
export interface EventArchiveOptions {
  /** A connected MongoClient (the caller closes it). */
  client: MongoClient;
  /** @default 'sluice' */
  database?: string;
  /** @default 'sluice_events' */
  collection?: string;
}

/** The last chunk of a queue and its last record. */
export interface ArchiveTail {
  /** Chunk number. */
  k: number;
  record: ArchiveRecord;
  /** True when chunk k's job runs are known to be written (the head hint is written after them). */
  indexed: boolean;
}

/** An archived record in the shape readers use. */
export function toArchiveRecord(queue: string, r: StoredRecord, prev: string): ArchiveRecord {
  return { queue, n: r.n, id: r.id, ms: Number(r.id.split('-')[0]), type: r.type, v: r.v, data: r.data, meta: r.meta, jobId: r.jobId, seq: r.seq, prev, hash: r.hash };
}

/** The records of a chunk in reader shape, `prev` filled in from the chain. */
export function chunkRecords(chunk: ChunkDoc): ArchiveRecord[] {
  let prev = chunk.prev;
  return chunkRecordsOf(chunk).map((r) => {
    const record = toArchiveRecord(chunk.queue, r, prev);
    prev = r.hash;
    return record;
  });
}

/** Read access to the archive (and the derived documents the archiver writes after each chunk). */
export class EventArchive {
  readonly collection: Collection<ArchiveDocument>;

  constructor(options: EventArchiveOptions) {
    const db: Db = options.client.db(options.database ?? 'sluice');
    this.collection = db.collection<ArchiveDocument>(options.collection ?? DEFAULT_ARCHIVE_COLLECTION);
  }

  /**
   * Kept for compatibility: every archive read is by `_id`, which every MongoDB collection
   * indexes, so there is nothing to create.
   */
  ensureIndexes(): Promise<void> {
    return Promise.resolve();
  }

  /** Chunk `k` of the queue (one point read). */
  async chunk(queue: QueueName, k: number): Promise<ChunkDoc | undefined> {
    return ((await this.collection.findOne({ _id: chunkKey(queue, k) })) as ChunkDoc | null) ?? undefined;
  }

  /** Boundaries of chunk `k`: its summary, or the chunk itself when the summary is not written yet. */
  async summary(queue: QueueName, k: number): Promise<SummaryDoc | undefined> {
    const summary = (await this.collection.findOne({ _id: summaryKey(queue, k) })) as SummaryDoc | null;
    if (summary) return summary;
    const chunk = await this.chunk(queue, k);
    return chunk && summaryOf(chunk);
  }

  /** Whether chunk `k`'s summary is written (then its job runs are too). */
  async hasSummary(queue: QueueName, k: number): Promise<boolean> {
    return (await this.collection.findOne({ _id: summaryKey(queue, k) }, { projection: { _id: 1 } })) !== null;
  }

  /**
   * The queue's last chunk and record: the head hint, then forward probes (summaries by galloping,
   * then the chunks after the last summary). A few point reads.
   */
  async tail(queue: QueueName): Promise<ArchiveTail | undefined> {
    const head = (await this.collection.findOne({ _id: headKey(queue) })) as HeadDoc | null;
    let k = head?.chunk ?? 0;
    let record = head ? toArchiveRecord(queue, head.record, head.prev) : undefined;
    // Usually the hint is current: the next summary and chunk are both missing (read together).
    const [nextSummary, nextChunk] = await Promise.all([this.hasSummary(queue, k + 1), this.chunk(queue, k + 1)]);
    if (!nextSummary && !nextChunk) {
      if (k === 0 || !record) return undefined;
      return { k, record, indexed: true };
    }
    if (nextSummary) {
      // The hint lags (or is missing): find the last summary by galloping, then bisecting.
      let lo = k + 1;
      let step = 1;
      while (await this.hasSummary(queue, lo + step)) {
        lo += step;
        step *= 2;
      }
      let hi = lo + step; // no summary here
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await this.hasSummary(queue, mid)) lo = mid;
        else hi = mid;
      }
      k = lo;
      record = undefined;
    }
    for (;;) {
      const next = await this.chunk(queue, k + 1);
      if (!next) break;
      k += 1;
      record = chunkRecords(next).at(-1);
    }
    if (k === 0) return undefined;
    if (!record) {
      const chunk = await this.chunk(queue, k);
      record = chunk && chunkRecords(chunk).at(-1);
    }
    return record && { k, record, indexed: false };
  }

  /** The queue's last archived record, or undefined when none is. */
  async last(queue: QueueName): Promise<ArchiveRecord | undefined> {
    return (await this.tail(queue))?.record;
  }

  /** Number of records of the queue. */
  async count(queue: QueueName): Promise<number> {
    return (await this.last(queue))?.n ?? 0;
  }

  /** Same as {@link EventArchive.count}; makes the archive usable as the metrics' `ArchiveProgress`. */
  archivedEvents(queue: QueueName): Promise<number> {
    return this.count(queue);
  }

  /**
   * The number of the chunk holding record `n` (1 ≤ n ≤ last), found by interpolation and
   * bisection over the chunk summaries: O(log chunks) point reads of small documents.
   */
  async chunkOf(queue: QueueName, n: number, tail?: ArchiveTail): Promise<number | undefined> {
    const end = tail ?? (await this.tail(queue));
    if (!end || n < 1 || n > end.record.n) return undefined;
    let lo = 1;
    let hi = end.k;
    let nLo = 1;
    let nHi = end.record.n;
    for (let step = 0; lo <= hi; step++) {
      const guess = step % 2 === 0 && nHi > nLo ? lo + Math.floor(((n - nLo) * (hi - lo + 1)) / (nHi - nLo + 1)) : Math.floor((lo + hi) / 2);
      const k = Math.min(hi, Math.max(lo, guess));
      const s = await this.summary(queue, k);
      if (!s) return undefined; // a chunk is missing: verifyAudit names it
      if (n < s.first) {
        hi = k - 1;
        nHi = s.first - 1;
      } else if (n > s.last) {
        lo = k + 1;
        nLo = s.last + 1;
      } else {
        return k;
      }
    }
    return undefined;
  }

  /**
   * Records with n > `afterN`, in order: chunk reads from the chunk holding `afterN + 1` on, the
   * next chunk read while the current one is consumed. Ends at the last chunk.
   * `batchSize` is accepted for compatibility; a read is one chunk.
   */
  async *records(queue: QueueName, afterN: number, _options: { batchSize?: number } = {}): AsyncGenerator<ArchiveRecord> {
    const from = Math.max(1, afterN + 1);
    const start = from === 1 ? 1 : await this.chunkOf(queue, from);
    if (start === undefined) return;
    let k = start;
    // Two chunks read ahead while one is consumed.
    const ahead: Promise<ChunkDoc | undefined>[] = [];
    const fetch = (): void => {
      const read = this.chunk(queue, k);
      read.catch(() => undefined); // awaited later, or dropped when the caller stops early
      ahead.push(read);
      k += 1;
    };
    fetch();
    fetch();
    for (;;) {
      const chunk = await ahead.shift();
      if (!chunk) return;
      fetch();
      for (const record of chunkRecords(chunk)) if (record.n >= from) yield record;
    }
  }

  /** The n of the last record whose stream id is at or below `id` (0 when none). */
  async positionOf(queue: QueueName, id: string): Promise<number> {
    const tail = await this.tail(queue);
    if (!tail) return 0;
    if (compareIds(id, tail.record.id) >= 0) return tail.record.n;
    // The first chunk whose last id is at or above `id`, by bisection over the summaries.
    let lo = 1;
    let hi = tail.k;
    let found: SummaryDoc | undefined;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const s = await this.summary(queue, mid);
      if (!s) return 0;
      if (compareIds(s.lastId, id) >= 0) {
        found = s;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    if (!found) return tail.record.n;
    if (compareIds(found.firstId, id) > 0) return found.first - 1;
    const chunk = await this.chunk(queue, found.k);
    let n = found.first - 1;
    for (const r of chunk ? chunkRecordsOf(chunk) : []) {
      if (compareIds(r.id, id) > 0) break;
      n = r.n;
    }
    return n;
  }

  /**
   * One job's archived records, in order, and the archive's last record at the time of the read.
   * Reads the job's runs (a chain of point reads, see src/history/layout.ts), the chunks they point
   * into, and the last chunk directly (its runs may not be written yet).
   */
  async jobRecords(queue: QueueName, jobId: string): Promise<{ records: ArchiveRecord[]; last: ArchiveRecord | undefined }> {
    const tail = await this.tail(queue);
    if (!tail) return { records: [], last: undefined };
    const wanted = new Map<number, Set<number>>();
    const visited = new Set<number>();
    let frontier = [1];
    while (frontier.length > 0) {
      const seqs = frontier.filter((s) => !visited.has(s));
      for (const s of seqs) visited.add(s);
      const runs = (await Promise.all(seqs.map((s) => this.runsAt(queue, jobId, s)))).flat();
      frontier = [];
      for (const run of runs) {
        if (run.jobId !== jobId || run.k > tail.k || (run.k === tail.k && !tail.indexed)) continue;
        let ns = wanted.get(run.k);
        if (!ns) wanted.set(run.k, (ns = new Set()));
        for (const n of run.ns) ns.add(n);
        frontier.push(run.to + 1);
      }
    }
    const scanTail = !tail.indexed; // the last chunk's runs may not be written yet: read it whole
    const chunks = await Promise.all([...wanted.keys(), ...(scanTail && !wanted.has(tail.k) ? [tail.k] : [])].map((k) => this.chunk(queue, k)));
    const byN = new Map<number, ArchiveRecord>();
    for (const chunk of chunks) {
      if (!chunk) continue;
      const ns = wanted.get(chunk.k);
      for (const record of chunkRecords(chunk)) {
        const wantedHere = scanTail && chunk.k === tail.k ? record.jobId === jobId && record.n <= tail.record.n : ns?.has(record.n) === true;
        if (wantedHere) byN.set(record.n, record);
      }
    }
    return { records: [...byN.values()].sort((a, b) => a.n - b.n), last: tail.record };
  }

  /** Every variant of the job run starting at sequence `s` (variants are taken in order, so the first miss ends them). */
  private async runsAt(queue: QueueName, jobId: string, s: number): Promise<JobRunDoc[]> {
    const runs: JobRunDoc[] = [];
    for (let v = 1; ; v += 2) {
      const pair = await Promise.all([v, v + 1].map((variant) => this.collection.findOne({ _id: jobRunKey(queue, jobId, s, variant) }) as Promise<JobRunDoc | null>));
      for (const run of pair) {
        if (!run) return runs;
        runs.push(run);
      }
    }
  }
}
