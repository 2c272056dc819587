/**
 * The MongoDB {@link PayloadStore}, over the official driver.
 *
 * One collection per queue, `<prefix>_<queue>` by default. A payload document is
 * `{_id, queue, encoding, data: Binary, size, hash, createdAt, storedAt}`: `data` holds the bytes
 * (UTF-8 JSON text for JSON values, see `encoding.ts`), `storedAt` is when a put last stored or
 * re-confirmed it — what the orphan sweep's grace period is measured against.
 *
 * Writes are idempotent by id: a batch is one unordered `insertMany`; a duplicate key whose stored
 * hash equals the new one is the same payload stored by an earlier attempt and counts as stored,
 * a different hash is a {@link PayloadConflictError}. That is what makes retrying a batch after a
 * network error (which may or may not have been applied) safe.
 */
import {
  Binary,
  MongoBulkWriteError,
  MongoClient,
  MongoTopologyClosedError,
  ReadPreference,
  type Collection,
  type InsertManyResult,
  type MongoClientOptions,
  type WriteConcernSettings,
  type WriteError,
} from 'mongodb';
import { systemClock, type Clock } from '../core/clock.js';
import { ClosedError, describe, PayloadConflictError, PayloadNotFoundError, PayloadStoreUnavailableError, ValidationError } from '../core/errors.js';
import type { PayloadRef } from '../events/types.js';
import { toQueueName, type QueueName } from '../core/keys.js';
import {
  decodeValue,
  distinctIds,
  encodeItems,
  readGroup,
  refId,
  toMaxPayloadBytes,
  toNonNegativeInteger,
  type EncodedPayload,
} from './encoding.js';
import { toRetryPolicy, TransientStoreError, withRetry, wraps, type RetryOptions, type RetryPolicy } from './retry.js';
import type {
  PayloadInput,
  PayloadStore,
  PayloadStoreHealth,
  PayloadValue,
  SweepOrphansOptions,
  SweepResult,
} from './store.js';
import { DEFAULT_COLLECTION_PREFIX, DEFAULT_ORPHAN_GRACE_MS, defaultCollectionName } from './store.js';

/**
 * Client options applied when the store creates its own client, unless the URL or
 * `clientOptions` set them: a dead server fails an attempt in about two seconds, not the
 * driver's thirty, and a hung one in ten.
 */
export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  serverSelectionTimeoutMS: 2000,
  connectTimeoutMS: 2000,
  socketTimeoutMS: 10_000,
} satisfies MongoClientOptions);

/** Options of {@link MongoPayloadStore}. Pass exactly one of `url` and `client`. */
export interface MongoPayloadStoreOptions {
  /**
   * MongoDB connection string (single server or replica set, `mongodb://` or `mongodb+srv://`).
   * The store creates the client and closes it in {@link MongoPayloadStore.close}.
   */
  url?: string;
  /** An existing client. The store uses it but never closes it: its owner does, after the store. */
  client?: MongoClient;
  /**
   * Extra options for the client the store creates from `url`; they win over
   * {@link DEFAULT_CLIENT_OPTIONS}. Not allowed with `client`.
   * @default {}
   */
  clientOptions?: MongoClientOptions;
  /**
   * Database holding the payload collections.
   * @default 'sluice'
   */
  database?: string;
  /**
   * Prefix of the default collection names.
   * @default 'sluice_payloads'
   */
  collectionPrefix?: string;
  /**
   * Maps a queue to its collection name.
   * @default queue => `${collectionPrefix}_${queue}`
   */
  collectionName?: (queue: QueueName) => string;
  /**
   * Write concern of every write. `w: 0` is refused: a put must know it was stored.
   * @default { w: 'majority' }
   */
  writeConcern?: WriteConcernSettings;
  /**
   * Largest payload accepted, in bytes (at most `MAX_PAYLOAD_BYTES`, 16 MiB − 16 KiB).
   * @default MAX_PAYLOAD_BYTES
   */
  maxPayloadBytes?: number;
  /**
   * Retry policy for transient failures.
   * @default DEFAULT_RETRY (5 attempts, 100 ms base delay, 2 s max delay, 10 s budget)
   */
  retry?: RetryOptions;
  /**
   * Source of `createdAt`/`storedAt` and of the sweep's cutoff. Retry budgets
   * always use the real time.
   * @default systemClock
   */
  clock?: Clock;
}

/** A payload document as stored. */
interface PayloadDocument {
  _id: string;
  queue: string;
  encoding: PayloadRef['encoding'];
  data: Binary;
  size: number;
  hash: string;
  /** First stored. */
  createdAt: Date;
  /** Last stored or re-confirmed by an idempotent put; the orphan sweep's clock. */
  storedAt: Date;
  /** The job the payload was published with (absent for results and direct puts). */
  jobId?: string;
  /** Search terms (`path=<JSON>`, see terms.ts), served by the multikey index `terms_1`. */
  terms?: string[];
  /** Read group of a generated batch id ({@link readGroup}); absent for other ids. */
  group?: string;
}

const DUPLICATE_KEY = 11000;
// Statements per bulk delete/update command: the driver splits larger batches anyway
// (maxWriteBatchSize), and a retried attempt repeats at most this many.
const MAX_OPS_PER_WRITE = 10_000;
// Point reads in flight per getMany (the driver's pool holds 100 connections by default).
const READ_CONCURRENCY = 32;
// Ids of one read group asked for together from which a getMany reads the group with one query.
const MIN_GROUP_READ = 4;

/** The MongoDB payload store. See the module comment for the document layout and write rules. */
export class MongoPayloadStore implements PayloadStore {
  /** The driver client (shared or owned). */
  readonly client: MongoClient;
  /** True when the store created the client and closes it in {@link MongoPayloadStore.close}. */
  readonly ownsClient: boolean;
  /** Name of the database holding the payload collections. */
  readonly database: string;
  private readonly nameOf: (queue: QueueName) => string;
  private readonly writeConcern: WriteConcernSettings;
  private readonly maxPayloadBytes: number;
  private readonly retry: RetryPolicy;
  private readonly clock: Clock;
  private readonly collections = new Map<string, Collection<PayloadDocument>>();
  private readonly indexes = new Map<string, Promise<void>>();
  private reconnect = false;
  private closed = false;

  /** @throws {@link ValidationError} for bad options or an unparsable URL. Does not connect. */
  constructor(options: MongoPayloadStoreOptions) {
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new ValidationError('url', 'pass exactly one of url and client');
    }
    if (options.client) {
      if (options.clientOptions) throw new ValidationError('clientOptions', 'only apply to a client created from url');
      this.client = options.client;
      this.ownsClient = false;
    } else {
      this.client = createClient(options.url, options.clientOptions ?? {});
      this.ownsClient = true;
    }
    this.database = toName(options.database ?? 'sluice', 'database', /^[^/\\. "$*<>:|?\0]{1,63}$/);
    const prefix = options.collectionPrefix ?? DEFAULT_COLLECTION_PREFIX;
    toName(prefix, 'collectionPrefix', /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/);
    this.nameOf = options.collectionName ?? ((queue) => defaultCollectionName(queue, prefix));
    this.writeConcern = options.writeConcern ?? { w: 'majority' };
    if (this.writeConcern.w === 0) throw new ValidationError('writeConcern.w', 'must not be 0: a put must know it was stored');
    this.maxPayloadBytes = toMaxPayloadBytes(options.maxPayloadBytes);
    this.retry = toRetryPolicy(options.retry);
    this.clock = options.clock ?? systemClock;
  }

  put(queue: string, item: PayloadInput): Promise<PayloadRef>;
  put(queue: string, items: readonly PayloadInput[]): Promise<PayloadRef[]>;
  async put(queue: string, items: PayloadInput | readonly PayloadInput[]): Promise<PayloadRef | PayloadRef[]> {
    this.assertOpen();
    const name = toQueueName(queue);
    const single = !Array.isArray(items);
    const encoded = encodeItems(items, this.maxPayloadBytes);
    if (encoded.length > 0) {
      const collection = this.collection(name);
      await this.run('put', () => this.insert(collection, name, encoded));
    }
    const refs = encoded.map((e) => ({ ...e.ref }));
    return single ? (refs[0] as PayloadRef) : refs;
  }

  async get(queue: string, ref: PayloadRef | string): Promise<PayloadValue> {
    this.assertOpen();
    const name = toQueueName(queue);
    const id = refId(ref, 'ref');
    const collection = this.collection(name);
    const doc = await this.run('get', () => collection.findOne({ _id: id }));
    if (!doc) throw new PayloadNotFoundError(collection.collectionName, id);
    return this.decode(collection, ref, doc);
  }

  async getMany(queue: string, refs: readonly (PayloadRef | string)[]): Promise<Map<string, PayloadValue>> {
    this.assertOpen();
    const name = toQueueName(queue);
    const ids = distinctIds(refs, 'refs');
    const collection = this.collection(name);
    const docs = new Map<string, PayloadDocument>();
    // Equality reads only, never $in: every server serves an equality on an indexed field from the
    // index, while FerretDB (the embedded server) does not push $in down to its storage and would
    // read the whole collection for it. Payloads published in one batch and claimed together are
    // read by group, find({group}) (at most READ_GROUP_SIZE documents); the others one
    // findOne({_id}) each, in parallel.
    const byGroup = new Map<string, string[]>();
    const points: string[] = [];
    for (const id of ids) {
      const group = readGroup(id);
      if (group === undefined) points.push(id);
      else byGroup.set(group, [...(byGroup.get(group) ?? []), id]);
    }
    const groups = [...byGroup].filter(([, members]) => members.length >= MIN_GROUP_READ);
    for (const [, members] of byGroup) if (members.length < MIN_GROUP_READ) points.push(...members);
    if (groups.length > 0) {
      await this.ensureIndex(collection, 'group');
      const wanted = new Set(ids);
      const found = await mapLimit(groups, READ_CONCURRENCY, ([group]) => this.run('getMany', () => collection.find({ group }).toArray()));
      for (const doc of found.flat()) if (wanted.has(doc._id)) docs.set(doc._id, doc);
      // Missing from its group (absent, or stored without the field): asked for by _id.
      for (const [, members] of groups) points.push(...members.filter((id) => !docs.has(id)));
    }
    const found = await mapLimit(points, READ_CONCURRENCY, (id) => this.run('getMany', () => collection.findOne({ _id: id })));
    for (const doc of found) if (doc) docs.set(doc._id, doc);
    const values = new Map<string, PayloadValue>();
    for (const ref of refs) {
      const doc = docs.get(typeof ref === 'string' ? ref : ref.id);
      if (doc) values.set(doc._id, this.decode(collection, ref, doc));
    }
    return values;
  }

  async delete(queue: string, ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const name = toQueueName(queue);
    const distinct = distinctIds(ids, 'ids');
    const collection = this.collection(name);
    let deleted = 0;
    // One delete command of deleteOne({_id}) statements: each is an _id lookup on every server.
    for (const chunk of chunks(distinct, MAX_OPS_PER_WRITE)) {
      const ops = chunk.map((id) => ({ deleteOne: { filter: { _id: id } } }));
      const result = await this.run('delete', () => collection.bulkWrite(ops, { ordered: false }));
      deleted += result.deletedCount;
    }
    return deleted;
  }

  async sweepOrphans(queue: string, options: SweepOrphansOptions): Promise<SweepResult> {
    this.assertOpen();
    const name = toQueueName(queue);
    const grace = toNonNegativeInteger(options.olderThanMs ?? DEFAULT_ORPHAN_GRACE_MS, 'olderThanMs');
    const batchSize = toNonNegativeInteger(options.batchSize ?? 1000, 'batchSize', 1);
    const collection = this.collection(name);
    await this.ensureIndex(collection, 'storedAt');
    const cutoff = new Date(this.clock.now() - grace);
    let examined = 0;
    let deleted = 0;
    // One pass of one cursor, in pages of batchSize: on MongoDB the storedAt_1 index serves the
    // range; FerretDB, which pushes no range down, reads the collection once per sweep (paging
    // with a new query per page would read it once per page). A transient failure restarts the
    // pass (deletes are idempotent; `examined` then counts the re-read payloads again).
    await this.run('sweepOrphans', async () => {
      const cursor = collection.find({ storedAt: { $lt: cutoff } }, { projection: { _id: 1 }, batchSize });
      try {
        let page: string[] = [];
        const sweepPage = async (): Promise<void> => {
          const ids = page;
          page = [];
          examined += ids.length;
          const referenced = await options.isReferenced(ids);
          const orphans = ids.filter((id) => !referenced.has(id));
          if (orphans.length === 0) return;
          // The age is checked again by the delete itself: a put that re-confirmed a payload after
          // the page was read moved its storedAt past the cutoff, and the payload survives.
          const ops = orphans.map((id) => ({ deleteOne: { filter: { _id: id, storedAt: { $lt: cutoff } } } }));
          deleted += (await collection.bulkWrite(ops, { ordered: false })).deletedCount;
        };
        for await (const doc of cursor) {
          page.push(doc._id);
          if (page.length === batchSize) await sweepPage();
        }
        if (page.length > 0) await sweepPage();
      } finally {
        await cursor.close().catch(() => undefined);
      }
    });
    return { examined, deleted };
  }

  async health(): Promise<PayloadStoreHealth> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    if (this.closed) return { ok: false, latencyMs: 0, error: 'MongoDB payload store is closed' };
    try {
      await this.attempt(() => this.client.db(this.database).command({ ping: 1 }));
      return { ok: true, latencyMs: elapsed() };
    } catch (error) {
      return { ok: false, latencyMs: elapsed(), error: describe(error) };
    }
  }

  /** Closes the client when the store created it; otherwise leaves it to its owner. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) await this.client.close();
  }

  /** The collection holding `queue`'s payloads. */
  collectionName(queue: string): string {
    return this.collection(toQueueName(queue)).collectionName;
  }

  private collection(queue: QueueName): Collection<PayloadDocument> {
    let collection = this.collections.get(queue);
    if (!collection) {
      const name = toName(this.nameOf(queue), 'collectionName', /^(?!system\.)[^$\0]{1,200}$/);
      collection = this.client.db(this.database).collection<PayloadDocument>(name, {
        writeConcern: this.writeConcern,
        // A payload must be readable as soon as put resolves, whatever the URL's read preference.
        readPreference: ReadPreference.primary,
      });
      this.collections.set(queue, collection);
    }
    return collection;
  }

  /** Inserts the batch; a duplicate with the same hash counts as stored. */
  private async insert(
    collection: Collection<PayloadDocument>,
    queue: QueueName,
    encoded: readonly EncodedPayload[],
  ): Promise<void> {
    const now = new Date(this.clock.now());
    const docs = encoded.map(
      ({ ref, bytes, jobId, terms }): PayloadDocument => ({
        ...(jobId === undefined ? {} : { jobId }),
        ...(terms === undefined || terms.length === 0 ? {} : { terms: [...terms] }),
        _id: ref.id,
        queue,
        encoding: ref.encoding,
        data: new Binary(bytes),
        size: ref.size,
        hash: ref.hash,
        createdAt: now,
        storedAt: now,
        ...optional('group', readGroup(ref.id)),
      }),
    );
    let result: InsertManyResult<PayloadDocument>;
    try {
      result = await collection.insertMany(docs, { ordered: false });
    } catch (error) {
      await this.confirm(collection, onlyDuplicates(error, docs), now);
      return;
    }
    if (!result.acknowledged || result.insertedCount !== docs.length) {
      // Cannot happen with an acknowledged write concern; guarded because success must be proven.
      throw new PayloadStoreUnavailableError(
        'put',
        1,
        new Error(`the server acknowledged ${result.insertedCount} of ${docs.length} inserts`),
      );
    }
  }

  /**
   * Checks that each duplicate holds the same hash as the payload being put, then moves its
   * `storedAt` to `now` so the orphan sweep gives it a new grace period.
   */
  private async confirm(
    collection: Collection<PayloadDocument>,
    duplicates: readonly PayloadDocument[],
    now: Date,
  ): Promise<void> {
    const ids = duplicates.map((doc) => doc._id);
    const stored = await mapLimit(ids, READ_CONCURRENCY, (id) => collection.findOne({ _id: id }, { projection: { hash: 1, encoding: 1 } }));
    const byId = new Map(stored.flatMap((doc) => (doc ? [[doc._id, doc] as const] : [])));
    for (const doc of duplicates) {
      const existing = byId.get(doc._id);
      if (existing && (existing.hash !== doc.hash || existing.encoding !== doc.encoding)) {
        throw new PayloadConflictError(
          collection.collectionName,
          doc._id,
          `already holds different content (${existing.encoding} ${existing.hash}, not ${doc.encoding} ${doc.hash}); ` +
            'payload ids are write-once',
        );
      }
    }
    // $max: never moves storedAt backwards when a concurrent put confirmed it later.
    let matched = 0;
    for (const chunk of chunks(ids, MAX_OPS_PER_WRITE)) {
      const ops = chunk.map((id) => ({ updateOne: { filter: { _id: id }, update: { $max: { storedAt: now } } } }));
      matched += (await collection.bulkWrite(ops, { ordered: false })).matchedCount;
    }
    if (matched < ids.length) {
      // Deleted (e.g. swept) since the insert: the next attempt inserts it again.
      throw new TransientStoreError(
        `${ids.length - matched} of ${ids.length} duplicate payload(s) vanished while being re-confirmed`,
      );
    }
  }

  private decode(collection: Collection<PayloadDocument>, ref: PayloadRef | string, doc: PayloadDocument): PayloadValue {
    if (typeof ref !== 'string' && (ref.hash !== doc.hash || ref.encoding !== doc.encoding)) {
      throw new PayloadConflictError(
        collection.collectionName,
        doc._id,
        `holds ${doc.encoding} ${doc.hash}, not the ${ref.encoding} ${ref.hash} the reference was issued for`,
      );
    }
    const data: unknown = doc.data;
    const bytes = data instanceof Binary ? data.value() : data instanceof Uint8Array ? data : undefined;
    if (!bytes || (doc.encoding !== 'json' && doc.encoding !== 'binary')) {
      throw new PayloadConflictError(collection.collectionName, doc._id, 'is not a Sluice payload document');
    }
    return decodeValue(doc.encoding, bytes);
  }

  /**
   * Ids of jobs whose payload holds one of `terms` (see `terms.ts`): one equality query per term
   * on the multikey index `terms_1` (created here on first use), at most `limit` ids each, in
   * document id order after skipping `skip`.
   */
  async findJobsByTerms(queue: string, terms: readonly string[], options: { limit: number; skip?: number }): Promise<string[]> {
    this.assertOpen();
    const collection = this.collection(toQueueName(queue));
    await this.ensureIndex(collection, 'terms');
    const ids = new Set<string>();
    for (const term of terms) {
      const docs = await this.run('find', () =>
        collection
          .find({ terms: term }, { projection: { jobId: 1 } })
          .skip(options.skip ?? 0)
          .limit(options.limit)
          .toArray(),
      );
      for (const doc of docs) if (typeof doc.jobId === 'string') ids.add(doc.jobId);
    }
    return [...ids];
  }

  /** Creates (once per collection and store) the index on `field`: `storedAt` for the orphan sweep, `group` for group reads, `terms` for search. */
  private async ensureIndex(collection: Collection<PayloadDocument>, field: 'storedAt' | 'group' | 'terms'): Promise<void> {
    const key = `${collection.collectionName}\0${field}`;
    let index = this.indexes.get(key);
    if (!index) {
      index = this.run('createIndex', () => collection.createIndex({ [field]: 1 }, { name: `${field}_1` })).then(() => undefined);
      this.indexes.set(key, index);
      index.catch(() => this.indexes.delete(key)).catch(() => undefined);
    }
    await index;
  }

  /** Runs `fn` with the retry policy. */
  private run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(() => this.attempt(fn), {
      operation,
      policy: this.retry,
      beforeRetry: () => this.assertOpen(),
    });
  }

  /** One attempt: reconnects first when an earlier attempt found the topology closed. */
  private async attempt<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      if (this.reconnect) {
        // The driver closes the topology when the first connection fails and does not reopen it
        // on its own; connect() does (and is shared by concurrent callers).
        await this.client.connect();
        this.reconnect = false;
      }
      return await fn();
    } catch (error) {
      this.assertOpen();
      if (wraps(error, MongoTopologyClosedError)) this.reconnect = true;
      throw error;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('MongoDB payload store');
  }
}

/** The duplicates of a failed insertMany, when duplicate keys are all that went wrong; else rethrows. */
function onlyDuplicates(error: unknown, docs: readonly PayloadDocument[]): PayloadDocument[] {
  if (!(error instanceof MongoBulkWriteError)) throw error;
  const writeErrors = ([] as WriteError[]).concat(error.writeErrors);
  if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== DUPLICATE_KEY)) throw error;
  const concern = error.result.getWriteConcernError();
  if (concern) {
    throw new TransientStoreError(`write concern not satisfied: ${concern.errmsg ?? `code ${concern.code}`}`, {
      cause: error,
    });
  }
  return writeErrors.map((w) => {
    const doc = docs[w.index];
    if (!doc) throw error;
    return doc;
  });
}

function createClient(url: unknown, clientOptions: MongoClientOptions): MongoClient {
  if (typeof url !== 'string' || url.length === 0) throw new ValidationError('url', 'must be a non-empty string');
  // Defaults yield to the same option spelled in the URL (option names are case-insensitive there).
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const inUrl = new Set([...new URLSearchParams(query).keys()].map((key) => key.toLowerCase()));
  const defaults = Object.fromEntries(
    Object.entries(DEFAULT_CLIENT_OPTIONS).filter(([key]) => !inUrl.has(key.toLowerCase())),
  );
  try {
    return new MongoClient(url, { ...defaults, ...clientOptions });
  } catch (error) {
    // The message names the problem, never the URL (it may hold a password).
    throw new ValidationError('url', `is not a usable MongoDB connection string: ${describe(error)}`, { cause: error });
  }
}

function toName(value: unknown, field: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ValidationError(field, `${JSON.stringify(value)} is not an acceptable name (${pattern.source})`);
  }
  return value;
}

/** `{[key]: value}`, or `{}` when value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** `fn` over `items`, at most `limit` calls in flight; rejects with the first failure (and starts no more calls). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
