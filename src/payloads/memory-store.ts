/**
 * An in-memory {@link PayloadStore} for unit tests and examples. It honours the same contract as
 * the MongoDB store (the contract suite runs against both); nothing survives the process.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { ClosedError, PayloadConflictError, PayloadNotFoundError } from '../core/errors.js';
import type { PayloadRef } from '../events/types.js';
import { toQueueName, type QueueName } from '../core/keys.js';
import {
  decodeValue,
  distinctIds,
  encodeItems,
  refId,
  toMaxPayloadBytes,
  toNonNegativeInteger,
  toPayloadId,
} from './encoding.js';
import type {
  PayloadInput,
  PayloadStore,
  PayloadStoreHealth,
  PayloadValue,
  SweepOrphansOptions,
  SweepResult,
} from './store.js';
import { DEFAULT_ORPHAN_GRACE_MS, defaultCollectionName } from './store.js';

/** Options of {@link MemoryPayloadStore}. */
export interface MemoryPayloadStoreOptions {
  /**
   * Largest payload accepted, in bytes (at most `MAX_PAYLOAD_BYTES`, 16 MiB − 16 KiB).
   * @default MAX_PAYLOAD_BYTES
   */
  maxPayloadBytes?: number;
  /**
   * Source of time for `storedAt` and the orphan sweep.
   * @default systemClock
   */
  clock?: Clock;
}

interface StoredPayload {
  readonly ref: PayloadRef;
  readonly bytes: Uint8Array;
  storedAt: number;
}

/** An in-memory {@link PayloadStore}. Values are copied in and out, never shared with callers. */
export class MemoryPayloadStore implements PayloadStore {
  private readonly queues = new Map<QueueName, Map<string, StoredPayload>>();
  private readonly maxPayloadBytes: number;
  private readonly clock: Clock;
  private closed = false;

  constructor(options: MemoryPayloadStoreOptions = {}) {
    this.maxPayloadBytes = toMaxPayloadBytes(options.maxPayloadBytes);
    this.clock = options.clock ?? systemClock;
  }

  put(queue: string, item: PayloadInput): Promise<PayloadRef>;
  put(queue: string, items: readonly PayloadInput[]): Promise<PayloadRef[]>;
  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async put(queue: string, items: PayloadInput | readonly PayloadInput[]): Promise<PayloadRef | PayloadRef[]> {
    this.assertOpen();
    const name = toQueueName(queue);
    const single = !Array.isArray(items);
    const encoded = encodeItems(items, this.maxPayloadBytes);
    const payloads = this.payloads(name);
    // All-or-nothing: check every id before storing any.
    for (const { ref } of encoded) {
      const existing = payloads.get(ref.id);
      if (existing && (existing.ref.hash !== ref.hash || existing.ref.encoding !== ref.encoding)) {
        throw new PayloadConflictError(
          defaultCollectionName(name),
          ref.id,
          `already holds different content (${existing.ref.encoding} ${existing.ref.hash}, ` +
            `not ${ref.encoding} ${ref.hash}); payload ids are write-once`,
        );
      }
    }
    const now = this.clock.now();
    for (const { ref, bytes } of encoded) {
      const existing = payloads.get(ref.id);
      if (existing) existing.storedAt = now;
      else payloads.set(ref.id, { ref, bytes, storedAt: now });
    }
    const refs = encoded.map((e) => ({ ...e.ref }));
    return single ? (refs[0] as PayloadRef) : refs;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async get(queue: string, ref: PayloadRef | string): Promise<PayloadValue> {
    this.assertOpen();
    const name = toQueueName(queue);
    const id = refId(ref, 'ref');
    const stored = this.queues.get(name)?.get(id);
    if (!stored) throw new PayloadNotFoundError(defaultCollectionName(name), id);
    checkHash(name, ref, stored);
    return decodeValue(stored.ref.encoding, stored.bytes);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async getMany(queue: string, refs: readonly (PayloadRef | string)[]): Promise<Map<string, PayloadValue>> {
    this.assertOpen();
    const name = toQueueName(queue);
    distinctIds(refs, 'refs');
    const payloads = this.queues.get(name);
    const values = new Map<string, PayloadValue>();
    for (const ref of refs) {
      const id = typeof ref === 'string' ? ref : ref.id;
      const stored = payloads?.get(id);
      if (!stored) continue;
      checkHash(name, ref, stored);
      values.set(id, decodeValue(stored.ref.encoding, stored.bytes));
    }
    return values;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure is a rejection
  async delete(queue: string, ids: readonly string[]): Promise<number> {
    this.assertOpen();
    const name = toQueueName(queue);
    const distinct = distinctIds(ids, 'ids');
    const payloads = this.queues.get(name);
    let deleted = 0;
    for (const id of distinct) if (payloads?.delete(id)) deleted++;
    return deleted;
  }

  async sweepOrphans(queue: string, options: SweepOrphansOptions): Promise<SweepResult> {
    this.assertOpen();
    const name = toQueueName(queue);
    const grace = toNonNegativeInteger(options.olderThanMs ?? DEFAULT_ORPHAN_GRACE_MS, 'olderThanMs');
    const batchSize = toNonNegativeInteger(options.batchSize ?? 1000, 'batchSize', 1);
    const cutoff = this.clock.now() - grace;
    const payloads = this.queues.get(name) ?? new Map<string, StoredPayload>();
    // Same order and batching as the MongoDB store: by id.
    const candidates = [...payloads.entries()]
      .filter(([, p]) => p.storedAt < cutoff)
      .map(([id]) => id)
      .sort();
    let deleted = 0;
    for (let start = 0; start < candidates.length; start += batchSize) {
      const batch = candidates.slice(start, start + batchSize);
      const referenced = await options.isReferenced(batch);
      this.assertOpen();
      for (const id of batch) {
        const payload = payloads.get(id);
        // Re-check the age: a put during isReferenced() re-confirms the payload.
        if (!referenced.has(id) && payload && payload.storedAt < cutoff) {
          payloads.delete(id);
          deleted++;
        }
      }
    }
    return { examined: candidates.length, deleted };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- same signature as the MongoDB store
  async health(): Promise<PayloadStoreHealth> {
    return this.closed ? { ok: false, latencyMs: 0, error: 'memory payload store is closed' } : { ok: true, latencyMs: 0 };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- same signature as the MongoDB store
  async close(): Promise<void> {
    this.closed = true;
    this.queues.clear();
  }

  private payloads(queue: QueueName): Map<string, StoredPayload> {
    let payloads = this.queues.get(queue);
    if (!payloads) this.queues.set(queue, (payloads = new Map<string, StoredPayload>()));
    return payloads;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('memory payload store');
  }
}

function checkHash(queue: QueueName, ref: PayloadRef | string, stored: StoredPayload): void {
  if (typeof ref === 'string' || (ref.hash === stored.ref.hash && ref.encoding === stored.ref.encoding)) return;
  throw new PayloadConflictError(
    defaultCollectionName(queue),
    toPayloadId(ref.id, 'ref.id'),
    `holds ${stored.ref.encoding} ${stored.ref.hash}, not the ${ref.encoding} ${ref.hash} the reference was issued for`,
  );
}
