/**
 * Trace context helpers: the job's W3C `traceparent` to and from an OpenTelemetry span context,
 * and the span attribute names Sluice uses (OpenTelemetry messaging semantic conventions where
 * they fit, `sluice.*` for the rest).
 *
 * The messaging attribute names are copied here, not imported: in
 * `@opentelemetry/semantic-conventions` they are still in the incubating entry point, which the
 * project recommends copying from rather than depending on.
 *
 * @packageDocumentation
 */
import {
  INVALID_SPANID as INVALID_SPAN_ID,
  INVALID_TRACEID as INVALID_TRACE_ID,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './names.js';
import { TRACEPARENT_PATTERN } from '../events/traceparent.js';

/** `messaging.system` of every Sluice span. */
export const MESSAGING_SYSTEM = 'sluice';

/** Span attribute names. */
export const SPAN_ATTR = {
  messagingSystem: 'messaging.system',
  destinationName: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  batchMessageCount: 'messaging.batch.message_count',
  consumerGroupName: 'messaging.consumer.group.name',
  clientId: 'messaging.client.id',
  partitionId: 'messaging.destination.partition.id',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  jobName: 'sluice.job.name',
  jobAttempt: 'sluice.job.attempt',
  jobOutcome: 'sluice.job.outcome',
} as const;

/**
 * `server.address` / `server.port` of the Redis server a connection talks to (its unix socket
 * path as the address when it uses one). A Redis Cluster client talks to several servers, so it
 * gets none.
 */
export function redisServerAttributes(redis: unknown): Attributes {
  const client = redis as { isCluster?: boolean; options?: { host?: string; port?: number; path?: string } } | null;
  if (client === null || typeof client !== 'object' || client.isCluster === true || client.options === undefined) return {};
  const { host, port, path } = client.options;
  if (typeof path === 'string' && path !== '') return { [SPAN_ATTR.serverAddress]: path };
  return { [SPAN_ATTR.serverAddress]: host ?? 'localhost', [SPAN_ATTR.serverPort]: port ?? 6379 };
}

/** `messaging.destination.partition.id` of a partition's physical queue `<queue>#<n>`; none otherwise. */
export function partitionAttributes(queue: string): Attributes {
  const hash = queue.lastIndexOf('#');
  return hash < 0 ? {} : { [SPAN_ATTR.partitionId]: queue.slice(hash + 1) };
}

/**
 * The `error.type` of a failure, low in cardinality as the conventions ask: a Sluice error's
 * code, an error's class name (`TypeError`, `AbortError`…), else `_OTHER`.
 */
export function errorType(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SLUICE_ERR_')) return code;
    return error.name || '_OTHER';
  }
  return '_OTHER';
}

/** `tracer`, or the `sluice` tracer of the global tracer provider (a no-op until an SDK registers one). */
export function sluiceTracer(tracer?: Tracer): Tracer {
  return tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
}

/** The W3C traceparent of a span context, or `undefined` when the context is not valid (no SDK). */
export function formatTraceparent(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** The remote span context a W3C traceparent names, or `undefined` when it is malformed. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT_PATTERN.exec(traceparent);
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  // The pattern admits lowercase hex of the right lengths only: what is left of
  // isSpanContextValid (≈ 1 µs a job in its hex checks) is that neither id is all zeros.
  return spanContext.traceId === INVALID_TRACE_ID || spanContext.spanId === INVALID_SPAN_ID ? undefined : spanContext;
}

/** A context whose parent span is the one `traceparent` names (the root context when it names none). */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  const spanContext = parseTraceparent(traceparent);
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}
