import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, ENTRY_FIELDS } from '../../src/events/codec.js';
import { EVENT_TYPES, EVENT_VERSIONS, type EventType, type JobEvent } from '../../src/events/types.js';
import { CorruptEventError } from '../../src/core/errors.js';
import { eventOfTypeArb, jobEventArb, text } from '../helpers/arbitraries.js';

const ID = '1700000000000-7';

/** Runs `fn` and returns the CorruptEventError it throws; fails the test for anything else. */
function corruptError(fn: () => unknown): CorruptEventError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptEventError);
    return error as CorruptEventError;
  }
  throw new Error('expected a CorruptEventError, but decoding succeeded');
}

/** Encodes `event` with one of its four fields replaced. */
function withField(event: JobEvent, name: (typeof ENTRY_FIELDS)[number], value: string): string[] {
  const fields = encodeEvent(event);
  const index = fields.indexOf(name);
  fields[index + 1] = value;
  return fields;
}

const created: JobEvent = {
  type: 'created',
  v: 1,
  data: { name: 'send-email', priority: 2, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 1000 } },
  metadata: {
    queue: 'emails',
    jobId: 'invoice:2024:17',
    time: 1_700_000_000_000,
    seq: 1,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  },
};

describe('codec round trip', () => {
  it.each(EVENT_TYPES)('decode(encode(e)) equals e for every %s event', (type: EventType) => {
    fc.assert(
      fc.property(eventOfTypeArb(type), (event) => {
        expect(decodeEvent(ID, encodeEvent(event))).toStrictEqual({ id: ID, ...event });
      }),
      { numRuns: 60 },
    );
  });

  it('the mixed event arbitrary generates every type (the log tests rely on it)', () => {
    const seen = new Set<EventType>();
    fc.assert(
      fc.property(jobEventArb(), (event) => {
        seen.add(event.type);
        expect(decodeEvent(ID, encodeEvent(event))).toStrictEqual({ id: ID, ...event });
      }),
      { numRuns: 300 },
    );
    expect([...seen].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('writes exactly the fields type, v, data, meta in that order', () => {
    const fields = encodeEvent(created);
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual([...ENTRY_FIELDS]);
  });

  it('keeps ids with ":" inside whole', () => {
    expect(decodeEvent(ID, encodeEvent(created)).metadata.jobId).toBe('invoice:2024:17');
  });
});

describe('codec rejects corrupt entries with CorruptEventError naming the entry id', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown type', withField(created, 'type', 'exploded'), /unknown event type "exploded"/],
    ['missing type', encodeEvent(created).slice(2), /missing field "type"/],
    ['missing v', [...encodeEvent(created).slice(0, 2), ...encodeEvent(created).slice(4)], /field "v"/],
    ['missing data', [...encodeEvent(created).slice(0, 4), ...encodeEvent(created).slice(6)], /missing field "data"/],
    ['missing meta (truncated by one pair)', encodeEvent(created).slice(0, 6), /missing field "meta"/],
    ['truncated in the middle of a pair', encodeEvent(created).slice(0, 7), /odd number/],
    ['odd field count', [...encodeEvent(created), 'extra'], /odd number/],
    ['extra field', [...encodeEvent(created), 'extra', '1'], /unexpected field "extra"/],
    ['duplicate field', [...encodeEvent(created), 'v', '1'], /duplicate field "v"/],
    ['empty entry', [], /missing field "type"/],
    ['data is not JSON', withField(created, 'data', '{"name":'), /field "data" is not valid JSON/],
    ['meta is not JSON', withField(created, 'meta', 'NaN'), /field "meta" is not valid JSON/],
    ['data is an array', withField(created, 'data', '[]'), /field "data" must hold a JSON object/],
    ['meta is null', withField(created, 'meta', 'null'), /field "meta" must hold a JSON object/],
    ['future version', withField(created, 'v', String(EVENT_VERSIONS.created + 1)), /schema version 2.*upgrade Sluice/],
    ['version 0', withField(created, 'v', '0'), /field "v" must be a positive integer/],
    ['version with a leading zero', withField(created, 'v', '01'), /field "v"/],
    ['version not an integer', withField(created, 'v', '1.0'), /field "v"/],
    ['wrong type: priority as a string', withField(created, 'data', JSON.stringify({ ...created.data, priority: '2' })), /data\.priority/],
    ['wrong type: negative attempts', withField(created, 'data', JSON.stringify({ ...created.data, maxAttempts: 0 })), /data\.maxAttempts/],
    ['wrong type: time is a float', withField(created, 'meta', JSON.stringify({ ...created.metadata, time: 1.5 })), /meta\.time/],
    ['wrong type: seq 0', withField(created, 'meta', JSON.stringify({ ...created.metadata, seq: 0 })), /meta\.seq/],
    ['empty queue', withField(created, 'meta', JSON.stringify({ ...created.metadata, queue: '' })), /meta\.queue/],
    ['bad traceparent', withField(created, 'meta', JSON.stringify({ ...created.metadata, traceparent: '00-xyz-01' })), /meta\.traceparent/],
    ['unexpected meta property', withField(created, 'meta', JSON.stringify({ ...created.metadata, tenant: 'a' })), /unexpected property "tenant"/],
    [
      'unexpected data property',
      withField(created, 'data', JSON.stringify({ ...created.data, prio: 1 })),
      /data has unexpected property "prio"/,
    ],
    [
      'bad payload hash',
      withField(created, 'data', JSON.stringify({ ...created.data, payload: { id: 'p', encoding: 'json', size: 1, hash: 'md5:00' } })),
      /data\.payload\.hash/,
    ],
    [
      'failed and final with a retryAt',
      ['type', 'failed', 'v', '1', 'data', JSON.stringify({ attempt: 1, error: { name: 'E', message: 'm' }, final: true, retryAt: 5 }), 'meta', JSON.stringify(created.metadata)],
      /data\.retryAt must be absent when final/,
    ],
    [
      'failed, not final, without retryAt',
      ['type', 'failed', 'v', '1', 'data', JSON.stringify({ attempt: 1, error: { name: 'E', message: 'm' }, final: false }), 'meta', JSON.stringify(created.metadata)],
      /data\.retryAt must be present when not final/,
    ],
    [
      'reprioritized to a lane that does not exist',
      ['type', 'reprioritized', 'v', '1', 'data', JSON.stringify({ from: 2, to: 5 }), 'meta', JSON.stringify(created.metadata)],
      /data\.to must be an integer from 0 to 4/,
    ],
    [
      'reprioritized without from',
      ['type', 'reprioritized', 'v', '1', 'data', JSON.stringify({ to: 1 }), 'meta', JSON.stringify(created.metadata)],
      /data\.from/,
    ],
    [
      'backoff of an unknown type',
      withField(created, 'data', JSON.stringify({ ...created.data, backoff: { type: 'linear', delayMs: 1 } })),
      /data\.backoff\.type/,
    ],
  ];

  it.each(cases)('%s', (_name, fields, reason) => {
    const error = corruptError(() => decodeEvent(ID, fields));
    expect(error.entryId).toBe(ID);
    expect(error.message).toContain(ID);
    expect(error.code).toBe('SLUICE_ERR_CORRUPT_EVENT');
    expect(error.message).toMatch(reason);
  });

  it('never throws anything but CorruptEventError on random field lists', () => {
    const name = fc.oneof(fc.constantFrom(...ENTRY_FIELDS, 'id', ''), text(8));
    const value = fc.oneof(fc.constantFrom(...EVENT_TYPES, '1', '{}', '[]', 'null'), text(40), fc.json());
    fc.assert(
      fc.property(fc.array(fc.oneof(name, value), { maxLength: 12 }), (fields) => {
        try {
          decodeEvent(ID, fields);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptEventError);
          expect((error as CorruptEventError).entryId).toBe(ID);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but CorruptEventError when one value of a valid entry is replaced', () => {
    const replacement = fc.oneof(text(40), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v)));
    fc.assert(
      fc.property(jobEventArb(), fc.constantFrom(...ENTRY_FIELDS), replacement, (event, field, value) => {
        let decoded: JobEvent | undefined;
        try {
          decoded = decodeEvent(ID, withField(event, field, value));
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptEventError);
          expect((error as CorruptEventError).entryId).toBe(ID);
          return;
        }
        // Whatever decodes is a valid event: it survives its own round trip unchanged.
        expect(decodeEvent(ID, encodeEvent(decoded))).toStrictEqual(decoded);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but CorruptEventError when a data property is replaced by any JSON', () => {
    fc.assert(
      fc.property(jobEventArb(), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), (event, key, value) => {
        const data = { ...(event.data as Record<string, unknown>) };
        const keys = Object.keys(data);
        const target = keys.length > 0 && key.length % 2 === 0 ? (keys[key.length % keys.length] as string) : key;
        data[target] = value;
        try {
          decodeEvent(ID, withField(event, 'data', JSON.stringify(data)));
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptEventError);
          expect((error as CorruptEventError).entryId).toBe(ID);
        }
      }),
      { numRuns: 500 },
    );
  });
});
