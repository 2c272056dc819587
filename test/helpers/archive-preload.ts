/**
 * Bulk pre-load of an old queue's history, for the growth test and the archive benchmark:
 * archived events built from the events of one real job (same types and shapes, other job ids,
 * ids and times), written as chunk, summary, job-run and head documents in large insertMany
 * batches, plus stored payloads, and the seam entry in the queue's stream so the archiver goes
 * on from there.
 */
import type { PayloadStore } from '../../src/payloads/store.js';
import type { RedisClient } from '../../src/redis/connection.js';
import type { EventArchive } from '../../src/history/archive.js';
import { buildChunk, chunkRecordsOf, GENESIS_HASH, headKey, jobRunsOf, recordHash, summaryOf, type ArchiveDocument, type ChunkDoc, type StoredRecord } from '../../src/history/layout.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';

/** One event of the template job: raw stream fields. */
export interface TemplateEvent {
  type: string;
  v: string;
  data: Record<string, unknown>;
  meta: Record<string, unknown>;
}

/** Reads a job's events from its stream as a template (before any trim). */
export async function templateOf(redis: RedisClient, queue: string, jobId: string): Promise<TemplateEvent[]> {
  const entries = await redis.xrange(eventsKey(toQueueName(queue)), '-', '+');
  const out: TemplateEvent[] = [];
  for (const [, fields] of entries) {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
    const meta = JSON.parse(f.get('meta') ?? '{}') as Record<string, unknown>;
    if (meta.jobId !== jobId) continue;
    out.push({ type: f.get('type') ?? '', v: f.get('v') ?? '1', data: JSON.parse(f.get('data') ?? '{}') as Record<string, unknown>, meta });
  }
  return out;
}

/** What {@link preloadArchive} wrote. */
export interface Preloaded {
  events: number;
  jobs: number;
  chunks: number;
  /** Stream ids of records 1..events (index n-1). */
  idOf: (n: number) => string;
  /** A preloaded job id, for history lookups. */
  jobId: (j: number) => string;
}

/**
 * Writes `events` archived events of `queue` (whose archive and stream must be empty): jobs of
 * the template's events laid out one after the other, `chunkSize` records per chunk, times from
 * `startMs` on (one millisecond per job).
 */
export async function preloadArchive(
  archive: EventArchive,
  redis: RedisClient,
  queue: string,
  template: readonly TemplateEvent[],
  options: { events: number; startMs: number; chunkSize?: number; concurrency?: number },
): Promise<Preloaded> {
  const q = toQueueName(queue);
  const chunkSize = options.chunkSize ?? 1000;
  const perJob = template.length;
  const jobs = Math.ceil(options.events / perJob);
  const idOf = (n: number): string => `${options.startMs + Math.floor((n - 1) / perJob)}-${(n - 1) % perJob}`;
  const jobId = (j: number): string => `pre-${j}`;
  const pending: Promise<unknown>[] = [];
  const flush = async (docs: ArchiveDocument[]): Promise<void> => {
    if (docs.length === 0) return;
    pending.push(archive.collection.insertMany(docs, { ordered: false }));
    if (pending.length >= (options.concurrency ?? 3)) await pending.shift();
  };
  let prev = GENESIS_HASH;
  let chunkPrev = GENESIS_HASH;
  let records: StoredRecord[] = [];
  let chunks: ArchiveDocument[] = [];
  let runs: ArchiveDocument[] = [];
  let k = 0;
  let last: ChunkDoc | undefined;
  const seal = async (): Promise<void> => {
    if (records.length === 0) return;
    k += 1;
    const chunk = buildChunk(q, k, chunkPrev, records);
    last = chunk;
    chunks.push(chunk);
    runs.push(...jobRunsOf(chunk), summaryOf(chunk));
    records = [];
    chunkPrev = prev;
    if (chunks.length >= 10) {
      await flush(chunks);
      chunks = [];
    }
    if (runs.length >= 20_000) {
      await flush(runs);
      runs = [];
    }
  };
  for (let n = 1; n <= options.events; n++) {
    const j = Math.floor((n - 1) / perJob);
    const e = template[(n - 1) % perJob] as TemplateEvent;
    const id = idOf(n);
    const meta = JSON.stringify({ ...e.meta, queue, jobId: jobId(j), time: options.startMs + j });
    const data = JSON.stringify(e.data).replaceAll(String(e.meta.jobId), jobId(j));
    const content = { n, id, type: e.type, v: e.v, data, meta };
    const hash = recordHash({ ...content, prev, queue: q });
    records.push({ ...content, jobId: jobId(j), seq: Number(e.meta.seq), hash });
    prev = hash;
    if (records.length === chunkSize) await seal();
  }
  await seal();
  await flush(chunks);
  await flush(runs);
  await Promise.all(pending);
  const end = last;
  if (end) {
    const all = chunkRecordsOf(end);
    const record = all[all.length - 1] as StoredRecord;
    const before = all[all.length - 2]?.hash ?? end.prev;
    await archive.collection.insertOne({ _id: headKey(q), kind: 'head', queue: q, chunk: end.k, record, prev: before });
    // The seam: the last archived entry stays in the stream, as after the archiver's trim.
    await redis.xadd(eventsKey(q), record.id, 'type', record.type, 'v', record.v, 'data', record.data, 'meta', record.meta);
  }
  return { events: options.events, jobs, chunks: k, idOf, jobId };
}

/** Stores `count` payloads of `bytes` bytes each in `queue`'s payload collection, `batch` per insertMany. */
export async function preloadPayloads(store: PayloadStore, queue: string, count: number, options: { bytes: number; batch?: number }): Promise<void> {
  const batch = options.batch ?? 10_000;
  const filler = 'x'.repeat(Math.max(0, options.bytes - 40));
  for (let i = 0; i < count; i += batch) {
    const items = Array.from({ length: Math.min(batch, count - i) }, (_, b) => ({ id: `pre-${i + b}`, value: { i: i + b, filler } }));
    await store.put(queue, items);
  }
}
