/**
 * Helpers of the MongoDB payload store (mongo-store.ts): client creation, name checks, the
 * duplicate-key handling of `insertMany`, and small concurrency utilities.
 */
import { Binary, MongoBulkWriteError, MongoClient, type MongoClientOptions, type WriteError } from 'mongodb';
import type { PayloadRef } from '../events/types.js';
import { describe, PayloadConflictError, ValidationError } from '../core/errors.js';
import { decodeValue } from './encoding.js';
import type { PayloadValue } from './store.js';
import { TransientStoreError } from './retry.js';

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

/** A payload document as stored. */
export interface PayloadDocument {
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
  /** Read group of a generated batch id (`readGroup` in encoding.ts); absent for other ids. */
  group?: string;
}

/**
 * The value a payload document holds, checked against the reference it was read for (hash and
 * encoding) when that is a {@link PayloadRef}.
 * @throws {@link PayloadConflictError} on a mismatch or a document Sluice did not write.
 */
export function decodeDocument(collection: string, ref: PayloadRef | string, doc: PayloadDocument): PayloadValue {
  if (typeof ref !== 'string' && (ref.hash !== doc.hash || ref.encoding !== doc.encoding)) {
    throw new PayloadConflictError(collection, doc._id, `holds ${doc.encoding} ${doc.hash}, not the ${ref.encoding} ${ref.hash} the reference was issued for`);
  }
  const data: unknown = doc.data;
  const bytes = data instanceof Binary ? data.value() : data instanceof Uint8Array ? data : undefined;
  if (!bytes || (doc.encoding !== 'json' && doc.encoding !== 'binary')) {
    throw new PayloadConflictError(collection, doc._id, 'is not a Sluice payload document');
  }
  return decodeValue(doc.encoding, bytes);
}

/** MongoDB's duplicate key error code. */
export const DUPLICATE_KEY = 11000;

/** The duplicates of a failed insertMany, when duplicate keys are all that went wrong; else rethrows. */
export function onlyDuplicates<D>(error: unknown, docs: readonly D[]): D[] {
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

export function createClient(url: unknown, clientOptions: MongoClientOptions): MongoClient {
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

export function toName(value: unknown, field: string, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ValidationError(field, `${JSON.stringify(value)} is not an acceptable name (${pattern.source})`);
  }
  return value;
}

/** `{[key]: value}`, or `{}` when value is undefined (exactOptionalPropertyTypes). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** `fn` over `items`, at most `limit` calls in flight; rejects with the first failure (and starts no more calls). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
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

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
