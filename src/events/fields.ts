/**
 * Codecs of the job hash fields the fold writes in compact form (src/projections/lua/fold.lua)
 * and claim.lua sends back: the backoff as `type:delayMs:maxDelayMs:jitter`, a payload or result
 * reference as four fields or, in a claim reply, as `<encoding> <size> <sha256 hex> <id>`.
 *
 * @packageDocumentation
 */
import { CorruptEventError } from '../core/errors.js';
import type { BackoffSpec, PayloadRef } from './types.js';

/**
 * Reads a backoff as the fold stores it in the job hash: `type:delayMs:maxDelayMs:jitter` with
 * empty parts for absent fields.
 * @throws CorruptEventError when the text is not one.
 */
export function parseBackoffField(text: string, where: string): BackoffSpec {
  const [type, delay = '', max = '', jitter = ''] = text.split(':');
  const number = (part: string): number => (part === '' ? Number.NaN : Number(part));
  if (type === 'custom') return { type };
  if (type === 'fixed' && Number.isFinite(number(delay))) return { type, delayMs: number(delay) };
  if (type === 'exponential' && Number.isFinite(number(delay))) {
    const spec: { type: 'exponential'; delayMs: number; maxDelayMs?: number; jitter?: number } = { type, delayMs: number(delay) };
    if (Number.isFinite(number(max))) spec.maxDelayMs = number(max);
    if (Number.isFinite(number(jitter))) spec.jitter = number(jitter);
    if ((max === '' || spec.maxDelayMs !== undefined) && (jitter === '' || spec.jitter !== undefined)) return spec;
  }
  throw new CorruptEventError(where, `job field backoff is not a backoff: ${text.slice(0, 100)}`);
}

/** A payload reference from its four parts. @throws CorruptEventError when a part is malformed. */
export function toRef(where: string, field: string, id: string, encoding: string | undefined, size: string | undefined, hex: string | undefined): PayloadRef {
  if ((encoding !== 'json' && encoding !== 'binary') || !size || !Number.isInteger(Number(size)) || !hex || !/^[0-9a-f]{64}$/.test(hex)) {
    throw new CorruptEventError(where, `job field ${field} is not a payload reference`);
  }
  return { id, encoding, size: Number(size), hash: `sha256:${hex}` };
}

/**
 * Reads the payload reference of a claim reply (`<encoding> <size> <sha256 hex> <id>`, see
 * src/events/lua/claim.lua); `undefined` for ''.
 */
export function parseClaimedRef(text: string, where: string): PayloadRef | undefined {
  if (text === '') return undefined;
  const parts = /^(\S+) (\S+) (\S+) (.+)$/s.exec(text);
  if (!parts) throw new CorruptEventError(where, 'claimed payload reference is malformed');
  return toRef(where, 'payload', parts[4] as string, parts[1], parts[2], parts[3]);
}

