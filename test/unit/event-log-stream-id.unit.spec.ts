import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  compareStreamIds,
  formatStreamId,
  MAX_ID_PART,
  nextStreamId,
  parseStreamId,
  resolveRange,
  timeRangeToIdRange,
  type StreamIdParts,
} from '../../src/redis/stream-id.js';

const MAX = MAX_ID_PART.toString();
const id = (text: string): StreamIdParts => parseStreamId(text) as StreamIdParts;
const range = (...args: Parameters<typeof resolveRange>) => {
  const resolved = resolveRange(...args);
  return resolved && `${formatStreamId(resolved.start)}..${formatStreamId(resolved.end)}`;
};

describe('stream ids', () => {
  it.each([
    ['5-3', '5-3'],
    ['5', '5-0'],
    [`${MAX}-${MAX}`, `${MAX}-${MAX}`],
  ])('parses %s as %s', (text, expected) => {
    expect(formatStreamId(id(text))).toBe(expected);
  });

  it.each(['', '-', '+', '$', '5-', '-5', '1-2-3', 'a-1', ' 5-1', '5-1 ', `${MAX_ID_PART + 1n}-0`, `0-${MAX_ID_PART + 1n}`, '1.5-0'])(
    'rejects %j',
    (text) => {
      expect(parseStreamId(text)).toBeUndefined();
    },
  );

  it('fills a missing sequence with 0 or the maximum', () => {
    expect(formatStreamId(parseStreamId('7', 'max')!)).toBe(`7-${MAX}`);
  });

  it('orders ids numerically, not as strings, and steps to the next id', () => {
    const part = fc.bigInt({ min: 0n, max: MAX_ID_PART });
    fc.assert(
      fc.property(part, part, part, part, (am, as, bm, bs) => {
        const a = { ms: am, seq: as };
        const b = { ms: bm, seq: bs };
        const expected = am === bm ? Math.sign(Number(as - bs)) : am < bm ? -1 : 1;
        expect(compareStreamIds(a, b)).toBe(expected);
        const next = nextStreamId(a);
        if (next === undefined) expect(a).toEqual({ ms: MAX_ID_PART, seq: MAX_ID_PART });
        else {
          expect(compareStreamIds(a, next)).toBe(-1);
          // Nothing lies strictly between an id and its successor.
          if (compareStreamIds(a, b) < 0) expect(compareStreamIds(next, b)).toBeLessThanOrEqual(0);
        }
      }),
      { numRuns: 300 },
    );
    expect(compareStreamIds(id('9-0'), id('10-0'))).toBe(-1);
    expect(formatStreamId(nextStreamId(id(`4-${MAX}`))!)).toBe('5-0');
  });
});

describe('resolveRange', () => {
  it.each<[Parameters<typeof resolveRange>[0], string | undefined]>([
    [{}, `0-0..${MAX}-${MAX}`],
    [{ from: '-', to: '+' }, `0-0..${MAX}-${MAX}`],
    [{ from: '5', to: '9' }, `5-0..9-${MAX}`],
    [{ from: '5-2', to: '9-1' }, '5-2..9-1'],
    [{ after: '5-2' }, `5-3..${MAX}-${MAX}`],
    [{ after: '5' }, `5-1..${MAX}-${MAX}`],
    [{ after: `5-${MAX}`, to: '6' }, `6-0..6-${MAX}`],
    [{ after: `${MAX}-${MAX}` }, undefined],
    [{ from: '9', to: '5' }, undefined],
    [{ after: '5-2', to: '5-2' }, undefined],
  ])('%j covers %s', (query, expected) => {
    expect(range(query)).toBe(expected);
  });

  it('rejects both from and after, and malformed ids, naming the field', () => {
    expect(() => resolveRange({ from: '1', after: '2' })).toThrow(ValidationError);
    expect(() => resolveRange({ to: 'now' })).toThrow(/^to: /);
    expect(() => resolveRange({ after: '$' })).toThrow(/^after: /);
  });
});

describe('timeRangeToIdRange', () => {
  it('maps since to <ms>-0 and until to <ms>-<max>, from numbers and Dates alike', () => {
    expect(timeRangeToIdRange({ since: 1000, until: new Date(2000) })).toEqual({ from: '1000-0', to: `2000-${MAX}` });
    expect(timeRangeToIdRange({})).toEqual({});
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s', (ms) => {
    expect(() => timeRangeToIdRange({ since: ms })).toThrow(ValidationError);
  });
});
