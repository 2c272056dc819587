/**
 * Load harness of the fault tests: a producer that remembers which publishes were acknowledged,
 * in-process workers, and the checks every fault test ends with.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { expect, inject } from 'vitest';
import { EventArchive } from '../../src/history/archive.js';
import { RedisServer } from '../../src/services/redis-server.js';
import { Worker, type Handler, type WorkerOptions } from '../../src/consumers/worker.js';
import { jobKey, toJobId, toQueueName } from '../../src/core/keys.js';
import { verify } from '../../src/projections/rebuild.js';
import { Queue } from '../../src/queue/queue.js';
import type { PayloadStore } from '../../src/payloads/store.js';
import type { RedisClient } from '../../src/redis/connection.js';
import { allEvents, testQueueName, waitFor } from '../helpers/dispatch.js';

/** Publishes batches until stopped; only acknowledged ids count as published. */
export class Producer {
  readonly acked = new Set<string>();
  readonly errors: unknown[] = [];
  private running = true;
  private readonly done: Promise<void>;
  private next = 0;

  /** `queue`: a Queue, or anything with its publishMany (a partitioned queue routing every batch to one partition). */
  constructor(
    private readonly queue: Pick<Queue, 'publishMany'>,
    options: { batch?: number; pauseMs?: number; payload?: boolean; max?: number; idPrefix?: string } = {},
  ) {
    const batch = options.batch ?? 20;
    const prefix = options.idPrefix ?? 'p-';
    this.done = (async () => {
      while (this.running && (options.max === undefined || this.next < options.max)) {
        const ids = Array.from({ length: batch }, () => `${prefix}${this.next++}`);
        try {
          await this.queue.publishMany(ids.map((id) => ({ name: 'load', payload: options.payload ? { id } : undefined, opts: { jobId: id } })));
          for (const id of ids) this.acked.add(id);
        } catch (error) {
          this.errors.push(error);
          await new Promise((r) => setTimeout(r, 50));
        }
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    })();
  }

  /** Stops publishing and waits for the batch in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** Starts `n` workers, each with its own connection to `url`. */
export function startWorkers(n: number, queue: string, url: string, handler: Handler, options: Partial<WorkerOptions> = {}): Worker[] {
  return Array.from({ length: n }, () => {
    const w = new Worker(queue, handler, { connection: url, blockMs: 200, leaseMs: 2000, promoteIntervalMs: 50, ...options });
    w.on('error', () => undefined); // faults make errors expected; the checks below judge the outcome
    return w;
  });
}

/** States of the given job ids, read in one pipeline. */
export async function statesOf(redis: RedisClient, queue: string, ids: Iterable<string>): Promise<Map<string, string | null>> {
  const list = [...ids];
  const pipeline = redis.pipeline();
  for (const id of list) pipeline.hget(jobKey(toQueueName(queue), toJobId(id)), 'state');
  const replies = (await pipeline.exec()) ?? [];
  return new Map(list.map((id, i) => [id, (replies[i]?.[1] as string | null) ?? null]));
}

/**
 * The end-of-test invariants: every acknowledged publish exists and is completed, no job was
 * completed twice, and the read model equals a replay of the log.
 */
export async function expectAllCompletedOnce(redis: RedisClient, queue: string, acked: Set<string>, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(async () => {
      const states = await statesOf(redis, queue, acked);
      return [...states.values()].every((s) => s === 'completed');
    }, timeoutMs, 'every acknowledged job completed');
  } catch (error) {
    // Say which jobs are stuck and how they got there.
    const states = await statesOf(redis, queue, acked);
    const stuck = [...states.entries()].filter(([, s]) => s !== 'completed');
    const byState = new Map<string, number>();
    for (const [, s] of stuck) byState.set(String(s), (byState.get(String(s)) ?? 0) + 1);
    const sample = stuck[0]?.[0];
    const history = sample ? (await allEvents(redis, queue)).filter((e) => e.metadata.jobId === sample).map((e) => `${e.type}${e.type === 'failed' ? `(${e.data.error.message.slice(0, 120)})` : ''}`) : [];
    throw new Error(`${(error as Error).message}; stuck by state: ${JSON.stringify(Object.fromEntries(byState))}; ${sample}: ${history.join(' → ')}`, { cause: error });
  }
  const events = await allEvents(redis, queue);
  const completions = new Map<string, number>();
  for (const e of events) if (e.type === 'completed') completions.set(e.metadata.jobId, (completions.get(e.metadata.jobId) ?? 0) + 1);
  const twice = [...completions.entries()].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  for (const id of acked) expect(completions.get(id)).toBe(1);
  const report = await verify(redis, queue);
  expect(report.differences).toEqual([]);
}

/** Options shared by the fault tests' queues. */
export function faultQueue(name: string, redis: Redis, payloads?: PayloadStore): Queue {
  return new Queue(name, { connection: redis, ...(payloads ? { payloads } : {}) });
}

/** What {@link archivedQueue} sets up. */
export interface ArchivedQueue {
  server: RedisServer;
  redis: Redis;
  archive: EventArchive;
  name: string;
  /** The queue, keeping every finished job (no retention), so counts only grow. */
  queue: Queue;
}

/**
 * A private redis-server with a connection, an event archive in a MongoDB database of its own
 * (`sluice_<label>_<uuid>`) and a fresh queue that keeps every finished job. Everything is
 * stopped, closed and dropped by the cleanups pushed onto `cleanups` (run them in reverse).
 */
export async function archivedQueue(cleanups: (() => Promise<void>)[], label: string): Promise<ArchivedQueue> {
  const server = await RedisServer.start();
  cleanups.push(() => server.stop());
  const redis = new Redis(server.url);
  cleanups.push(() => redis.quit().then(() => undefined));
  const client = new MongoClient(inject('mongoUrl'));
  await client.connect();
  const database = `sluice_${label}_${randomUUID().replace(/-/g, '')}`;
  cleanups.push(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });
  const archive = new EventArchive({ client, database });
  const name = testQueueName();
  const queue = new Queue(name, { connection: redis });
  cleanups.push(() => queue.close());
  const keepAll = { maxAgeMs: null, maxCount: null };
  await queue.setRetention({ completed: keepAll, dead: keepAll, cancelled: keepAll });
  return { server, redis, archive, name, queue };
}
