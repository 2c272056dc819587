import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { checkJsonValue, encodeItems, MAX_JSON_DEPTH, payloadField } from '../../src/payloads/encoding.js';

/** `depth` nested arrays around 1. */
const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`);

describe('payload nesting limit', () => {
  it('accepts MAX_JSON_DEPTH levels and refuses one more, naming the whole value', () => {
    expect(() => checkJsonValue(nested(MAX_JSON_DEPTH), 'jobs[0].payload')).not.toThrow();
    const refused = (() => {
      try {
        checkJsonValue(nested(10_000), 'jobs[7].payload');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).field).toBe('jobs[7].payload');
    expect((refused as ValidationError).message).toBe('jobs[7].payload: is nested more than 256 levels deep (arrays and objects)');
    expect(() => encodeItems([{ value: 1 }, { value: nested(MAX_JSON_DEPTH + 1) }], 1 << 20)).toThrow(/^items\[1\]\.value: is nested more than 256 levels/);
    expect(() => checkJsonValue(new Uint8Array(3), 'payload')).not.toThrow();
  });

  it("renames a put's item field to the job's payload field", () => {
    const renamed = payloadField(new ValidationError('items[1].value.a[2]', 'is a hole in a sparse array'), [4, 9]);
    expect(renamed).toBeInstanceOf(ValidationError);
    expect((renamed as ValidationError).field).toBe('jobs[9].payload.a[2]');
    expect((renamed as ValidationError).message).toBe('jobs[9].payload.a[2]: is a hole in a sparse array');
    const other = new Error('x');
    expect(payloadField(other, [0])).toBe(other);
  });
});
