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
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './names.js';

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
  jobName: 'sluice.job.name',
  jobAttempt: 'sluice.job.attempt',
  jobOutcome: 'sluice.job.outcome',
} as const;

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

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
  const match = traceparent === undefined ? null : traceparentPattern.exec(traceparent);
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** A context whose parent span is the one `traceparent` names (the root context when it names none). */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  const spanContext = parseTraceparent(traceparent);
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}
