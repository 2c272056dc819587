/**
 * The documents a group read brought back that nobody asked for yet.
 *
 * A worker claims jobs in stream order, a few dozen at a time, and its claims do not line up with
 * the read groups of 25 payloads published together (encoding.ts `readGroup`): one claim asks for
 * the end of a group, the next for its start. The MongoDB store reads a whole group with one
 * equality query; the members it was not asked for are kept here, briefly, and handed to the next
 * `getMany` that asks for them, instead of being read again (on the embedded FerretDB each
 * document read costs about as much server CPU as its insert).
 *
 * Safe because payload ids are write-once: a stored id never holds other content, and every read
 * through a `PayloadRef` checks the hash anyway. A member is handed out once, then dropped;
 * deletes through the same store drop their ids. What another process deletes may still be read
 * from here for at most {@link ReadCacheOptions.maxAgeMs}. Bounded by bytes and age.
 */
import { Binary } from 'mongodb';
import type { PayloadDocument } from './mongo-util.js';

/** Bounds of a {@link ReadCache}. */
export interface ReadCacheOptions {
  /** Total bytes of payload data kept. */
  maxBytes: number;
  /** A document larger than this is never kept. */
  maxDocumentBytes: number;
  /** How long a document is kept, ms. */
  maxAgeMs: number;
}

/** Defaults: 8 MiB, documents up to 64 KiB, 5 s. */
export const DEFAULT_READ_CACHE: ReadCacheOptions = Object.freeze({ maxBytes: 8 * 1024 * 1024, maxDocumentBytes: 64 * 1024, maxAgeMs: 5000 });

interface Entry {
  doc: PayloadDocument;
  bytes: number;
  at: number;
}

/** Documents of group reads not handed out yet, per collection and id, oldest first. */
export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly options: ReadCacheOptions = DEFAULT_READ_CACHE) {}

  /** Keeps `doc` (read from `collection` but not asked for), within the bounds. */
  keep(collection: string, doc: PayloadDocument): void {
    const data: unknown = doc.data;
    const bytes = data instanceof Binary ? data.length() : Number.POSITIVE_INFINITY;
    if (bytes > this.options.maxDocumentBytes || this.options.maxBytes === 0) return;
    const key = `${collection}\0${doc._id}`;
    this.drop(key);
    const now = performance.now();
    this.entries.set(key, { doc, bytes, at: now });
    this.bytes += bytes;
    this.evict(now);
  }

  /** The document of `id` if kept, removed from the cache. */
  take(collection: string, id: string): PayloadDocument | undefined {
    if (this.entries.size === 0) return undefined;
    this.evict(performance.now());
    const key = `${collection}\0${id}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.drop(key);
    return entry.doc;
  }

  /** Forgets `ids` of `collection` (deleted). */
  forget(collection: string, ids: readonly string[]): void {
    if (this.entries.size === 0) return;
    for (const id of ids) this.drop(`${collection}\0${id}`);
  }

  /** Number of documents kept. */
  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /** Drops the oldest entries while over the byte budget or older than the age limit. */
  private evict(now: number): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.options.maxBytes && now - entry.at <= this.options.maxAgeMs) break;
      this.drop(key);
    }
  }
}
