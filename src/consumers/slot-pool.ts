/**
 * Handler slots shared by several workers (one per queue) of a `MultiQueueWorker`: at most
 * `size` handlers run at once across all of them. A member is *active* while it holds or waits
 * for slots. While others are active, a member gets slots only up to its share
 * (`size × weight / Σ active weights`, at least 1); alone, it may take every slot. Freed slots go
 * to the waiting member with the lowest `(slots held + 1) / weight`. Busy queues therefore share
 * the handlers in proportion to their weights, and an idle queue's share goes to the others once
 * its running jobs finish.
 */
interface Waiter {
  member: string;
  weight: number;
  max: number;
  granted: number;
  resolve: (slots: number) => void;
}

/** A counting semaphore with weighted fair hand-out. */
export class SlotPool {
  private used = 0;
  private readonly held = new Map<string, number>();
  private readonly weights = new Map<string, number>();
  private waiters: Waiter[] = [];

  /** @param size - handlers that may run at once across every member. */
  constructor(readonly size: number) {}

  /** Slots free now. */
  get free(): number {
    return this.size - this.used;
  }

  /** Slots `member` holds now. */
  heldBy(member: string): number {
    return this.held.get(member) ?? 0;
  }

  /**
   * Resolves with 1 to `max` slots for `member` once some are free and it is its turn, or with 0
   * when {@link SlotPool.cancel} is called for it.
   */
  acquire(member: string, weight: number, max: number): Promise<number> {
    this.weights.set(member, weight);
    const room = Math.min(max, this.free, this.share(member) - this.heldBy(member));
    if (this.waiters.length === 0 && room > 0) {
      this.take(member, room);
      return Promise.resolve(room);
    }
    return new Promise((resolve) => {
      this.waiters.push({ member, weight, max, granted: 0, resolve });
      this.grant();
    });
  }

  /** Gives back `n` slots of `member`. */
  release(member: string, n: number): void {
    if (n <= 0) return;
    this.used -= n;
    this.held.set(member, Math.max(0, this.heldBy(member) - n));
    this.grant();
  }

  /** Resolves `member`'s pending acquires with 0 (it is shutting down). */
  cancel(member: string): void {
    const mine = this.waiters.filter((w) => w.member === member);
    this.waiters = this.waiters.filter((w) => w.member !== member);
    for (const w of mine) {
      if (w.granted > 0) this.release(member, w.granted);
      w.resolve(0);
    }
  }

  /** Slots `member` may hold while the other active members compete (all of them when alone). */
  private share(member: string): number {
    let total = this.weights.get(member) ?? 1;
    let others = false;
    for (const [m, w] of this.weights) {
      if (m !== member && (this.heldBy(m) > 0 || this.waiters.some((x) => x.member === m))) {
        total += w;
        others = true;
      }
    }
    if (!others) return this.size;
    return Math.max(1, Math.floor((this.size * (this.weights.get(member) ?? 1)) / total));
  }

  private take(member: string, n: number): void {
    this.used += n;
    this.held.set(member, this.heldBy(member) + n);
  }

  private grant(): void {
    const served = new Set<Waiter>();
    while (this.free > 0 && this.waiters.length > 0) {
      let best: Waiter | undefined;
      let bestScore = Number.POSITIVE_INFINITY;
      for (const w of this.waiters) {
        if (this.heldBy(w.member) >= this.share(w.member)) continue;
        // Ties go to the earliest waiter (strict <).
        const score = (this.heldBy(w.member) + 1) / w.weight;
        if (score < bestScore) {
          best = w;
          bestScore = score;
        }
      }
      if (!best) break;
      const w = best;
      this.take(w.member, 1);
      w.granted++;
      served.add(w);
      if (w.granted >= w.max) this.waiters = this.waiters.filter((x) => x !== w);
    }
    for (const w of served) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(w.granted);
    }
  }
}
