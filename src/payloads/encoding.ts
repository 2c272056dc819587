/**
 * Input validation and the byte encoding shared by every payload store.
 *
 * A payload is stored as bytes: the bytes themselves for binary values, the UTF-8 JSON text for
 * JSON values. Storing JSON as text rather than as a BSON document makes the round trip exact:
 * keys starting with `$` or containing `.`, `__proto__` keys, lone surrogates and NUL characters
 * all come back unchanged, and the `sha256:` hash in the {@link PayloadRef} is the hash of exactly
 * the bytes stored.
 */
import { createHash, randomUUID } from 'node:crypto';
import { payloadTerms } from './terms.js';
import { ValidationError } from '../core/errors.js';
import type { JsonValue, PayloadRef } from '../events/types.js';
import { toJobId } from '../core/keys.js';
import type { PayloadInput, PayloadValue } from './store.js';
import { MAX_PAYLOAD_BYTES } from './store.js';

/** A payload ready to be stored: validated id, encoding, bytes and hash. */
export interface EncodedPayload {
  readonly ref: PayloadRef;
  readonly bytes: Uint8Array;
  /** The job the payload belongs to (`PayloadInput.jobId`). */
  readonly jobId?: string;
  /** Search terms of the value (see terms.ts); computed when a `jobId` is given. */
  readonly terms?: readonly string[];
}

/** Checks a size limit option against the hard limit. */
export function toMaxPayloadBytes(value: number | undefined, field = 'maxPayloadBytes'): number {
  if (value === undefined) return MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAYLOAD_BYTES) {
    throw new ValidationError(field, `must be an integer from 0 to ${MAX_PAYLOAD_BYTES}, got ${String(value)}`);
  }
  return value;
}

/** Validates a payload id (same rules as a job id). */
export function toPayloadId(value: unknown, field: string): string {
  return toJobId(value, field);
}

/**
 * Validates and encodes the argument of one `put` call — one item or an array of them. Throws
 * before anything is stored, naming the offending field (`item.value`, `items[3].value.a[2]`).
 */
export function encodeItems(items: PayloadInput | readonly PayloadInput[], maxBytes: number): EncodedPayload[] {
  const list: unknown = items;
  if (!Array.isArray(list)) return [encodeItem(list, maxBytes, 'item')];
  const seen = new Set<string>();
  // Generated ids of one batch share a prefix, `<uuid>:<index>`, so that stores can read jobs
  // published together with few queries (see readGroup).
  const batch = randomUUID();
  return list.map((item: unknown, index) => {
    const encoded = encodeItem(item, maxBytes, `items[${index}]`, `${batch}:${index}`);
    if (seen.has(encoded.ref.id)) {
      throw new ValidationError(`items[${index}].id`, `${encoded.ref.id} appears more than once in the same put`);
    }
    seen.add(encoded.ref.id);
    return encoded;
  });
}

function encodeItem(item: unknown, maxBytes: number, path: string, generatedId?: string): EncodedPayload {
  if (typeof item !== 'object' || item === null) throw new ValidationError(path, 'must be an object {id?, value}');
  const { id, value, jobId } = item as { id?: unknown; value?: unknown; jobId?: unknown };
  const encoded = encodeValue(id === undefined ? (generatedId ?? randomUUID()) : toPayloadId(id, `${path}.id`), value, maxBytes, `${path}.value`);
  if (jobId === undefined) return encoded;
  return { ...encoded, jobId: toPayloadId(jobId, `${path}.jobId`), terms: payloadTerms(value) };
}

/** Payloads per read group: consecutive generated ids of a batch, `<uuid>:<index>`, by 25. */
export const READ_GROUP_SIZE = 25;
const BATCH_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d{1,9})$/;

/**
 * The read group of a payload id: `<uuid>:<index / READ_GROUP_SIZE>` for ids shaped like the
 * generated ids of a batch, else undefined. Jobs published together are usually claimed together,
 * so a worker reads a group with one query instead of one per payload.
 */
export function readGroup(id: string): string | undefined {
  const match = BATCH_ID.exec(id);
  if (!match) return undefined;
  return `${match[1] as string}:${Math.floor(Number(match[2]) / READ_GROUP_SIZE)}`;
}

/** Encodes one value (see {@link PayloadInput.value}) under `id`. */
export function encodeValue(id: string, value: unknown, maxBytes: number, field: string): EncodedPayload {
  let encoding: PayloadRef['encoding'];
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    encoding = 'binary';
    // A private copy: the caller may reuse its buffer while the write is in flight.
    bytes = new Uint8Array(value);
  } else {
    encoding = 'json';
    bytes = Buffer.from(toJsonText(value, field), 'utf8');
  }
  if (bytes.byteLength > maxBytes) {
    throw new ValidationError(
      field,
      `is ${bytes.byteLength} bytes (${encoding}), more than the limit of ${maxBytes} bytes; ` +
        'store large blobs elsewhere and put a reference to them',
    );
  }
  return { ref: { id, encoding, size: bytes.byteLength, hash: hashBytes(bytes) }, bytes };
}

/** `sha256:<hex>` of `bytes`. */
export function hashBytes(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Turns stored bytes back into the value that was put. */
export function decodeValue(encoding: PayloadRef['encoding'], bytes: Uint8Array): PayloadValue {
  if (encoding === 'binary') return new Uint8Array(bytes);
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as JsonValue;
}

/** Validates a reference passed to `get`/`getMany` and returns its id. */
export function refId(ref: unknown, field: string): string {
  if (typeof ref === 'string') return toPayloadId(ref, field);
  if (typeof ref !== 'object' || ref === null) throw new ValidationError(field, 'must be a payload id or a PayloadRef');
  const { id, encoding, hash } = ref as Partial<PayloadRef>;
  if (encoding !== 'json' && encoding !== 'binary') throw new ValidationError(`${field}.encoding`, "must be 'json' or 'binary'");
  if (typeof hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(hash)) {
    throw new ValidationError(`${field}.hash`, 'must be sha256:<64 hex digits>');
  }
  return toPayloadId(id, `${field}.id`);
}

/** Validates an array argument of ids or refs and returns the distinct ids, in order. */
export function distinctIds(refs: readonly unknown[], field: string): string[] {
  const list: unknown = refs;
  if (!Array.isArray(list)) throw new ValidationError(field, 'must be an array');
  return [...new Set(refs.map((ref, index) => refId(ref, `${field}[${index}]`)))];
}

/** Checks a grace period / batch size option of the orphan sweep. */
export function toNonNegativeInteger(value: number, field: string, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(field, `must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * The deepest nesting of arrays and objects a JSON payload may have (`[[1]]` is 2 levels). A
 * fixed limit rather than whatever the stack allows: the same value is accepted or refused on
 * every machine, and the service, the workers and the stores all decode what was accepted.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Checks that `value` (a payload other than bytes) is a JSON value Sluice stores exactly and
 * nested at most {@link MAX_JSON_DEPTH} levels, without encoding it.
 * @throws {@link ValidationError} naming `field` (or the part of it at fault).
 */
export function checkJsonValue(value: unknown, field: string): void {
  if (value instanceof Uint8Array) return;
  try {
    assertJson(value, field, new Set(), 0);
  } catch (error) {
    if (error instanceof TooDeepError) throw new ValidationError(field, `is nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects)`);
    throw error;
  }
}

/**
 * A {@link ValidationError} of a `put` of job payloads, whose field names the put's item
 * (`items[k].value…`), renamed to the job's field (`jobs[i].payload…`, i = `jobIndex[k]`).
 * Anything else is returned unchanged.
 */
export function payloadField(error: unknown, jobIndex: readonly number[]): unknown {
  if (!(error instanceof ValidationError)) return error;
  const match = /^items\[(\d+)\]\.value(.*)$/s.exec(error.field);
  const job = match ? jobIndex[Number(match[1])] : undefined;
  if (!match || job === undefined) return error;
  const field = `jobs[${job}].payload${match[2] ?? ''}`;
  return new ValidationError(field, error.message.slice(error.field.length + 2), { cause: error });
}

/** Thrown by assertJson past {@link MAX_JSON_DEPTH}; reported for the whole value. */
class TooDeepError extends Error {}

function toJsonText(value: unknown, field: string): string {
  try {
    assertJson(value, field, new Set(), 0);
    // assertJson admits exactly what JSON.stringify writes losslessly, so this cannot drop anything.
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof TooDeepError) throw new ValidationError(field, `is nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects)`);
    if (error instanceof RangeError) throw new ValidationError(field, 'is nested too deeply to encode', { cause: error });
    throw error;
  }
}

/**
 * Throws a {@link ValidationError} at the first part of `value` that JSON cannot represent
 * exactly. `ancestors` holds the objects on the current path, to report cycles.
 */
function assertJson(value: unknown, path: string, ancestors: Set<object>, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ValidationError(path, `${value} is not representable in JSON`);
      return;
    case 'object':
      break;
    default:
      throw new ValidationError(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw new ValidationError(path, 'is a circular reference');
  if (depth >= MAX_JSON_DEPTH) throw new TooDeepError();
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new ValidationError(`${path}[${i}]`, 'is a hole in a sparse array');
      assertJson(value[i], `${path}[${i}]`, ancestors, depth + 1);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      if (value instanceof Uint8Array) {
        throw new ValidationError(path, 'binary data (Uint8Array) can be the whole value only, not part of a JSON value');
      }
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new ValidationError(path, `a ${typeof name === 'string' ? name : 'non-plain object'} is not a JSON value`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new ValidationError(path, 'has symbol keys');
    for (const [key, child] of Object.entries(value)) assertJson(child, `${path}.${key}`, ancestors, depth + 1);
  }
  ancestors.delete(value);
}
