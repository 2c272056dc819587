/**
 * Redis stream entry ids (`<ms>-<seq>`, two unsigned 64-bit integers) as values: parsing,
 * ordering, successors, and the translation of id and time queries into one inclusive range.
 *
 * Both event logs (Redis and in-memory) go through {@link resolveRange}, so they agree on what
 * `from`, `after`, `to`, `since` and `until` mean, including for incomplete ids (`<ms>` alone),
 * which follow XRANGE/XREAD: an incomplete start or exclusive bound means `<ms>-0`, an
 * incomplete end means `<ms>-<max>`.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../core/errors.js';

/** Largest value of either part of a stream id (2^64 - 1). */
export const MAX_ID_PART = 18_446_744_073_709_551_615n;

/** A parsed, complete stream id. */
export interface StreamIdParts {
  readonly ms: bigint;
  readonly seq: bigint;
}

/** The smallest id a stream can hold entries after (`0-0` itself is never a valid entry id). */
export const MIN_ID: StreamIdParts = { ms: 0n, seq: 0n };
/** The largest possible id. */
export const MAX_ID: StreamIdParts = { ms: MAX_ID_PART, seq: MAX_ID_PART };

const idPattern = /^([0-9]{1,20})(?:-([0-9]{1,20}))?$/;

/**
 * Parses `<ms>-<seq>` or `<ms>`; a missing sequence takes `missingSeq`.
 * @returns `undefined` when `text` is not a stream id or a part exceeds 2^64 - 1.
 */
export function parseStreamId(text: string, missingSeq: 'min' | 'max' = 'min'): StreamIdParts | undefined {
  const match = idPattern.exec(text);
  if (!match) return undefined;
  const ms = BigInt(match[1] as string);
  const seq = match[2] === undefined ? (missingSeq === 'min' ? 0n : MAX_ID_PART) : BigInt(match[2]);
  if (ms > MAX_ID_PART || seq > MAX_ID_PART) return undefined;
  return { ms, seq };
}

/** Formats a parsed id as `<ms>-<seq>`. */
export function formatStreamId(id: StreamIdParts): string {
  return `${id.ms}-${id.seq}`;
}

/** True when `text` is a complete stream id (`<ms>-<seq>`) within range. */
export function isCompleteStreamId(text: string): boolean {
  return text.includes('-') && parseStreamId(text) !== undefined;
}

/** Orders two ids: negative when `a` comes first, 0 when equal, positive when `a` comes last. */
export function compareStreamIds(a: StreamIdParts, b: StreamIdParts): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

/** The id right after `id`, or `undefined` when `id` is the largest possible id. */
export function nextStreamId(id: StreamIdParts): StreamIdParts | undefined {
  if (id.seq < MAX_ID_PART) return { ms: id.ms, seq: id.seq + 1n };
  if (id.ms < MAX_ID_PART) return { ms: id.ms + 1n, seq: 0n };
  return undefined;
}

/** The id of the first entry appended at `ms` or later (`<ms>-0`). */
export function firstIdAt(ms: number): StreamIdParts {
  return { ms: BigInt(ms), seq: 0n };
}

/** The id of the last possible entry appended at `ms` (`<ms>-<max>`). */
export function lastIdAt(ms: number): StreamIdParts {
  return { ms: BigInt(ms), seq: MAX_ID_PART };
}

/** The append time in milliseconds encoded in a stream id. */
export function streamIdTime(id: string): number {
  const parsed = parseStreamId(id);
  if (parsed === undefined) throw new ValidationError('id', `${JSON.stringify(id)} is not a stream id`);
  return Number(parsed.ms);
}

/** A query by stream id. Every bound is optional; an empty query covers the whole log. */
export interface IdRange {
  /**
   * First id to include (inclusive). `-` or omitted means the start of the log; an incomplete
   * id `<ms>` means `<ms>-0`. Give at most one of `from` and `after`.
   * @default '-'
   */
  from?: string;
  /**
   * Include only ids strictly greater than this one (exclusive), e.g. the last id a reader has
   * processed. An incomplete id `<ms>` means `<ms>-0`, as in XREAD. `0` or `0-0` means the whole log.
   */
  after?: string;
  /**
   * Last id to include (inclusive). `+` or omitted means the end of the log; an incomplete id
   * `<ms>` means `<ms>-<max>`, i.e. every entry of that millisecond.
   * @default '+'
   */
  to?: string;
}

/** A query by append time, in milliseconds since the epoch (stream ids carry the append time). */
export interface TimeRange {
  /** Include entries appended at or after this time (inclusive). Omitted: from the start. */
  since?: Date | number;
  /** Include entries appended at or before this millisecond (inclusive). Omitted: to the end. */
  until?: Date | number;
}

/** An inclusive range of complete ids; `undefined` from {@link resolveRange} means it is empty. */
export interface ResolvedRange {
  readonly start: StreamIdParts;
  readonly end: StreamIdParts;
}

/**
 * Turns an id query into an inclusive range of complete ids.
 * @returns `undefined` when the range is empty (e.g. `after` the largest id, or start past end).
 * @throws {@link ValidationError} when an id is malformed or both `from` and `after` are given.
 */
export function resolveRange(range: IdRange = {}): ResolvedRange | undefined {
  if (range.from !== undefined && range.after !== undefined) {
    throw new ValidationError('range', 'give either from (inclusive) or after (exclusive), not both');
  }
  let start: StreamIdParts | undefined = MIN_ID;
  if (range.from !== undefined && range.from !== '-') start = parseBound('from', range.from, 'min');
  if (range.after !== undefined) start = nextStreamId(parseBound('after', range.after, 'min'));
  const end = range.to === undefined || range.to === '+' ? MAX_ID : parseBound('to', range.to, 'max');
  if (start === undefined || compareStreamIds(start, end) > 0) return undefined;
  return { start, end };
}

/**
 * Turns a time query into the id query covering it: `since` → `<since>-0`, `until` → `<until>-<max>`.
 * @throws {@link ValidationError} when a time is not a non-negative integer number of milliseconds.
 */
export function timeRangeToIdRange(range: TimeRange = {}): IdRange {
  const out: IdRange = {};
  if (range.since !== undefined) out.from = formatStreamId(firstIdAt(toMillis('since', range.since)));
  if (range.until !== undefined) out.to = formatStreamId(lastIdAt(toMillis('until', range.until)));
  return out;
}

function parseBound(field: string, text: string, missingSeq: 'min' | 'max'): StreamIdParts {
  const parsed = parseStreamId(text, missingSeq);
  if (parsed === undefined) {
    throw new ValidationError(field, `${JSON.stringify(text)} is not a stream id (<ms>-<seq> or <ms>)`);
  }
  return parsed;
}

function toMillis(field: string, value: Date | number): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new ValidationError(field, `must be a valid Date or a non-negative integer of milliseconds, got ${String(value)}`);
  }
  return ms;
}
