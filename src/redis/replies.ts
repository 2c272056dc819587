/**
 * Narrowing of loosely typed ioredis replies. Each helper checks the shape it relies on and
 * throws a `TypeError` naming the command when Redis (or a proxy) answers something else,
 * rather than letting a wrong shape travel on as a typed value.
 *
 * @packageDocumentation
 */

/** One stream entry: its id and its flat field/value list. */
export type StreamEntry = readonly [id: string, fields: string[]];

/** Narrows an XRANGE / XREVRANGE reply (an array of `[id, [field, value, ...]]`). */
export function toStreamEntries(reply: unknown, command: string): StreamEntry[] {
  if (!Array.isArray(reply)) throw unexpected(command, reply);
  return reply.map((item: unknown) => toStreamEntry(item, command));
}

/**
 * Narrows an XREAD reply to the entries of `key`. Accepts the RESP2 / RESP3-legacy shape
 * (`[[key, entries], ...]`), the RESP3 map shape (`{ [key]: entries }`) and `null` (timeout).
 */
export function xreadEntries(reply: unknown, key: string): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    for (const item of reply as unknown[]) {
      if (!Array.isArray(item) || item.length !== 2) throw unexpected('XREAD', reply);
      if (String(item[0]) === key) return toStreamEntries(item[1], 'XREAD');
    }
    return [];
  }
  if (typeof reply === 'object') {
    const entries = (reply as Record<string, unknown>)[key];
    return entries === undefined ? [] : toStreamEntries(entries, 'XREAD');
  }
  throw unexpected('XREAD', reply);
}

/** Narrows the reply of a MULTI/pipeline `exec()`: every command must have succeeded with a string. */
export function execStrings(reply: [error: Error | null, result: unknown][] | null, command: string): string[] {
  if (reply === null) throw new Error(`${command}: transaction aborted`);
  return reply.map(([error, result]) => {
    if (error) throw error;
    if (typeof result !== 'string') throw unexpected(command, result);
    return result;
  });
}

function toStreamEntry(item: unknown, command: string): StreamEntry {
  if (!Array.isArray(item) || item.length !== 2) throw unexpected(command, item);
  const [id, fields] = item as [unknown, unknown];
  if (typeof id !== 'string' || !Array.isArray(fields)) throw unexpected(command, item);
  const values = (fields as unknown[]).map((value) => {
    if (typeof value !== 'string') throw unexpected(command, item);
    return value;
  });
  return [id, values];
}

function unexpected(command: string, reply: unknown): TypeError {
  let text: string;
  try {
    text = JSON.stringify(reply) ?? String(reply);
  } catch {
    text = String(reply);
  }
  return new TypeError(`unexpected ${command} reply: ${text.length > 120 ? `${text.slice(0, 120)}…` : text}`);
}
