import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { MongoClient } from 'mongodb';
import { firstValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Redis } from 'ioredis';
import { Archiver } from '../../src/audit/archiver.js';
import { compareIds, EventArchive, recordHash, type ArchiveRecord } from '../../src/history/archive.js';
import type { ChunkDoc, StoredRecord } from '../../src/history/layout.js';
import { exportNdjson, jobHistory, replay$ } from '../../src/history/replay.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { Worker } from '../../src/consumers/worker.js';
import { eventsKey, toQueueName, type QueueName } from '../../src/core/keys.js';
import { Queue } from '../../src/queue/queue.js';
import { Child } from '../helpers/child.js';
import { dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';

let redis: Redis;
let client: MongoClient;
let archive: EventArchive;
let collections = 0;
const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = testRedis();
  client = new MongoClient(inject('mongoUrl'));
  await client.connect();
});
afterAll(async () => {
  await client.db(database).dropDatabase();
  await client.close();
  await redis.quit();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(): { name: string; queue: Queue } {
  // A collection per test: FerretDB scans a whole collection per query, so tests keep theirs small.
  archive = new EventArchive({ client, database, collection: `events_${++collections}` });
  const name = testQueueName();
  const queue = new Queue(name, { connection: redis });
  cleanups.push(async () => {
    await queue.close();
    await dropQueue(redis, name);
  });
  return { name, queue };
}

/** Publishes `jobs` delayed jobs: two events each (created, scheduled). */
async function publishDelayed(queue: Queue, jobs: number): Promise<void> {
  for (let i = 0; i < jobs; i += 5000) {
    await queue.publishMany(Array.from({ length: Math.min(5000, jobs - i) }, () => ({ name: 'd', opts: { delayMs: 3_600_000 } })));
  }
}

async function streamIds(name: string): Promise<string[]> {
  const ids: string[] = [];
  let start = '-';
  for (;;) {
    const batch = await redis.xrange(eventsKey(toQueueName(name)), start, '+', 'COUNT', 10_000);
    ids.push(...batch.map(([id]) => id));
    if (batch.length < 10_000) return ids;
    start = `(${ids[ids.length - 1] ?? ''}`;
  }
}

async function allRecords(name: string): Promise<ArchiveRecord[]> {
  const records: ArchiveRecord[] = [];
  for await (const record of archive.records(toQueueName(name), 0)) records.push(record);
  return records;
}

async function chunkHolding(queue: QueueName, n: number): Promise<ChunkDoc> {
  const k = await archive.chunkOf(queue, n);
  const chunk = k === undefined ? undefined : await archive.chunk(queue, k);
  if (!chunk) throw new Error(`no chunk holds record ${n}`);
  return chunk;
}

/** Replaces a chunk's records (as someone with write access to the database could). */
async function editChunk(original: ChunkDoc, edit: (records: StoredRecord[]) => StoredRecord[]): Promise<void> {
  const records = (JSON.parse(original.body) as StoredRecord[]).map((r) => ({ ...r }));
  const replacement: ChunkDoc = { ...original, body: JSON.stringify(edit(records)) };
  await archive.collection.replaceOne({ _id: original._id }, replacement);
}

async function archiveAll(archiver: Archiver): Promise<number> {
  let total = 0;
  for (;;) {
    const { archived } = await archiver.runOnce();
    if (archived === 0) return total;
    total += archived;
  }
}

describe('archive and replay', () => {
  it('replays a 50,000-event history exactly once, in order, while the archiver archives and trims under it', { timeout: 180_000 }, async () => {
    const { name, queue } = setup();
    await publishDelayed(queue, 25_000);
    const all = await streamIds(name);
    expect(all).toHaveLength(50_000);
    const archiver = new Archiver({ redis, archive, queue: name, batchSize: 2000 });
    // Archive (and trim) a first part before replay starts …
    for (let i = 0; i < 5; i++) await archiver.runOnce();
    expect(await redis.xlen(eventsKey(toQueueName(name)))).toBeLessThan(50_000);
    // … and keep archiving while replay reads, so the boundary moves under it.
    const background = (async () => {
      while ((await archiver.runOnce()).archived > 0) await new Promise((r) => setTimeout(r, 5));
    })();
    const events = await firstValueFrom(replay$({ redis, archive, queue: name }, { batchSize: 700 }).pipe(toArray()));
    await background;
    expect(events.map((e) => e.id)).toEqual(all);
    expect(await redis.xlen(eventsKey(toQueueName(name)))).toBe(1); // only the seam is left
    // Time range and type filters.
    const created = await firstValueFrom(replay$({ redis, archive, queue: name }, { types: ['created'] }).pipe(toArray()));
    expect(created).toHaveLength(25_000);
  });

  it("a job's history is complete after its early events were archived and trimmed", async () => {
    const { name, queue } = setup();
    const { id } = await queue.publish('audited', undefined, { delayMs: 150 });
    await publishDelayed(queue, 100);
    const archiver = new Archiver({ redis, archive, queue: name });
    await archiveAll(archiver);
    const w = new Worker(name, () => undefined, { connection: redis, blockMs: 100, promoteIntervalMs: 20 });
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    await w.close();
    const history = await jobHistory({ redis, archive, queue: name }, id);
    expect(history.map((e) => e.type)).toEqual(['created', 'scheduled', 'promoted', 'claimed', 'completed']);
    expect(history.map((e) => e.metadata.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('follows the live tail after the history when asked', async () => {
    const { name, queue } = setup();
    await queue.publish('before', undefined);
    await archiveAll(new Archiver({ redis, archive, queue: name }));
    const seen: string[] = [];
    const subscription = replay$({ redis, archive, queue: name }, { follow: true }).subscribe((e) => seen.push(e.type));
    await waitFor(() => seen.length === 1);
    await queue.publish('after', undefined);
    await waitFor(() => seen.length === 2);
    subscription.unsubscribe();
    expect(seen).toEqual(['created', 'created']);
  });

  it('exports NDJSON, one event per line', async () => {
    const { name, queue } = setup();
    await publishDelayed(queue, 10);
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    expect(await exportNdjson({ redis, archive, queue: name }, {}, out)).toBe(20);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; metadata: { queue: string } });
    expect(lines).toHaveLength(20);
    expect(lines[0]?.metadata.queue).toBe(name);
  });
});

describe('chunked archive', () => {
  it('two archivers racing archive every record exactly once, and reads by position and stream id agree with the stream', { timeout: 120_000 }, async () => {
    const { name, queue } = setup();
    await publishDelayed(queue, 3000);
    const all = await streamIds(name);
    const racers = [137, 250].map((batchSize) => new Archiver({ redis, archive, queue: name, batchSize }));
    await Promise.all(racers.map((a) => archiveAll(a)));
    await archiveAll(racers[0] as Archiver);
    const q = toQueueName(name);
    const records = await allRecords(name);
    expect(records.map((r) => r.id)).toEqual(all);
    expect(records.map((r) => r.n)).toEqual(all.map((_, i) => i + 1));
    expect(await archive.count(q)).toBe(all.length);
    expect((await verifyAudit(archive, q)).ok).toBe(true);
    expect((await verifyAudit(archive, q, { fromN: 2500, toN: 4000 })).checked).toBe(1501);
    // Reading from a position and locating stream ids land on the right records.
    for (const n of [1, 136, 137, 138, 2999, all.length - 1, all.length]) {
      const first = await archive.records(q, n - 1).next();
      expect(first.value).toMatchObject({ n, id: all[n - 1] });
      expect(await archive.positionOf(q, all[n - 1] as string)).toBe(n);
    }
    expect(await archive.positionOf(q, '0-1')).toBe(0);
    expect(await archive.positionOf(q, '99999999999999-0')).toBe(all.length);
  });

  it("a job id published again after removal: the history holds both jobs' events, in order", async () => {
    const { name, queue } = setup();
    const archiver = new Archiver({ redis, archive, queue: name, batchSize: 3 });
    await queue.publish('first', undefined, { jobId: 'reused/1', delayMs: 3_600_000 });
    await archiveAll(archiver);
    await publishDelayed(queue, 2);
    await queue.remove('reused/1');
    await archiveAll(archiver);
    await queue.publish('second', undefined, { jobId: 'reused/1', delayMs: 3_600_000 });
    await publishDelayed(queue, 3);
    await archiveAll(archiver);
    await queue.remove('reused/1');
    await archiveAll(archiver);
    const history = await jobHistory({ redis, archive, queue: name }, 'reused/1');
    expect(history.map((e) => `${e.type}:${e.metadata.seq}`)).toEqual(['created:1', 'scheduled:2', 'removed:3', 'created:1', 'scheduled:2', 'removed:3']);
    expect(history.map((e) => e.id)).toEqual([...history.map((e) => e.id)].sort(compareIds));
    expect((await verifyAudit(archive, name)).ok).toBe(true);
  });
});

describe('archiver faults', () => {
  it('killed mid-batch and restarted: nothing missing, nothing duplicated, never trimmed above the archived point', async () => {
    const { name, queue } = setup();
    await publishDelayed(queue, 10_000);
    const all = await streamIds(name);
    const child = new Child('archiver-process.ts', {
      REDIS_URL: inject('redisUrl'),
      MONGO_URL: inject('mongoUrl'),
      DATABASE: database,
      COLLECTION: archive.collection.collectionName,
      QUEUE: name,
      BATCH: '500',
    });
    cleanups.push(() => child.kill());
    await child.waitForLine(/^batch [1-9]/);
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 300));
    child.signal('SIGKILL');
    await child.exited();
    // Whatever the kill interrupted, the stream still starts at or below the archived point.
    const lastBefore = await archive.last(toQueueName(name));
    const [first] = await redis.xrange(eventsKey(toQueueName(name)), '-', '+', 'COUNT', 1);
    expect(lastBefore).toBeDefined();
    expect(first && lastBefore && (first[0] === lastBefore.id || all.indexOf(first[0]) <= all.indexOf(lastBefore.id))).toBe(true);
    await archiveAll(new Archiver({ redis, archive, queue: name, batchSize: 500 }));
    const records = await allRecords(name);
    expect(records.map((r) => r.id)).toEqual(all);
    expect(records.map((r) => r.n)).toEqual(all.map((_, i) => i + 1));
    expect((await verifyAudit(archive, name)).ok).toBe(true);
  });
});

describe('tamper evidence', () => {
  it('an intact archive of 100,000 events verifies clean', { timeout: 180_000 }, async () => {
    const { name, queue } = setup();
    await publishDelayed(queue, 50_000);
    await archiveAll(new Archiver({ redis, archive, queue: name, batchSize: 5000 }));
    const report = await verifyAudit(archive, name);
    expect(report).toEqual({ queue: name, checked: 100_000, ok: true });
  });

  it('names the record that was altered, deleted or reordered', async () => {
    const { name, queue } = setup();
    await publishDelayed(queue, 50);
    await archiveAll(new Archiver({ redis, archive, queue: name }));
    const q = toQueueName(name);
    expect((await verifyAudit(archive, q)).ok).toBe(true);

    // Altered: the data of record 37 changes.
    const original = await chunkHolding(q, 37);
    await editChunk(original, (records) => records.map((r) => (r.n === 37 ? { ...r, data: r.data.replace('delay', 'retry') } : r)));
    expect((await verifyAudit(archive, q)).broken).toMatchObject({ n: 37, reason: expect.stringMatching(/altered/) as unknown });
    await editChunk(original, (records) => records);
    expect((await verifyAudit(archive, q)).ok).toBe(true);

    // Deleted: record 60 disappears.
    await editChunk(original, (records) => records.filter((r) => r.n !== 60));
    expect((await verifyAudit(archive, q)).broken).toMatchObject({ n: 60, reason: expect.stringMatching(/missing/) as unknown });
    await editChunk(original, (records) => records);

    // Reordered: records 10 and 11 swap places (their numbers and hashes recomputed to look valid).
    await editChunk(original, (records) => {
      const i = records.findIndex((r) => r.n === 10);
      const [before, a, b] = [records[i - 1], records[i], records[i + 1]];
      if (!before || !a || !b) throw new Error('records missing');
      const swappedA = { ...b, n: a.n };
      swappedA.hash = recordHash({ ...swappedA, prev: before.hash, queue: q });
      const swappedB = { ...a, n: b.n };
      swappedB.hash = recordHash({ ...swappedB, prev: swappedA.hash, queue: q });
      return records.map((r) => (r === a ? swappedA : r === b ? swappedB : r));
    });
    const report = await verifyAudit(archive, q);
    expect(report.ok).toBe(false);
    expect(report.broken?.n).toBe(12); // record 12 still chains from the original record 11
  });
});
