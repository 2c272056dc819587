/**
 * Parsers of configuration values (environment variables and flags): each takes the text and the
 * variable or flag it came from, and names it in its {@link ValidationError}.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../core/errors.js';
import type { BackoffSpec } from '../../events/types.js';
import { validateBackoff } from '../../jobs/options.js';
import { parseClusterUrl } from '../../redis/connection.js';
import type { RetentionLimit } from './schema.js';

const BOOL_TRUE = ['1', 'true', 'yes', 'on'];
const BOOL_FALSE = ['0', 'false', 'no', 'off'];

export function bool(text: string, field: string): boolean {
  const value = text.trim().toLowerCase();
  if (BOOL_TRUE.includes(value)) return true;
  if (BOOL_FALSE.includes(value)) return false;
  throw new ValidationError(field, `must be true or false, got ${JSON.stringify(text)}`);
}

export function integer(min: number, max: number): (text: string, field: string) => number {
  return (text, field) => {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ValidationError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: milliseconds (`1500`) or a number with a unit (`500ms`, `30s`, `5m`, `12h`, `7d`).
 * @throws {@link ValidationError} naming `field`.
 */
export function parseDuration(text: string, field: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1)) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new ValidationError(field, `must be a duration such as 1500, 500ms, 30s, 5m, 12h or 7d, got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** Parses a size in bytes: `1048576`, `512kb`, `1mb` (powers of 1024). */
export function parseBytes(text: string, field: string): number {
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(text.trim());
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
  const bytes = match ? Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new ValidationError(field, `must be a size such as 1048576, 512kb or 1mb, got ${JSON.stringify(text)}`);
  return bytes;
}

export function url(protocols: readonly string[]): (text: string, field: string) => string {
  return (text, field) => {
    let protocol: string;
    try {
      protocol = new URL(text).protocol;
    } catch {
      // A MongoDB seed list (`mongodb://h1:27017,h2:27017/?replicaSet=rs`) is a valid connection
      // string that the WHATWG parser refuses; the driver parses it.
      const scheme = /^([a-z][a-z0-9+.-]*:)\/\/[^\s/?#]+(?:[/?#]\S*)?$/i.exec(text)?.[1]?.toLowerCase();
      if (scheme === undefined || !scheme.startsWith('mongodb')) {
        throw new ValidationError(field, `is not a URL (expected ${protocols.map((p) => `${p}//…`).join(' or ')})`);
      }
      protocol = scheme;
    }
    if (!protocols.includes(protocol)) {
      throw new ValidationError(field, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got ${protocol}//`);
    }
    return text;
  };
}

/** A Redis URL: one server (`redis://`, `rediss://`) or a cluster's startup nodes (`redis+cluster://h1:p1,h2:p2`). */
export function redisUrl(text: string, field: string): string {
  if (!/^rediss?\+cluster:/i.test(text)) return url(['redis:', 'rediss:', 'redis+cluster:', 'rediss+cluster:'])(text, field);
  parseClusterUrl(text, field);
  return text;
}

export function name(pattern: RegExp, what: string): (text: string, field: string) => string {
  return (text, field) => {
    if (!pattern.test(text)) throw new ValidationError(field, `${JSON.stringify(text)} is not a valid ${what}`);
    return text;
  };
}

export function oneOf<T extends string>(values: readonly T[]): (text: string, field: string) => T {
  return (text, field) => {
    if (!(values as readonly string[]).includes(text)) throw new ValidationError(field, `must be one of ${values.join(', ')}, got ${JSON.stringify(text)}`);
    return text as T;
  };
}

export function optional<T>(parse: (text: string, field: string) => T): (text: string, field: string) => T | undefined {
  return (text, field) => (text === '' ? undefined : parse(text, field));
}

/** `none` means no limit (null); otherwise a duration or count. */
export function limit(parse: (text: string, field: string) => number): (text: string, field: string) => RetentionLimit {
  return (text, field) => (text === '' ? undefined : text.trim().toLowerCase() === 'none' ? null : parse(text, field));
}

/**
 * Parses a backoff: `fixed:<delay>`, `exponential:<delay>[:<max delay>[:<jitter>]]` (delays as
 * durations) or the JSON of a backoff spec.
 */
export function parseBackoff(text: string, field: string): BackoffSpec {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new ValidationError(field, 'is not valid JSON');
    }
    return validateBackoff(json, field);
  }
  const [type, delay, max, jitter] = trimmed.split(':');
  if (type === 'fixed' && delay !== undefined && max === undefined) return validateBackoff({ type, delayMs: parseDuration(delay, field) }, field);
  if (type === 'exponential' && delay !== undefined) {
    return validateBackoff(
      {
        type,
        delayMs: parseDuration(delay, field),
        ...(max === undefined ? {} : { maxDelayMs: parseDuration(max, field) }),
        ...(jitter === undefined ? {} : { jitter: Number(jitter) }),
      },
      field,
    );
  }
  throw new ValidationError(field, `must be fixed:<delay>, exponential:<delay>[:<max>[:<jitter>]] or JSON, got ${JSON.stringify(text)}`);
}
