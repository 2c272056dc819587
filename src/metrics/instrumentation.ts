/**
 * The hooks `Queue` and `Worker` call: a producer span around publish (whose context becomes
 * the job's `traceparent`, so the trace continues into the workers), and per attempt a consumer
 * span, child of the job's `traceparent`, plus the wait and run time histograms.
 *
 * Everything here is cheap when no OpenTelemetry SDK is registered: the global tracer is a
 * no-op, and a no-op span has no valid context, so jobs keep their random traceparent.
 *
 * @packageDocumentation
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import type { Clock } from '../core/clock.js';
import type { NewJob } from '../jobs/options.js';
import { CONSUMER_GROUP } from '../core/keys.js';
import type { AttemptOutcome } from './names.js';
import type { SluiceMetrics } from './sluice-metrics.js';
import { contextFromTraceparent, errorType, formatTraceparent, MESSAGING_SYSTEM, parseTraceparent, partitionAttributes, SPAN_ATTR } from './tracing.js';

/** Most links a producer span carries to caller-given traceparents. */
const MAX_LINKS = 128;

/**
 * Runs `publish` inside a producer span `publish <queue>`. Jobs without an explicit
 * `opts.traceparent` get the producer span's context as their traceparent (so the consumer
 * spans join the caller's trace); jobs with one keep it and the span links to it.
 */
export function tracePublish<R extends { readonly id: string }>(
  tracer: Tracer,
  queue: string,
  jobs: readonly NewJob[],
  publish: (jobs: readonly NewJob[]) => Promise<R[]>,
  options: PublishTelemetryOptions = {},
): Promise<R[]> {
  const input: unknown = jobs;
  if (!Array.isArray(input) || jobs.length === 0) return publish(jobs);
  const common: Attributes = {
    [SPAN_ATTR.messagingSystem]: MESSAGING_SYSTEM,
    [SPAN_ATTR.destinationName]: queue,
    [SPAN_ATTR.operationName]: 'publish',
    ...partitionAttributes(queue),
    ...options.attributes,
  };
  const attributes: Attributes = { ...common, [SPAN_ATTR.operationType]: 'send' };
  if (jobs.length > 1) attributes[SPAN_ATTR.batchMessageCount] = jobs.length;
  const links: Link[] = [];
  for (const job of jobs) {
    const given = explicitTraceparent(job);
    const spanContext = given === undefined ? undefined : parseTraceparent(given);
    if (spanContext && links.length < MAX_LINKS) links.push({ context: spanContext });
  }
  return tracer.startActiveSpan(`publish ${queue}`, { kind: SpanKind.PRODUCER, attributes, links }, async (span) => {
    try {
      const traceparent = formatTraceparent(span.spanContext());
      const results = await publish(traceparent === undefined ? jobs : jobs.map((job) => withTraceparent(job, traceparent)));
      if (results.length === 1) span.setAttribute(SPAN_ATTR.messageId, (results[0] as R).id);
      options.metrics?.messaging.recordSent(results.length, common);
      return results;
    } catch (error) {
      failSpan(span, error);
      options.metrics?.messaging.recordSent(jobs.length, { ...common, [SPAN_ATTR.errorType]: errorType(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

function explicitTraceparent(job: NewJob): string | undefined {
  const opts: unknown = (job as { opts?: unknown } | null)?.opts;
  if (typeof opts !== 'object' || opts === null) return undefined;
  const given = (opts as { traceparent?: unknown }).traceparent;
  return typeof given === 'string' ? given : undefined;
}

/** The job with `traceparent` filled in when it has none; anything malformed is left for validation. */
function withTraceparent(job: NewJob, traceparent: string): NewJob {
  if (typeof job !== 'object' || job === null) return job;
  const opts: unknown = job.opts;
  if (opts === undefined) return { ...job, opts: { traceparent } };
  if (typeof opts !== 'object' || opts === null || (opts as { traceparent?: unknown }).traceparent !== undefined) return job;
  return { ...job, opts: { ...(opts as NonNullable<NewJob['opts']>), traceparent } };
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute(SPAN_ATTR.errorType, errorType(error));
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Options of {@link tracePublish}. */
export interface PublishTelemetryOptions {
  /** Where `messaging.client.sent.messages` is counted; none when absent. */
  metrics?: SluiceMetrics;
  /** Added to the span and the metric (e.g. `server.address`/`server.port` of Redis). */
  attributes?: Attributes;
}

/** What an attempt needs to know about its job. */
export interface AttemptJob {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly traceparent: string;
  /** When the job was published (ms). */
  readonly createdAt: number;
}

/** The telemetry of one worker: starts one {@link Attempt} per claimed job. */
export class WorkerTelemetry {
  /** Attributes of every span and messaging metric of this worker. */
  private readonly common: Attributes;

  constructor(
    private readonly queue: string,
    private readonly workerId: string,
    private readonly metrics: SluiceMetrics | undefined,
    private readonly tracer: Tracer,
    private readonly clock: Clock,
    /** Added to every span and messaging metric, e.g. `server.address`/`server.port` of Redis. */
    attributes: Attributes = {},
  ) {
    this.common = {
      [SPAN_ATTR.messagingSystem]: MESSAGING_SYSTEM,
      [SPAN_ATTR.destinationName]: queue,
      [SPAN_ATTR.operationName]: 'process',
      [SPAN_ATTR.consumerGroupName]: CONSUMER_GROUP,
      ...partitionAttributes(queue),
      ...attributes,
    };
  }

  /**
   * Starts an attempt: records the wait time of a first attempt, counts the message consumed,
   * and starts the consumer span `process <queue>` as a child of the job's traceparent.
   */
  startAttempt(job: AttemptJob): Attempt {
    const now = this.clock.now();
    // Later attempts would measure their earlier attempts and backoff too: only the first counts.
    if (job.attempt === 1) this.metrics?.recordWait(this.queue, (now - job.createdAt) / 1000, job.name);
    this.metrics?.messaging.recordConsumed(this.common);
    const parent = contextFromTraceparent(job.traceparent);
    const span = this.tracer.startSpan(
      `process ${this.queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...this.common,
          [SPAN_ATTR.operationType]: 'process',
          [SPAN_ATTR.messageId]: job.id,
          [SPAN_ATTR.clientId]: this.workerId,
          [SPAN_ATTR.jobName]: job.name,
          [SPAN_ATTR.jobAttempt]: job.attempt,
        },
      },
      parent,
    );
    return new Attempt(this.queue, this.metrics, this.clock, now, span, parent, job.name, this.common);
  }
}

/** One attempt's consumer span and run time. */
export class Attempt {
  private ended = false;
  private readonly context: Context;

  constructor(
    private readonly queue: string,
    private readonly metrics: SluiceMetrics | undefined,
    private readonly clock: Clock,
    private readonly startedAt: number,
    /** The consumer span. */
    readonly span: Span,
    parent: Context,
    private readonly jobName?: string,
    /** Attributes of the `messaging.process.duration` sample. */
    private readonly attributes: Attributes = {},
  ) {
    this.context = trace.setSpan(parent, span);
  }

  /** Runs `fn` with the consumer span active, so spans the handler starts are its children. */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** Ends the span and records the run time under `outcome`. Only the first call counts. */
  end(outcome: AttemptOutcome, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const seconds = (this.clock.now() - this.startedAt) / 1000;
    this.metrics?.recordRun(this.queue, outcome, seconds, this.jobName);
    this.span.setAttribute(SPAN_ATTR.jobOutcome, outcome);
    // error.type on every attempt that did not complete: the error's type, or how it ended
    // (`stale`, `error`) when there is no handler error to name.
    const failure = outcome === 'completed' ? undefined : error === undefined ? outcome : errorType(error);
    if (outcome !== 'completed' && error !== undefined) failSpan(this.span, error);
    else if (failure !== undefined) this.span.setAttribute(SPAN_ATTR.errorType, failure);
    this.metrics?.messaging.recordProcess(seconds, failure === undefined ? this.attributes : { ...this.attributes, [SPAN_ATTR.errorType]: failure });
    this.span.end();
  }
}
