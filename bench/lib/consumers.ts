/**
 * The consuming side of each system, run inside a worker agent (a child process). Every
 * consumer runs a no-op async handler with the requested concurrency and calls `onDone(jobId)`
 * when a job's completion has been acknowledged by Redis.
 */
import { Redis } from 'ioredis';
import { sleep } from './clock.js';
import type { StartRequest } from './protocol.js';
import { rawKeys } from './producers.js';

/** A running consumer. */
export interface Consumer {
  close(): Promise<void>;
}

// The no-op handler: a resolved promise, like an async function that does nothing.
const noop = (): Promise<undefined> => Promise.resolve(undefined);

/** Starts the consumer of `req.system`; resolves once it is waiting for jobs. */
export async function startConsumer(req: StartRequest, onDone: (jobId: string) => void, onError: (error: unknown) => void): Promise<Consumer> {
  switch (req.system) {
    case 'sluice':
    case 'sluice-mongo':
      return startSluice(req, onDone, onError);
    case 'bullmq':
    case 'bullmq-empty':
      return startBull(req, onDone, onError);
    case 'raw':
    case 'raw-1k':
      return startRaw(req, onDone, onError);
  }
}

async function startSluice(req: StartRequest, onDone: (jobId: string) => void, onError: (error: unknown) => void): Promise<Consumer> {
  const { Worker } = await import('../../src/consumers/worker.js');
  const { toQueueName, workersKey } = await import('../../src/core/keys.js');
  let payloads: { close(): Promise<void> } | undefined;
  let store: import('../../src/payloads/store.js').PayloadStore | undefined;
  if (req.system === 'sluice-mongo') {
    if (!req.mongoUrl) throw new Error('sluice-mongo needs mongoUrl');
    // Imported lazily: the Redis-only scenarios do not depend on the payload module.
    const { MongoPayloadStore } = await import('../../src/payloads/mongo-store.js');
    const mongo = new MongoPayloadStore({ url: req.mongoUrl, database: req.mongoDatabase ?? 'sluice_bench' });
    payloads = mongo;
    store = mongo;
  }
  // With a payload store the handler also returns a result, stored like a payload: the per-job
  // MongoDB work is then one payload insert (publish), one point read (claim), one result write.
  const handler = store ? (): Promise<{ ok: true }> => Promise.resolve({ ok: true }) : noop;
  const worker = new Worker(req.queue, handler, {
    connection: req.redisUrl,
    concurrency: req.concurrency,
    ...(store ? { payloads: store } : {}),
  });
  worker.on('completed', (job) => onDone(job.id));
  worker.on('error', onError);
  // Ready once the first claim ran: it records the worker in the queue's workers set.
  const probe = new Redis(req.redisUrl);
  try {
    const key = workersKey(toQueueName(req.queue));
    while ((await probe.zscore(key, worker.id)) === null) await sleep(5);
  } finally {
    probe.disconnect();
  }
  return {
    async close() {
      await worker.close();
      await payloads?.close();
    },
  };
}

async function startBull(req: StartRequest, onDone: (jobId: string) => void, onError: (error: unknown) => void): Promise<Consumer> {
  const { Worker } = await import('bullmq');
  const connection = new Redis(req.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(req.queue, noop, { connection, concurrency: req.concurrency });
  worker.on('completed', (job) => onDone(String(job.id)));
  worker.on('error', onError);
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

/**
 * The raw Streams lifecycle, the ceiling: read entries through a consumer group (COUNT =
 * concurrency), run the handlers, then one pipeline per batch with, for every job, XACK and one
 * event XADD, followed by the next XREADGROUP (which blocks only when nothing was pending).
 */
async function startRaw(req: StartRequest, onDone: (jobId: string) => void, onError: (error: unknown) => void): Promise<Consumer> {
  const redis = new Redis(req.redisUrl);
  const { lane, events } = rawKeys(req.queue);
  try {
    await redis.xgroup('CREATE', lane, 'workers', '0', 'MKSTREAM');
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
  }
  const consumer = `raw-${process.pid}`;
  let stopping = false;
  const loop = async (): Promise<void> => {
    let pending: [entryId: string, jobId: string][] = [];
    while (!stopping) {
      const pipeline = redis.pipeline();
      for (const [entryId, jobId] of pending) {
        pipeline.xack(lane, 'workers', entryId);
        pipeline.xadd(events, '*', 'type', 'completed', 'j', jobId);
      }
      // Block only when there was nothing to acknowledge, so a completion is never held back.
      const block = pending.length > 0 ? [] : ['BLOCK', 100];
      pipeline.call('XREADGROUP', 'GROUP', 'workers', consumer, 'COUNT', req.concurrency, ...block, 'STREAMS', lane, '>');
      const replies = (await pipeline.exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      for (const [, jobId] of pending) onDone(jobId);
      const entries = streamEntries(replies[replies.length - 1]?.[1]);
      await Promise.all(entries.map(() => noop()));
      pending = entries.map(([entryId, fields]) => [entryId, fields[1] as string]);
    }
  };
  const done = loop().catch((error: unknown) => {
    if (!stopping) onError(error);
  });
  return {
    async close() {
      stopping = true;
      await done;
      await redis.quit();
    },
  };
}

type Entry = [entryId: string, fields: string[]];

/**
 * The entries of a one-stream XREADGROUP reply sent with `call`: RESP2 gives
 * `[[stream, entries]]`, RESP3 (ioredis 6's default) a map that arrives as `[stream, entries]`.
 */
function streamEntries(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  if (typeof reply[0] === 'string') return (reply[1] ?? []) as Entry[];
  return (reply[0] as [string, Entry[] | undefined])[1] ?? [];
}
