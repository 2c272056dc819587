/**
 * Codec between {@link JobEvent} values and Redis stream entry fields.
 *
 * A stream entry holds exactly four fields: `type`, `v`, `data` (JSON) and `meta` (JSON).
 * Decoding is total: any entry that is not a valid event of a known type and supported version
 * raises a {@link CorruptEventError} naming the entry id; it never crashes and never yields a
 * silently wrong event. Lua scripts write the same four fields (see `src/events/lua`).
 *
 * @packageDocumentation
 */
import { CorruptEventError } from '../core/errors.js';
import { PRIORITY_LEVELS } from '../core/keys.js';
import { isTraceparent } from './traceparent.js';
import {
  EVENT_TYPES,
  EVENT_VERSIONS,
  type BackoffSpec,
  type EventDataMap,
  type EventMetadata,
  type EventType,
  type JobEvent,
  type JobRef,
  type JsonValue,
  type PayloadRef,
  type RecordedError,
  type StoredJobEvent,
  type WorkerIdentity,
} from './types.js';

/** Field names of a stream entry, in the order they are written. */
export const ENTRY_FIELDS = ['type', 'v', 'data', 'meta'] as const;

/** Encodes an event as the flat field list XADD takes (`type`, `v`, `data`, `meta`). */
export function encodeEvent(event: JobEvent): string[] {
  return ['type', event.type, 'v', String(event.v), 'data', JSON.stringify(event.data), 'meta', JSON.stringify(event.metadata)];
}

/**
 * Decodes a stream entry into an event.
 * @param entryId - the stream entry id, named in any error and returned as `id`.
 * @param fields - the flat field/value list as returned by XRANGE / XREAD.
 * @throws {@link CorruptEventError} when the entry is not a valid event.
 */
export function decodeEvent(entryId: string, fields: readonly string[]): StoredJobEvent {
  if (fields.length % 2 !== 0) throw new CorruptEventError(entryId, 'odd number of field values');
  const map = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    if (map.has(name)) throw new CorruptEventError(entryId, `duplicate field ${JSON.stringify(name)}`);
    map.set(name, fields[i + 1] as string);
  }
  for (const name of map.keys()) {
    if (!(ENTRY_FIELDS as readonly string[]).includes(name)) {
      throw new CorruptEventError(entryId, `unexpected field ${JSON.stringify(name)}`);
    }
  }
  const type = map.get('type');
  if (type === undefined) throw new CorruptEventError(entryId, 'missing field "type"');
  if (!isEventType(type)) throw new CorruptEventError(entryId, `unknown event type ${JSON.stringify(type)}`);
  const vText = map.get('v');
  if (vText === undefined || !/^[1-9][0-9]{0,5}$/.test(vText)) {
    throw new CorruptEventError(entryId, `field "v" must be a positive integer, got ${JSON.stringify(vText ?? null)}`);
  }
  const v = Number(vText);
  if (v > EVENT_VERSIONS[type]) {
    throw new CorruptEventError(
      entryId,
      `event ${type} has schema version ${v}; this Sluice reads up to ${EVENT_VERSIONS[type]} (upgrade Sluice)`,
    );
  }
  const data = parseJsonObject(entryId, 'data', map.get('data'));
  const meta = parseJsonObject(entryId, 'meta', map.get('meta'));
  const check = new Checker(entryId);
  const metadata = decodeMetadata(check, meta);
  const decoded = dataDecoders[type](check, data);
  return { id: entryId, type, v, data: decoded, metadata } as StoredJobEvent;
}

/** True when `value` is a known event type. */
export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

function parseJsonObject(entryId: string, field: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new CorruptEventError(entryId, `missing field ${JSON.stringify(field)}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptEventError(entryId, `field ${JSON.stringify(field)} is not valid JSON`, { cause: error });
  }
  // Lua's cjson encodes an empty table as `{}`; anything but a plain object is corrupt.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptEventError(entryId, `field ${JSON.stringify(field)} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Field-by-field checks that throw a {@link CorruptEventError} naming the path. */
class Checker {
  constructor(private readonly entryId: string) {}

  fail(path: string, expected: string, value: unknown): never {
    throw new CorruptEventError(this.entryId, `${path} must be ${expected}, got ${preview(value)}`);
  }

  object(path: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'an object', value);
    return value as Record<string, unknown>;
  }

  string(path: string, value: unknown, maxLength = 100_000): string {
    if (typeof value !== 'string' || value.length > maxLength) this.fail(path, `a string of at most ${maxLength} characters`, value);
    return value;
  }

  nonEmptyString(path: string, value: unknown, maxLength = 1000): string {
    const text = this.string(path, value, maxLength);
    if (text.length === 0) this.fail(path, 'a non-empty string', value);
    return text;
  }

  optionalString(path: string, value: unknown, maxLength = 1000): string | undefined {
    return value === undefined ? undefined : this.string(path, value, maxLength);
  }

  integer(path: string, value: unknown, min = 0): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      this.fail(path, `an integer >= ${min}`, value);
    }
    return value;
  }

  /** A priority lane, 0 .. PRIORITY_LEVELS - 1. */
  lane(path: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= PRIORITY_LEVELS) {
      this.fail(path, `an integer from 0 to ${PRIORITY_LEVELS - 1}`, value);
    }
    return value;
  }

  optionalInteger(path: string, value: unknown, min = 0): number | undefined {
    return value === undefined ? undefined : this.integer(path, value, min);
  }

  oneOf<T extends string>(path: string, value: unknown, options: readonly T[]): T {
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      this.fail(path, `one of ${options.join(', ')}`, value);
    }
    return value as T;
  }

  boolean(path: string, value: unknown): boolean {
    if (typeof value !== 'boolean') this.fail(path, 'a boolean', value);
    return value;
  }

  json(path: string, value: unknown): JsonValue {
    if (value === undefined) this.fail(path, 'a JSON value', value);
    return value as JsonValue;
  }

  /** Rejects properties outside `allowed`, so a renamed or misspelled field never goes unnoticed. */
  only(path: string, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) throw new CorruptEventError(this.entryId, `${path} has unexpected property ${JSON.stringify(key)}`);
    }
  }
}

function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function decodeMetadata(c: Checker, m: Record<string, unknown>): EventMetadata {
  c.only('meta', m, ['queue', 'jobId', 'time', 'seq', 'traceparent', 'correlationId', 'causationId']);
  const traceparent = c.optionalString('meta.traceparent', m.traceparent, 55);
  if (traceparent !== undefined && !isTraceparent(traceparent)) {
    c.fail('meta.traceparent', 'a W3C traceparent', traceparent);
  }
  const correlationId = c.optionalString('meta.correlationId', m.correlationId, 200);
  const causationId = c.optionalString('meta.causationId', m.causationId, 200);
  return {
    queue: c.nonEmptyString('meta.queue', m.queue, 100),
    jobId: c.nonEmptyString('meta.jobId', m.jobId, 200),
    time: c.integer('meta.time', m.time),
    seq: c.integer('meta.seq', m.seq, 1),
    ...(traceparent === undefined ? {} : { traceparent }),
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(causationId === undefined ? {} : { causationId }),
  };
}

function decodePayloadRef(c: Checker, path: string, value: unknown): PayloadRef {
  const o = c.object(path, value);
  c.only(path, o, ['id', 'encoding', 'size', 'hash']);
  const hash = c.nonEmptyString(`${path}.hash`, o.hash, 80);
  if (!/^sha256:[0-9a-f]{64}$/.test(hash)) c.fail(`${path}.hash`, 'sha256:<64 hex digits>', hash);
  return {
    id: c.nonEmptyString(`${path}.id`, o.id, 200),
    encoding: c.oneOf(`${path}.encoding`, o.encoding, ['json', 'binary'] as const),
    size: c.integer(`${path}.size`, o.size),
    hash,
  };
}

function decodeBackoff(c: Checker, value: unknown): BackoffSpec {
  const o = c.object('data.backoff', value);
  const type = c.oneOf('data.backoff.type', o.type, ['fixed', 'exponential', 'custom'] as const);
  switch (type) {
    case 'fixed':
      c.only('data.backoff', o, ['type', 'delayMs']);
      return { type, delayMs: c.integer('data.backoff.delayMs', o.delayMs) };
    case 'exponential': {
      c.only('data.backoff', o, ['type', 'delayMs', 'maxDelayMs', 'jitter']);
      const maxDelayMs = c.optionalInteger('data.backoff.maxDelayMs', o.maxDelayMs);
      let jitter: number | undefined;
      if (o.jitter !== undefined) {
        if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 1)) c.fail('data.backoff.jitter', 'a number from 0 to 1', o.jitter);
        jitter = o.jitter;
      }
      return {
        type,
        delayMs: c.integer('data.backoff.delayMs', o.delayMs),
        ...(maxDelayMs === undefined ? {} : { maxDelayMs }),
        ...(jitter === undefined ? {} : { jitter }),
      };
    }
    case 'custom':
      c.only('data.backoff', o, ['type']);
      return { type };
  }
}

function decodeJobRef(c: Checker, path: string, value: unknown): JobRef {
  const o = c.object(path, value);
  c.only(path, o, ['queue', 'jobId']);
  return { queue: c.nonEmptyString(`${path}.queue`, o.queue, 100), jobId: c.nonEmptyString(`${path}.jobId`, o.jobId, 200) };
}

function decodeWorker(c: Checker, value: unknown): WorkerIdentity {
  const o = c.object('data.worker', value);
  c.only('data.worker', o, ['id', 'host', 'pid', 'via']);
  const identity = {
    id: c.nonEmptyString('data.worker.id', o.id, 200),
    host: c.string('data.worker.host', o.host, 255),
    pid: c.integer('data.worker.pid', o.pid),
  };
  if (o.via === undefined) return identity;
  if (o.via !== 'http') c.fail('data.worker.via', "'http' or absent", o.via);
  return { ...identity, via: 'http' };
}

function decodeError(c: Checker, value: unknown): RecordedError {
  const o = c.object('data.error', value);
  c.only('data.error', o, ['name', 'message', 'stack']);
  const stack = c.optionalString('data.error.stack', o.stack, 20_000);
  return {
    name: c.string('data.error.name', o.name, 200),
    message: c.string('data.error.message', o.message, 10_000),
    ...(stack === undefined ? {} : { stack }),
  };
}

/** Drops keys whose value is undefined so decoded events compare equal to what was encoded. */
function defined<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}

type Decoders = { [T in EventType]: (c: Checker, d: Record<string, unknown>) => EventDataMap[T] };

const dataDecoders: Decoders = {
  created: (c, d) => {
    c.only('data', d, ['name', 'priority', 'maxAttempts', 'backoff', 'timeoutMs', 'payload', 'runAt', 'dedupeKey', 'dedupeTtlMs', 'group', 'repeatKey',
      'dependsOn', 'onDependencyFailure', 'pendingDependencies']);
    let dependsOn: JobRef[] | undefined;
    if (d.dependsOn !== undefined) {
      if (!Array.isArray(d.dependsOn) || d.dependsOn.length === 0 || d.dependsOn.length > 10_000) {
        c.fail('data.dependsOn', 'a non-empty array of at most 10000 job references', d.dependsOn);
      }
      dependsOn = (d.dependsOn as unknown[]).map((ref, i) => decodeJobRef(c, `data.dependsOn[${i}]`, ref));
    }
    return defined({
      name: c.string('data.name', d.name, 200),
      priority: c.integer('data.priority', d.priority),
      maxAttempts: c.integer('data.maxAttempts', d.maxAttempts, 1),
      backoff: decodeBackoff(c, d.backoff),
      timeoutMs: c.optionalInteger('data.timeoutMs', d.timeoutMs, 1),
      payload: d.payload === undefined ? undefined : decodePayloadRef(c, 'data.payload', d.payload),
      runAt: c.optionalInteger('data.runAt', d.runAt),
      dedupeKey: c.optionalString('data.dedupeKey', d.dedupeKey, 200),
      dedupeTtlMs: c.optionalInteger('data.dedupeTtlMs', d.dedupeTtlMs),
      group: d.group === undefined ? undefined : c.nonEmptyString('data.group', d.group, 200),
      repeatKey: d.repeatKey === undefined ? undefined : c.nonEmptyString('data.repeatKey', d.repeatKey, 200),
      dependsOn,
      onDependencyFailure: d.onDependencyFailure === undefined ? undefined : c.oneOf('data.onDependencyFailure', d.onDependencyFailure, ['fail', 'ignore'] as const),
      pendingDependencies: c.optionalInteger('data.pendingDependencies', d.pendingDependencies),
    });
  },
  'dependency-resolved': (c, d) => {
    c.only('data', d, ['dependency', 'outcome', 'remaining']);
    return {
      dependency: decodeJobRef(c, 'data.dependency', d.dependency),
      outcome: c.oneOf('data.outcome', d.outcome, ['completed', 'dead', 'cancelled', 'removed'] as const),
      remaining: c.integer('data.remaining', d.remaining),
    };
  },
  scheduled: (c, d) => {
    c.only('data', d, ['runAt', 'reason']);
    return { runAt: c.integer('data.runAt', d.runAt), reason: c.oneOf('data.reason', d.reason, ['delay', 'retry'] as const) };
  },
  promoted: (c, d) => {
    c.only('data', d, ['lane', 'reason']);
    return defined({
      lane: c.integer('data.lane', d.lane),
      reason: d.reason === undefined ? undefined : c.oneOf('data.reason', d.reason, ['dependencies', 'manual'] as const),
    });
  },
  reprioritized: (c, d) => {
    c.only('data', d, ['from', 'to']);
    return { from: c.lane('data.from', d.from), to: c.lane('data.to', d.to) };
  },
  claimed: (c, d) => {
    c.only('data', d, ['attempt', 'worker', 'token']);
    return {
      attempt: c.integer('data.attempt', d.attempt, 1),
      worker: decodeWorker(c, d.worker),
      token: c.nonEmptyString('data.token', d.token, 100),
    };
  },
  progress: (c, d) => {
    c.only('data', d, ['attempt', 'progress']);
    return { attempt: c.integer('data.attempt', d.attempt, 1), progress: c.json('data.progress', d.progress) };
  },
  completed: (c, d) => {
    c.only('data', d, ['attempt', 'result', 'durationMs']);
    return defined({
      attempt: c.integer('data.attempt', d.attempt, 1),
      result: d.result === undefined ? undefined : decodePayloadRef(c, 'data.result', d.result),
      durationMs: c.optionalInteger('data.durationMs', d.durationMs),
    });
  },
  failed: (c, d) => {
    c.only('data', d, ['attempt', 'error', 'retryAt', 'final']);
    const final = c.boolean('data.final', d.final);
    const retryAt = c.optionalInteger('data.retryAt', d.retryAt);
    if (final === (retryAt !== undefined)) c.fail('data.retryAt', final ? 'absent when final' : 'present when not final', d.retryAt);
    return defined({ attempt: c.integer('data.attempt', d.attempt, 1), error: decodeError(c, d.error), retryAt, final });
  },
  'timed-out': (c, d) => {
    c.only('data', d, ['attempt', 'worker', 'idleMs', 'reason']);
    return defined({
      attempt: c.integer('data.attempt', d.attempt, 1),
      worker: c.optionalString('data.worker', d.worker, 200),
      idleMs: c.integer('data.idleMs', d.idleMs),
      reason: d.reason === undefined ? undefined : c.oneOf('data.reason', d.reason, ['released'] as const),
    });
  },
  lost: (c, d) => {
    c.only('data', d, ['entryId', 'reason']);
    return { entryId: c.nonEmptyString('data.entryId', d.entryId, 100), reason: c.string('data.reason', d.reason, 1000) };
  },
  'dead-lettered': (c, d) => {
    c.only('data', d, ['reason', 'attempt']);
    return {
      reason: c.oneOf('data.reason', d.reason, ['attempts-exhausted', 'unrecoverable', 'lost', 'timed-out', 'dependency-failed'] as const),
      attempt: c.integer('data.attempt', d.attempt),
    };
  },
  retried: (c, d) => {
    c.only('data', d, ['fromState', 'by']);
    return defined({ fromState: c.nonEmptyString('data.fromState', d.fromState, 50), by: c.optionalString('data.by', d.by, 200) });
  },
  cancelled: (c, d) => {
    c.only('data', d, ['fromState', 'reason']);
    return defined({
      fromState: c.nonEmptyString('data.fromState', d.fromState, 50),
      reason: c.optionalString('data.reason', d.reason, 1000),
    });
  },
  removed: (c, d) => {
    c.only('data', d, ['fromState', 'reason']);
    return {
      fromState: c.nonEmptyString('data.fromState', d.fromState, 50),
      reason: c.oneOf('data.reason', d.reason, ['manual', 'retention'] as const),
    };
  },
};
