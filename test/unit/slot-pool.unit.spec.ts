import { describe, expect, it } from 'vitest';
import { SlotPool } from '../../src/consumers/slot-pool.js';

describe('SlotPool', () => {
  it('alone a member may take every slot; with others active, only its share', async () => {
    const pool = new SlotPool(4);
    expect(await pool.acquire('a', 1, 3)).toBe(3);
    expect(await pool.acquire('b', 1, 3)).toBe(1);
    expect(pool.free).toBe(0);
    const waiting = pool.acquire('b', 1, 2);
    pool.release('a', 2);
    // b's share next to a (equal weights) is 2 of 4: it gets one more, not both.
    expect(await waiting).toBe(1);
    expect([pool.heldBy('a'), pool.heldBy('b'), pool.free]).toEqual([1, 2, 1]);
    pool.release('a', 1);
    // a is idle now: b may take every slot.
    expect(await pool.acquire('b', 1, 4)).toBe(2);
  });

  it('gives each freed slot to the waiter with the lowest (held + 1) / weight', async () => {
    const pool = new SlotPool(8);
    expect(await pool.acquire('x', 1, 8)).toBe(8);
    const heavy: number[] = [];
    const light: number[] = [];
    // Both queues keep asking for one slot at a time while x gives its slots back one by one.
    const ask = (member: string, weight: number, into: number[]): void => {
      void pool.acquire(member, weight, 1).then((n) => {
        if (n > 0) {
          into.push(n);
          ask(member, weight, into);
        }
      });
    };
    ask('heavy', 3, heavy);
    ask('light', 1, light);
    for (let i = 0; i < 8; i++) {
      pool.release('x', 1);
      await Promise.resolve();
      await Promise.resolve();
    }
    expect(heavy.length + light.length).toBe(8);
    expect(heavy.length).toBe(6);
    expect(light.length).toBe(2);
    pool.cancel('heavy');
    pool.cancel('light');
  });

  it('cancel resolves a pending acquire with 0 and keeps the count right', async () => {
    const pool = new SlotPool(1);
    expect(await pool.acquire('a', 1, 1)).toBe(1);
    const pending = pool.acquire('b', 1, 1);
    pool.cancel('b');
    expect(await pending).toBe(0);
    pool.release('a', 1);
    expect(pool.free).toBe(1);
  });
});
