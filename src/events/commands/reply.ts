/**
 * Checks on raw script replies: every command parses its script's reply through these, so a
 * reply of an unexpected shape (a script and its caller out of step) fails loudly instead of
 * turning into `undefined` somewhere downstream.
 */
import { JOB_STATES, type JobState } from '../../core/keys.js';
import type { ScriptName } from '../scripts.js';

/** A reply that is not what script `name` answers. */
export function badReply(name: ScriptName, what: string, reply: unknown): Error {
  return new Error(`script ${name} replied ${JSON.stringify(reply)?.slice(0, 200)}: expected ${what}`);
}

/** The reply as an array. */
export function array(name: ScriptName, reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw badReply(name, 'an array', reply);
  return reply;
}

/** The reply as an integer (Redis integer or numeric string). */
export function integer(name: ScriptName, reply: unknown): number {
  const n = typeof reply === 'number' ? reply : typeof reply === 'string' ? Number(reply) : Number.NaN;
  if (!Number.isInteger(n)) throw badReply(name, 'an integer', reply);
  return n;
}

/** The reply as a string. */
export function text(name: ScriptName, reply: unknown): string {
  if (typeof reply !== 'string') throw badReply(name, 'a string', reply);
  return reply;
}

/** The reply as one of `values`. */
export function oneOf<T extends string>(name: ScriptName, reply: unknown, values: readonly T[]): T {
  if (typeof reply !== 'string' || !(values as readonly string[]).includes(reply)) throw badReply(name, values.join(' | '), reply);
  return reply as T;
}

/** The reply as a job state. */
export function jobState(name: ScriptName, reply: unknown): JobState {
  return oneOf(name, reply, JOB_STATES);
}
