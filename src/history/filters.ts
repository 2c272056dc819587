/**
 * The time and event-type filters of history queries as users write them (HTTP query strings,
 * CLI flags): shared by the service's replay, console and search routes and the CLI's `audit`
 * and `search` commands.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../core/errors.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';

/** Parses `a,b,c` into event types. */
export function parseTypes(text: string | undefined, field = 'types'): EventType[] | undefined {
  if (text === undefined || text === '') return undefined;
  const types = text.split(',').map((t) => t.trim());
  for (const type of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new ValidationError(field, `unknown event type ${JSON.stringify(type)}; known: ${EVENT_TYPES.join(', ')}`);
    }
  }
  return types as EventType[];
}

/** Parses a time given as ISO 8601 or milliseconds since the epoch. */
export function parseTime(text: string, field: string): number {
  const ms = /^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ValidationError(field, `${JSON.stringify(text)} is not an ISO 8601 time or milliseconds since the epoch`);
  return ms;
}
