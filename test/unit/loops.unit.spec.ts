/** The Worker's loop plumbing: LoopGroup starts every loop and stops them in order; jitter stays within ±25 %. */
import { describe, expect, it } from 'vitest';
import { jittered, LoopGroup, type Loop, type QueueLoopContext } from '../../src/consumers/loops/loop.js';

describe('loops', () => {
  it('LoopGroup starts all and stops one after the other, in order', async () => {
    const log: string[] = [];
    const loop = (name: string, stopMs: number): Loop => ({
      start: () => log.push(`start ${name}`),
      stop: () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            log.push(`stop ${name}`);
            resolve();
          }, stopMs),
        ),
    });
    const group = new LoopGroup([loop('a', 20), new LoopGroup([loop('b', 0), loop('c', 5)])]);
    group.start();
    await group.stop();
    expect(log).toEqual(['start a', 'start b', 'start c', 'stop a', 'stop b', 'stop c']);
  });

  it('jitters by ±25 %', () => {
    const at = (r: number): number => jittered({ random: () => r } as unknown as QueueLoopContext, 1000);
    expect([at(0), at(0.5), at(0.999999)]).toEqual([750, 1000, 1250]);
  });
});
