/**
 * The W3C trace context header (`traceparent`, version 00) that every job and its events carry:
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lower case. One pattern for the library
 * validation, the HTTP schema and header, the event codec and the OpenTelemetry adapter.
 *
 * @packageDocumentation
 */

/**
 * A version-00 W3C traceparent; groups 1 to 3 are the trace id, the parent span id and the flags.
 * Other versions are not accepted: Sluice writes and propagates version 00 only.
 */
export const TRACEPARENT_PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** True for a string of the {@link TRACEPARENT_PATTERN} form. */
export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT_PATTERN.test(value);
}
