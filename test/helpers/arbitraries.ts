/**
 * fast-check arbitraries for every job event type, valid under the codec's rules: W3C
 * traceparents, `sha256:<64 hex>` payload hashes, `failed.final` xor `retryAt`, length limits,
 * ids with ':' inside, and unicode text (astral characters, combining marks, lone surrogates).
 *
 * String limits in the codec count UTF-16 code units; fast-check counts units (one code point or
 * grapheme may take several code units), so every text arbitrary is clipped to its limit.
 */
import fc from 'fast-check';
import {
  EVENT_TYPES,
  EVENT_VERSIONS,
  type BackoffSpec,
  type EventDataMap,
  type EventMetadata,
  type EventType,
  type JobEvent,
  type JobEventOf,
  type JsonValue,
  type PayloadRef,
  type RecordedError,
} from '../../src/events/types.js';

/** Any text of at most `max` UTF-16 code units (and at least `min`), mixing ASCII and unicode. */
export function text(max: number, min = 0): fc.Arbitrary<string> {
  const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
  const unit = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 1, minLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 1, minLength: 1 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 1, minLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom(':', '{', '}', '"', '\\', '\n', '\u0000', '😀', 'é') },
    { weight: 1, arbitrary: loneSurrogate },
  );
  return fc
    .array(unit, { minLength: min, maxLength: Math.min(max, 30) })
    .map((units) => clip(units.join(''), max))
    .filter((value) => value.length >= min);
}

/** Cuts `value` to at most `max` UTF-16 code units. */
function clip(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max);
}

/** Ids shaped like real ones: segments joined by ':' (e.g. `invoice:2024:17`), sometimes unicode. */
export function idText(max: number): fc.Arbitrary<string> {
  const segment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._@/+=-]{1,12}$/), text(12, 1));
  return fc
    .array(segment, { minLength: 1, maxLength: 4 })
    .map((parts) => clip(parts.join(':'), max))
    .filter((value) => value.length > 0);
}

const hex = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

/** A W3C traceparent `00-<32 hex>-<16 hex>-<2 hex>`. */
export const traceparentArb: fc.Arbitrary<string> = fc
  .tuple(hex(32), hex(16), fc.constantFrom('00', '01'))
  .map(([trace, span, flags]) => `00-${trace}-${span}-${flags}`);

/** A stream entry id `<ms>-<seq>`. */
export const streamIdArb: fc.Arbitrary<string> = fc
  .tuple(fc.nat(), fc.nat(1000))
  .map(([ms, seq]) => `${ms}-${seq}`);

const millis = fc.maxSafeNat();
const attempt = fc.integer({ min: 1, max: 1000 });

/** A payload reference with a well-formed sha256 hash. */
export const payloadRefArb: fc.Arbitrary<PayloadRef> = fc.record({
  id: idText(200),
  encoding: fc.constantFrom('json', 'binary'),
  size: fc.maxSafeNat(),
  hash: hex(64).map((digits) => `sha256:${digits}`),
}, { noNullPrototype: true });

/** Every backoff shape; jitter is a fraction from 0 to 1 (never -0, which JSON cannot carry). */
export const backoffArb: fc.Arbitrary<BackoffSpec> = fc.oneof(
  fc.record({ type: fc.constant('fixed' as const), delayMs: millis }, { noNullPrototype: true }),
  fc.record(
    {
      type: fc.constant('exponential' as const),
      delayMs: millis,
      maxDelayMs: millis,
      jitter: fc.double({ min: 0, max: 1, noNaN: true }).map((value) => (Object.is(value, -0) ? 0 : value)),
    },
    { requiredKeys: ['type', 'delayMs'], noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('custom' as const) }, { noNullPrototype: true }),
);

/**
 * Any JSON value as it reads back from JSON text (so no -0 and only plain objects):
 * `progress` carries arbitrary JSON, and the codec promises only what JSON can hold.
 */
export const jsonArb: fc.Arbitrary<JsonValue> = fc
  .jsonValue({ maxDepth: 3, stringUnit: 'binary' })
  .map((value) => JSON.parse(JSON.stringify(value)) as JsonValue);

/** An error as a `failed` event records it. */
export const recordedErrorArb: fc.Arbitrary<RecordedError> = fc.record(
  { name: text(200), message: text(10_000), stack: text(20_000) },
  { requiredKeys: ['name', 'message'], noNullPrototype: true },
);

/** A job reference (queue and job id). */
export const jobRefArb = fc.record({ queue: idText(100), jobId: idText(200) }, { noNullPrototype: true });

/** Data arbitraries, one per event type. */
export const dataArbs: { [T in EventType]: fc.Arbitrary<EventDataMap[T]> } = {
  created: fc.record(
    {
      name: text(200),
      priority: fc.nat(4),
      maxAttempts: attempt,
      backoff: backoffArb,
      timeoutMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      payload: payloadRefArb,
      runAt: millis,
      dedupeKey: idText(200),
      dedupeTtlMs: millis,
      group: idText(200),
      repeatKey: idText(200),
      dependsOn: fc.array(jobRefArb, { minLength: 1, maxLength: 4 }),
      onDependencyFailure: fc.constantFrom('fail', 'ignore'),
      pendingDependencies: fc.nat(10_000),
    },
    { requiredKeys: ['name', 'priority', 'maxAttempts', 'backoff'], noNullPrototype: true },
  ),
  'dependency-resolved': fc.record(
    { dependency: jobRefArb, outcome: fc.constantFrom('completed', 'dead', 'cancelled', 'removed'), remaining: fc.nat(10_000) },
    { noNullPrototype: true },
  ),
  scheduled: fc.record({ runAt: millis, reason: fc.constantFrom('delay', 'retry') }, { noNullPrototype: true }),
  promoted: fc.record({ lane: fc.nat(4), reason: fc.constant('dependencies' as const) }, { requiredKeys: ['lane'], noNullPrototype: true }),
  reprioritized: fc.record({ from: fc.nat(4), to: fc.nat(4) }, { noNullPrototype: true }),
  claimed: fc.record(
    {
      attempt,
      worker: fc.record({ id: idText(200), host: text(255), pid: fc.nat() }, { noNullPrototype: true }),
      token: streamIdArb,
    },
    { noNullPrototype: true },
  ),
  progress: fc.record({ attempt, progress: jsonArb }, { noNullPrototype: true }),
  completed: fc.record(
    { attempt, result: payloadRefArb, durationMs: millis },
    { requiredKeys: ['attempt'], noNullPrototype: true },
  ),
  // `final` and `retryAt` exclude each other: a final failure has no next attempt.
  failed: fc.oneof(
    fc.record({ attempt, error: recordedErrorArb, final: fc.constant(true) }, { noNullPrototype: true }),
    fc.record({ attempt, error: recordedErrorArb, retryAt: millis, final: fc.constant(false) }, { noNullPrototype: true }),
  ),
  'timed-out': fc.record({ attempt, worker: idText(200), idleMs: millis }, { requiredKeys: ['attempt', 'idleMs'], noNullPrototype: true }),
  lost: fc.record({ entryId: streamIdArb, reason: text(1000) }, { noNullPrototype: true }),
  'dead-lettered': fc.record({ reason: fc.constantFrom('attempts-exhausted', 'lost', 'timed-out', 'dependency-failed'), attempt: fc.nat(1000) }, { noNullPrototype: true }),
  retried: fc.record({ fromState: text(50, 1), by: text(200) }, { requiredKeys: ['fromState'], noNullPrototype: true }),
  cancelled: fc.record({ fromState: text(50, 1), reason: text(1000) }, { requiredKeys: ['fromState'], noNullPrototype: true }),
  removed: fc.record({ fromState: text(50, 1), reason: fc.constantFrom('manual', 'retention') }, { noNullPrototype: true }),
};

/** Options of the event arbitraries. */
export interface EventArbOptions {
  /** The queue every generated event belongs to. Default: arbitrary queue names. */
  queue?: string;
}

/** Event metadata; `queue` fixed when given. */
export function metadataArb(options: EventArbOptions = {}): fc.Arbitrary<EventMetadata> {
  return fc.record(
    {
      queue: options.queue === undefined ? idText(100) : fc.constant(options.queue),
      jobId: idText(200),
      time: millis,
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      traceparent: traceparentArb,
      correlationId: text(200),
      causationId: text(200),
    },
    { requiredKeys: ['queue', 'jobId', 'time', 'seq'], noNullPrototype: true },
  );
}

/** Events of one type, with any supported schema version. */
export function eventOfTypeArb<T extends EventType>(type: T, options: EventArbOptions = {}): fc.Arbitrary<Extract<JobEvent, { type: T }>> {
  const data: fc.Arbitrary<EventDataMap[T]> = dataArbs[type];
  const event: fc.Arbitrary<JobEventOf<T>> = fc.record(
    { type: fc.constant(type), v: fc.integer({ min: 1, max: EVENT_VERSIONS[type] }), data, metadata: metadataArb(options) },
    { noNullPrototype: true },
  );
  // TypeScript cannot relate JobEventOf<T> for a generic T to the matching member of the JobEvent
  // union; for every concrete T they are the same type.
  return event as unknown as fc.Arbitrary<Extract<JobEvent, { type: T }>>;
}

/** Events of every type, each type equally likely. */
export function jobEventArb(options: EventArbOptions = {}): fc.Arbitrary<JobEvent> {
  return fc.oneof(...EVENT_TYPES.map((type) => eventOfTypeArb(type, options)));
}

/** `count` valid events of `queue`, deterministic for a given `seed`, covering the event types. */
export function sampleEvents(queue: string, count: number, seed = 42): JobEvent[] {
  return fc.sample(jobEventArb({ queue }), { numRuns: count, seed });
}
