import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Redis } from 'ioredis';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Worker, type ActiveJob } from '../../src/consumers/worker.js';
import { MESSAGING_SYSTEM, SPAN_ATTR } from '../../src/metrics/index.js';
import { startTelemetry, type Telemetry } from '../../src/otel.js';
import { PartitionedQueue, PartitionedWorker } from '../../src/consumers/partitioned.js';
import { Queue } from '../../src/queue/queue.js';
import { dropQueue, testQueueName, testRedis, waitFor } from '../helpers/dispatch.js';

let redis: Redis;
let telemetry: Telemetry;
const exporter = new InMemorySpanExporter();
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  redis = testRedis();
  // The service entry point's SDK start-up, with an in-memory exporter instead of the
  // environment's; no metric readers and no log processors, so nothing is exported elsewhere.
  telemetry = startTelemetry({
    sdk: {
      spanProcessors: [new SimpleSpanProcessor(exporter)],
      metricReaders: [],
      logRecordProcessors: [],
      autoDetectResources: false,
    },
    metrics: [],
  });
});

afterAll(async () => {
  await telemetry.shutdown();
  await redis.quit();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  exporter.reset();
});

function setup<R>(handler: (job: ActiveJob) => Promise<R> | R): { name: string; queue: Queue } {
  const name = testQueueName();
  const queue = new Queue(name, { connection: redis });
  const worker = new Worker(name, handler, { connection: redis, metrics: false, blockMs: 100, promoteIntervalMs: 50 });
  cleanups.push(async () => {
    await worker.close(500);
    await queue.close();
    await dropQueue(redis, name);
  });
  return { name, queue };
}

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const consumerSpans = (jobId: string): ReadableSpan[] =>
  spans().filter((s) => s.kind === SpanKind.CONSUMER && s.attributes[SPAN_ATTR.messageId] === jobId);

describe('traces across publish and processing', () => {
  it('a job published inside an active span is processed in a consumer span of the same trace', async () => {
    const { name, queue } = setup(() =>
      trace.getTracer('handler').startActiveSpan('send email', (span) => {
        span.end();
        return 'sent';
      }),
    );
    const tracer = trace.getTracer('test');
    const { id } = await tracer.startActiveSpan('POST /orders', async (span) => {
      try {
        return await queue.publish('email', undefined);
      } finally {
        span.end();
      }
    });
    await waitFor(() => consumerSpans(id).length === 1 && spans().some((s) => s.name === 'send email'), 20_000, 'consumer span');

    const request = spans().find((s) => s.name === 'POST /orders') as ReadableSpan;
    const producer = spans().find((s) => s.kind === SpanKind.PRODUCER) as ReadableSpan;
    const consumer = consumerSpans(id)[0] as ReadableSpan;
    const handler = spans().find((s) => s.name === 'send email') as ReadableSpan;
    const traceId = request.spanContext().traceId;

    // request → publish (producer) → process (consumer) → the handler's own span: one trace.
    expect(producer.name).toBe(`publish ${name}`);
    expect(producer.spanContext().traceId).toBe(traceId);
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(consumer.name).toBe(`process ${name}`);
    expect(consumer.spanContext().traceId).toBe(traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(handler.spanContext().traceId).toBe(traceId);
    expect(handler.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);

    // The job carries the producer span's context as its traceparent.
    expect((await queue.getOrThrow(id)).traceparent).toBe(`00-${traceId}-${producer.spanContext().spanId}-01`);

    expect(producer.attributes).toMatchObject({
      [SPAN_ATTR.messagingSystem]: MESSAGING_SYSTEM,
      [SPAN_ATTR.destinationName]: name,
      [SPAN_ATTR.operationType]: 'send',
      [SPAN_ATTR.operationName]: 'publish',
      [SPAN_ATTR.messageId]: id,
    });
    expect(consumer.attributes).toMatchObject({
      [SPAN_ATTR.messagingSystem]: MESSAGING_SYSTEM,
      [SPAN_ATTR.destinationName]: name,
      [SPAN_ATTR.operationType]: 'process',
      [SPAN_ATTR.operationName]: 'process',
      [SPAN_ATTR.messageId]: id,
      [SPAN_ATTR.consumerGroupName]: 'workers',
      [SPAN_ATTR.jobName]: 'email',
      [SPAN_ATTR.jobAttempt]: 1,
      [SPAN_ATTR.jobOutcome]: 'completed',
    });
    expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
    // The Redis server both sides talk to; no error.type on success.
    const server = new URL(inject('redisUrl'));
    for (const span of [producer, consumer]) {
      expect(span.attributes[SPAN_ATTR.serverAddress]).toBe(server.hostname);
      expect(span.attributes[SPAN_ATTR.serverPort]).toBe(Number(server.port));
      expect(span.attributes[SPAN_ATTR.errorType]).toBeUndefined();
      expect(span.attributes[SPAN_ATTR.partitionId]).toBeUndefined();
    }
  });

  it('each attempt gets its own consumer span; failed ones carry the error', async () => {
    const { queue } = setup((job) => {
      if (job.attempt === 1) throw new Error('first attempt fails');
      return 'ok';
    });
    const { id } = await trace.getTracer('test').startActiveSpan('batch', async (span) => {
      try {
        return await queue.publish('flaky', undefined, { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } });
      } finally {
        span.end();
      }
    });
    await waitFor(() => consumerSpans(id).length === 2, 20_000, 'two consumer spans');
    const [first, second] = consumerSpans(id).sort((x, y) => Number(x.attributes[SPAN_ATTR.jobAttempt]) - Number(y.attributes[SPAN_ATTR.jobAttempt])) as [
      ReadableSpan,
      ReadableSpan,
    ];
    const producer = spans().find((s) => s.kind === SpanKind.PRODUCER) as ReadableSpan;
    for (const span of [first, second]) {
      expect(span.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(span.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    }
    expect(first.attributes[SPAN_ATTR.jobOutcome]).toBe('retried');
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'first attempt fails' });
    expect(first.events.map((e) => e.name)).toContain('exception');
    expect(first.attributes[SPAN_ATTR.errorType]).toBe('Error');
    expect(second.attributes[SPAN_ATTR.errorType]).toBeUndefined();
    expect(second.attributes[SPAN_ATTR.jobAttempt]).toBe(2);
    expect(second.attributes[SPAN_ATTR.jobOutcome]).toBe('completed');
  });

  it('an explicit traceparent is kept: the consumer span continues it and the producer span links to it', async () => {
    const { queue } = setup(() => 'ok');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { id } = await queue.publish('given', undefined, { traceparent });
    await waitFor(() => consumerSpans(id).length === 1, 20_000, 'consumer span');
    expect((await queue.getOrThrow(id)).traceparent).toBe(traceparent);
    const consumer = consumerSpans(id)[0] as ReadableSpan;
    expect(consumer.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(consumer.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    const producer = spans().find((s) => s.kind === SpanKind.PRODUCER) as ReadableSpan;
    expect(producer.links.map((l) => l.context.spanId)).toEqual(['b7ad6b7169203331']);
  });

  it('a batch publish has one producer span, and every job of the batch continues it', async () => {
    const { name, queue } = setup(() => 'ok');
    const results = await queue.publishMany([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    await waitFor(() => results.every((r) => consumerSpans(r.id).length === 1), 20_000, 'consumer spans');
    const producers = spans().filter((s) => s.kind === SpanKind.PRODUCER);
    expect(producers).toHaveLength(1);
    const producer = producers[0] as ReadableSpan;
    expect(producer.name).toBe(`publish ${name}`);
    expect(producer.attributes[SPAN_ATTR.batchMessageCount]).toBe(3);
    for (const r of results) expect((consumerSpans(r.id)[0] as ReadableSpan).parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
  });

  it('partitioned queues: producer and consumer spans name the partition (messaging.destination.partition.id)', async () => {
    const name = testQueueName();
    const pq = new PartitionedQueue(name, { connection: redis, partitions: 4 });
    const worker = await PartitionedWorker.open(name, () => 'ok', { connection: redis, partitions: 4, metrics: false, blockMs: 100 });
    cleanups.push(async () => {
      await worker.close(500);
      await pq.close();
      for (let p = 0; p < 4; p++) await dropQueue(redis, `${name}#${p}`);
      await dropQueue(redis, name);
    });
    const published = await pq.publish('order', undefined, { partitionKey: 'customer-42' });
    await waitFor(() => consumerSpans(published.id).length === 1, 20_000, 'consumer span');
    const producer = spans().find((s) => s.kind === SpanKind.PRODUCER && s.attributes[SPAN_ATTR.destinationName] === published.queue) as ReadableSpan;
    const consumer = consumerSpans(published.id)[0] as ReadableSpan;
    for (const span of [producer, consumer]) {
      expect(span.attributes[SPAN_ATTR.partitionId]).toBe(String(published.partition));
      expect(span.attributes[SPAN_ATTR.destinationName]).toBe(`${name}#${published.partition}`);
    }
  });
});
