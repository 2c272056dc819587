/**
 * The publishing side of each system, run in the benchmark runner's own process.
 */
import { Redis } from 'ioredis';
import { Queue as BullQueue } from 'bullmq';
import { Queue } from '../../src/queue/queue.js';
import type { PayloadStore } from '../../src/payloads/store.js';
import { PAYLOAD_1KIB } from './payload.js';
import type { SystemName } from './systems.js';

/** Publishes jobs of one system to one queue. */
export interface Producer {
  /** Connects (and whatever else must not be timed). */
  ready(): Promise<void>;
  /** Publishes `count` jobs in one batch call (Sluice publishMany, BullMQ addBulk, one pipeline). */
  publishBatch(count: number): Promise<void>;
  /** Publishes one job; resolves with its id. */
  publishOne(): Promise<string>;
  close(): Promise<void>;
}

/** Names of the raw Streams ceiling's keys (the hash tag keeps them in one slot, like Sluice's). */
export function rawKeys(queue: string): { lane: string; events: string } {
  return { lane: `raw:{${queue}}:lane`, events: `raw:{${queue}}:events` };
}

/** Where a producer publishes. */
export interface ProducerTarget {
  redisUrl: string;
  queue: string;
  /** Required for `sluice-mongo`. */
  payloads?: PayloadStore;
}

/** Creates the producer of `system`. */
export function createProducer(system: SystemName, target: ProducerTarget): Producer {
  switch (system) {
    case 'sluice':
    case 'sluice-mongo':
      return sluiceProducer(target, system === 'sluice-mongo');
    case 'bullmq':
    case 'bullmq-empty':
      return bullProducer(target, system === 'bullmq' ? PAYLOAD_1KIB : {});
    case 'raw':
    case 'raw-1k':
      return rawProducer(target, system === 'raw-1k');
  }
}

function sluiceProducer(target: ProducerTarget, withPayload: boolean): Producer {
  if (withPayload && !target.payloads) throw new Error('sluice-mongo needs a payload store');
  const queue = new Queue(target.queue, { connection: target.redisUrl, ...(withPayload ? { payloads: target.payloads } : {}) });
  const job = withPayload ? { name: 'bench', payload: PAYLOAD_1KIB } : { name: 'bench' };
  return {
    async ready() {
      await queue.redis.ping();
    },
    async publishBatch(count) {
      await queue.publishMany(Array.from({ length: count }, () => job));
    },
    async publishOne() {
      const { id } = await queue.publish(job.name, 'payload' in job ? job.payload : undefined);
      return id;
    },
    close: () => queue.close(),
  };
}

function bullProducer(target: ProducerTarget, data: object): Producer {
  const connection = new Redis(target.redisUrl, { maxRetriesPerRequest: null });
  const queue = new BullQueue(target.queue, { connection });
  return {
    async ready() {
      await queue.waitUntilReady();
    },
    async publishBatch(count) {
      await queue.addBulk(Array.from({ length: count }, () => ({ name: 'bench', data })));
    },
    async publishOne() {
      const job = await queue.add('bench', data);
      return String(job.id);
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

function rawProducer(target: ProducerTarget, withPayload: boolean): Producer {
  const redis = new Redis(target.redisUrl);
  const { lane } = rawKeys(target.queue);
  const payload = JSON.stringify(PAYLOAD_1KIB);
  let next = 0;
  const fields = (): string[] => {
    const id = String(++next);
    return withPayload ? ['j', id, 'p', payload] : ['j', id];
  };
  return {
    async ready() {
      await redis.ping();
    },
    async publishBatch(count) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < count; i++) pipeline.xadd(lane, '*', ...fields());
      const replies = (await pipeline.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
    },
    async publishOne() {
      const f = fields();
      await redis.xadd(lane, '*', ...f);
      return f[1] as string;
    },
    async close() {
      await redis.quit();
    },
  };
}
