/**
 * Group commit for payload writes: concurrent single puts (a worker storing its handlers' results)
 * become one batched {@link PayloadStore.put} (one `insertMany`) per round trip. The first put
 * after a quiet moment goes out at once; the puts that arrive while it is in flight are written
 * together by the next one. Nothing waits for a timer.
 */
import { PayloadStoreUnavailableError } from '../core/errors.js';
import type { PayloadRef } from '../events/types.js';
import type { PayloadInput, PayloadStore } from './store.js';

interface Pending {
  value: PayloadInput['value'];
  resolve: (ref: PayloadRef) => void;
  reject: (error: unknown) => void;
}

/** Batches {@link GroupedPut.put} calls for one queue of one store. */
export class GroupedPut {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  /**
   * @param maxBatch most payloads per store put.
   */
  constructor(
    private readonly store: PayloadStore,
    private readonly queue: string,
    private readonly maxBatch = 500,
  ) {}

  /** Stores `value` (in a batch with others) and resolves with its reference. Errors as {@link PayloadStore.put}. */
  put(value: PayloadInput['value']): Promise<PayloadRef> {
    return new Promise((resolve, reject) => {
      this.pending.push({ value, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const refs = await this.store.put(
          this.queue,
          batch.map((p) => ({ value: p.value })),
        );
        batch.forEach((p, i) => p.resolve(refs[i] as PayloadRef));
      } catch (error) {
        if (batch.length === 1 || error instanceof PayloadStoreUnavailableError) {
          for (const p of batch) p.reject(error);
        } else {
          // An error about one value (too large, not encodable) must not fail the others: each
          // gets its own outcome.
          await Promise.all(
            batch.map((p) =>
              this.store.put(this.queue, [{ value: p.value }]).then(([ref]) => p.resolve(ref as PayloadRef), p.reject),
            ),
          );
        }
      }
    }
  }
}
