/**
 * The payload store contract: every {@link PayloadStore} implementation runs this suite
 * (`MemoryPayloadStore` in a unit spec, `MongoPayloadStore` in an int spec), so the in-memory store
 * used by unit tests cannot drift from the real one.
 */
import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClosedError,
  PayloadConflictError,
  PayloadNotFoundError,
  ValidationError,
  isSluiceError,
} from '../../src/core/errors.js';
import type { PayloadRef } from '../../src/events/types.js';
import { MAX_PAYLOAD_BYTES, type PayloadStore } from '../../src/payloads/index.js';

/** A clock the suite moves by hand. */
export interface ManualClock {
  now(): number;
  advance(ms: number): void;
}

/** Creates a store under test. Each call must return a new, independent store object. */
export type PayloadStoreFactory = (options: { clock: ManualClock }) => PayloadStore | Promise<PayloadStore>;

function manualClock(): ManualClock {
  let time = Date.now();
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

const queueName = (): string => `t-${randomUUID()}`;
const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const jsonBytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/** Resolves to the error `promise` rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

async function expectValidationError(promise: Promise<unknown>, field: string | RegExp): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).field).toMatch(field);
}

/** Tricky JSON values: odd strings, keys MongoDB would refuse in a document, deep nesting. */
const protoKeyed = (): unknown => JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');

function trickyJsonValues(): unknown[] {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { level: deep };
  return [
    null,
    true,
    false,
    0,
    -1.5,
    1e308,
    5e-324,
    Number.MAX_SAFE_INTEGER,
    '',
    'quote " backslash \\ newline \n tab \t',
    'NUL \u0000 inside',
    'emoji 😀, 中文, café, \u{10FFFF}',
    'lone surrogates \ud800 and \udfff',
    'line separators \u2028 \u2029',
    [],
    {},
    [1, 'two', null, [3, [4, { five: 5 }]], { six: [6] }],
    { $set: { 'a.b': 1 }, '$where': 'x', 'dotted.key': ['.'], '': 'empty key', constructor: 'c', toString: 's' },
    protoKeyed(),
    { nested: { arrays: [[[]], [{}]], nulls: [null, { n: null }] } },
    deep,
  ];
}

/**
 * Runs the payload store contract against the stores `factory` makes.
 * @param name shown in the suite title, e.g. `MemoryPayloadStore`.
 */
export function testPayloadStore(name: string, factory: PayloadStoreFactory): void {
  describe(`PayloadStore contract: ${name}`, () => {
    const clock = manualClock();
    let store: PayloadStore;

    beforeAll(async () => {
      store = await factory({ clock });
    });
    afterAll(async () => {
      await store.close();
    });

    describe('round trips', () => {
      it('returns JSON values deep-equal, including odd strings and $/. keys', async () => {
        const queue = queueName();
        const values = trickyJsonValues();
        const refs = await store.put(
          queue,
          values.map((value) => ({ value })),
        );
        expect(refs).toHaveLength(values.length);
        for (const [i, ref] of refs.entries()) {
          const read = await store.get(queue, ref);
          expect(read).toEqual(values[i]);
        }
        const [protoRef] = await store.put(queue, [{ value: protoKeyed() }]);
        const proto = (await store.get(queue, protoRef as PayloadRef)) as Record<string, unknown>;
        expect(Object.keys(proto)).toEqual(['__proto__', 'x']);
        expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
      });

      it('returns any JSON value as JSON would (property)', async () => {
        const queue = queueName();
        await fc.assert(
          fc.asyncProperty(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }), async (values) => {
            const refs = await store.put(
              queue,
              values.map((value) => ({ value })),
            );
            const read = await store.getMany(queue, refs);
            // JSON has no -0: it reads back as 0, exactly as JSON.parse(JSON.stringify()) gives.
            expect(refs.map((ref) => read.get(ref.id))).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
          }),
          { numRuns: 25 },
        );
      });

      it('returns binary values byte for byte as fresh Uint8Arrays', async () => {
        const queue = queueName();
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const buffer = Buffer.from('a Buffer is a Uint8Array', 'utf8');
        const [allRef, bufferRef, emptyRef] = await store.put(queue, [
          { value: all },
          { value: buffer },
          { value: new Uint8Array(0) },
        ]);
        all[0] = 99; // the store kept its own copy
        const read = await store.get(queue, allRef as PayloadRef);
        expect(read).toBeInstanceOf(Uint8Array);
        expect([...(read as Uint8Array)]).toEqual(Array.from({ length: 256 }, (_, i) => i));
        (read as Uint8Array)[1] = 42; // and hands out copies
        expect((await store.get(queue, allRef as PayloadRef) as Uint8Array)[1]).toBe(1);
        expect(Buffer.from(await store.get(queue, bufferRef as PayloadRef) as Uint8Array).toString('utf8')).toBe(
          'a Buffer is a Uint8Array',
        );
        expect(await store.get(queue, emptyRef as PayloadRef)).toEqual(new Uint8Array(0));
        expect(emptyRef).toMatchObject({ encoding: 'binary', size: 0 });
      });

      it('reads -0 back as 0, as JSON does', async () => {
        const queue = queueName();
        const ref = await store.put(queue, { value: { n: -0 } });
        expect(Object.is(((await store.get(queue, ref)) as { n: number }).n, 0)).toBe(true);
      });
    });

    describe('references', () => {
      it('carry the encoding, byte size and sha256 of the stored bytes', async () => {
        const queue = queueName();
        const value = { text: 'café ☕' };
        const bytes = Uint8Array.from([0, 255, 1, 254]);
        const [json, binary] = await store.put(queue, [{ value }, { value: bytes }]);
        expect(json).toMatchObject({ encoding: 'json', size: jsonBytes(value).length, hash: sha256(jsonBytes(value)) });
        expect(binary).toMatchObject({ encoding: 'binary', size: 4, hash: sha256(bytes) });
      });

      it('keep given ids and generate distinct ones for the rest, in input order', async () => {
        const queue = queueName();
        const refs = await store.put(queue, [
          { id: 'invoice:2024:17', value: 1 },
          { value: 2 },
          { value: 3 },
          { id: 'a/b+c=d@e.f_g-h', value: 4 },
        ]);
        expect(refs[0]?.id).toBe('invoice:2024:17');
        expect(refs[3]?.id).toBe('a/b+c=d@e.f_g-h');
        expect(refs[1]?.id).not.toBe(refs[2]?.id);
        expect(await Promise.all(refs.map((ref) => store.get(queue, ref.id)))).toEqual([1, 2, 3, 4]);
      });

      it('put of one item resolves to one ref; put of an empty list to none', async () => {
        const queue = queueName();
        const ref = await store.put(queue, { value: 'one' });
        expect(ref).toMatchObject({ encoding: 'json' });
        expect(Array.isArray(ref)).toBe(false);
        expect(await store.put(queue, [])).toEqual([]);
      });
    });

    describe('batches', () => {
      it('getMany returns every stored id, leaves out missing ones and accepts ids and refs mixed', async () => {
        const queue = queueName();
        const refs = await store.put(
          queue,
          Array.from({ length: 20 }, (_, i) => ({ value: i % 2 ? { i } : Uint8Array.of(i) })),
        );
        const asked = [...refs, refs[0]?.id as string, 'missing-id', refs[1] as PayloadRef];
        const read = await store.getMany(queue, asked);
        expect([...read.keys()].sort()).toEqual(refs.map((ref) => ref.id).sort());
        expect(read.get(refs[3]?.id as string)).toEqual({ i: 3 });
        expect(read.get(refs[4]?.id as string)).toEqual(Uint8Array.of(4));
        expect(read.has('missing-id')).toBe(false);
        expect((await store.getMany(queue, [])).size).toBe(0);
      });

      it('keeps queues apart: the same id in two queues holds two payloads', async () => {
        const [a, b] = [queueName(), queueName()];
        await store.put(a, { id: 'same', value: 'in a' });
        await store.put(b, { id: 'same', value: 'in b' });
        expect(await store.get(a, 'same')).toBe('in a');
        expect(await store.get(b, 'same')).toBe('in b');
        await store.delete(a, ['same']);
        expect(await store.get(b, 'same')).toBe('in b');
      });
    });

    describe('missing payloads and conflicts', () => {
      it('get of an unknown id rejects with PayloadNotFoundError', async () => {
        const queue = queueName();
        const error = await rejection(store.get(queue, 'never-stored'));
        expect(error).toBeInstanceOf(PayloadNotFoundError);
        expect(isSluiceError(error, 'SLUICE_ERR_PAYLOAD_NOT_FOUND')).toBe(true);
        expect((error as PayloadNotFoundError).httpStatus).toBe(404);
      });

      it('putting the same content under the same id again succeeds (idempotent retry)', async () => {
        const queue = queueName();
        const first = await store.put(queue, [{ id: 'a', value: { v: 1 } }, { id: 'b', value: Uint8Array.of(1) }]);
        const again = await store.put(queue, [
          { id: 'a', value: { v: 1 } },
          { id: 'c', value: 'new' },
          { id: 'b', value: Uint8Array.of(1) },
        ]);
        expect([again[0], again[2]]).toEqual(first);
        expect(await store.getMany(queue, again)).toEqual(
          new Map<string, unknown>([
            ['a', { v: 1 }],
            ['c', 'new'],
            ['b', Uint8Array.of(1)],
          ]),
        );
      });

      it('different content under an existing id is a PayloadConflictError and leaves the original', async () => {
        const queue = queueName();
        await store.put(queue, { id: 'x', value: 'original' });
        const error = await rejection(store.put(queue, { id: 'x', value: 'changed' }));
        expect(error).toBeInstanceOf(PayloadConflictError);
        expect((error as PayloadConflictError).httpStatus).toBe(409);
        // Same bytes, other encoding: the JSON text "x" vs the bytes of that text.
        await store.put(queue, { id: 'y', value: 'x' });
        expect(await rejection(store.put(queue, { id: 'y', value: jsonBytes('x') }))).toBeInstanceOf(
          PayloadConflictError,
        );
        expect(await store.get(queue, 'x')).toBe('original');
        expect(await store.get(queue, 'y')).toBe('x');
      });

      it('a reference whose hash or encoding does not match the stored payload is a conflict', async () => {
        const queue = queueName();
        const ref = await store.put(queue, { value: 'stored' });
        const forged: PayloadRef = { ...ref, hash: sha256(jsonBytes('other')) };
        expect(await rejection(store.get(queue, forged))).toBeInstanceOf(PayloadConflictError);
        expect(await rejection(store.getMany(queue, [forged]))).toBeInstanceOf(PayloadConflictError);
        expect(await rejection(store.get(queue, { ...ref, encoding: 'binary' }))).toBeInstanceOf(
          PayloadConflictError,
        );
      });
    });

    describe('validation', () => {
      class Point {
        constructor(readonly x: number) {}
      }
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const bad: [string, unknown, RegExp][] = [
        ['undefined', undefined, /^item\.value$/],
        ['a function', () => 1, /^item\.value$/],
        ['a symbol', Symbol('s'), /^item\.value$/],
        ['a bigint', 10n, /^item\.value$/],
        ['NaN', Number.NaN, /^item\.value$/],
        ['Infinity', { deep: [Number.POSITIVE_INFINITY] }, /^item\.value\.deep\[0\]$/],
        ['a Date', { at: new Date(0) }, /^item\.value\.at$/],
        ['a Map', new Map([[1, 2]]), /^item\.value$/],
        ['a class instance', [new Point(1)], /^item\.value\[0\]$/],
        ['undefined in an object', { a: undefined }, /^item\.value\.a$/],
        ['undefined in an array', [1, undefined], /^item\.value\[1\]$/],
        // eslint-disable-next-line no-sparse-arrays -- the hole is the point
        ['a sparse array', [1, , 3], /^item\.value\[1\]$/],
        ['a cycle', cyclic, /^item\.value\.self$/],
        ['binary inside JSON', { bytes: Uint8Array.of(1) }, /^item\.value\.bytes$/],
        ['a typed array other than Uint8Array', new Float32Array(2), /^item\.value$/],
      ];
      it.each(bad)('rejects %s with a ValidationError naming the field', async (_, value, field) => {
        await expectValidationError(store.put(queueName(), { value }), field);
      });

      it('rejects bad queue names, ids and references', async () => {
        const queue = queueName();
        await expectValidationError(store.put('', { value: 1 }), 'queue');
        await expectValidationError(store.put('bad queue!', [{ value: 1 }]), 'queue');
        await expectValidationError(store.get('{tag}', 'x'), 'queue');
        await expectValidationError(store.put(queue, { id: '', value: 1 }), 'item.id');
        await expectValidationError(store.put(queue, [{ id: 'has space', value: 1 }]), 'items[0].id');
        await expectValidationError(store.put(queue, [{ id: 'x'.repeat(201), value: 1 }]), 'items[0].id');
        await expectValidationError(store.put(queue, [{ id: 7 as unknown as string, value: 1 }]), 'items[0].id');
        await expectValidationError(store.get(queue, 'a$b'), 'ref');
        await expectValidationError(store.get(queue, { id: 'a', encoding: 'json', size: 1, hash: 'md5:00' }), 'ref.hash');
        await expectValidationError(store.getMany(queue, ['ok', 'not ok']), 'refs[1]');
        await expectValidationError(store.delete(queue, ['ok', '']), 'ids[1]');
        await expectValidationError(store.put(queue, 'neither an item nor a list' as unknown as []), /^item$/);
      });

      it('rejects an id repeated within one put', async () => {
        await expectValidationError(
          store.put(queueName(), [
            { id: 'twice', value: 1 },
            { id: 'twice', value: 1 },
          ]),
          'items[1].id',
        );
      });

      it('rejects a payload over the size limit, naming the limit', async () => {
        const error = await rejection(store.put(queueName(), [{ value: 1 }, { value: Buffer.alloc(MAX_PAYLOAD_BYTES + 1) }]));
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe('items[1].value');
        expect((error as ValidationError).message).toContain(String(MAX_PAYLOAD_BYTES));
      });

      it('stores nothing from a batch with one invalid item', async () => {
        const queue = queueName();
        await expectValidationError(
          store.put(queue, [
            { id: 'valid', value: 1 },
            { id: 'invalid', value: undefined },
          ]),
          'items[1].value',
        );
        expect(await rejection(store.get(queue, 'valid'))).toBeInstanceOf(PayloadNotFoundError);
      });
    });

    describe('delete', () => {
      it('deletes the given ids, ignores unknown ones and reports the count', async () => {
        const queue = queueName();
        await store.put(queue, [
          { id: 'd1', value: 1 },
          { id: 'd2', value: 2 },
          { id: 'keep', value: 3 },
        ]);
        expect(await store.delete(queue, ['d1', 'd2', 'unknown', 'd1'])).toBe(2);
        expect(await store.delete(queue, [])).toBe(0);
        expect([...(await store.getMany(queue, ['d1', 'd2', 'keep'])).keys()]).toEqual(['keep']);
      });
    });

    describe('orphan sweep', () => {
      it('deletes only unreferenced payloads older than the grace period, in batches', async () => {
        const queue = queueName();
        const grace = 60_000;
        await store.put(
          queue,
          ['p1', 'p2', 'p3', 'p4', 'p5'].map((id) => ({ id, value: id })),
        );
        clock.advance(grace + 1);
        await store.put(queue, [
          { id: 'young', value: 'young' },
          { id: 'p2', value: 'p2' }, // re-confirmed by an idempotent put: a new grace period
        ]);
        const asked: string[][] = [];
        const result = await store.sweepOrphans(queue, {
          olderThanMs: grace,
          batchSize: 2,
          isReferenced: (ids) => {
            asked.push([...ids]);
            return new Set(ids.filter((id) => id === 'p3'));
          },
        });
        expect(result).toEqual({ examined: 4, deleted: 3 });
        expect(asked).toEqual([
          ['p1', 'p3'],
          ['p4', 'p5'],
        ]);
        expect([...(await store.getMany(queue, ['p1', 'p2', 'p3', 'p4', 'p5', 'young'])).keys()].sort()).toEqual([
          'p2',
          'p3',
          'young',
        ]);
      });

      it('stops and rethrows when isReferenced fails, deleting nothing of that batch', async () => {
        const queue = queueName();
        await store.put(queue, { id: 'o1', value: 1 });
        clock.advance(10);
        const failure = new Error('read model unavailable');
        const error = await rejection(
          store.sweepOrphans(queue, {
            olderThanMs: 5,
            isReferenced: () => Promise.reject(failure),
          }),
        );
        expect(error).toBe(failure);
        expect(await store.get(queue, 'o1')).toBe(1);
      });

      it('rejects a negative grace period and a zero batch size', async () => {
        const isReferenced = (): Set<string> => new Set();
        await expectValidationError(store.sweepOrphans(queueName(), { olderThanMs: -1, isReferenced }), 'olderThanMs');
        await expectValidationError(store.sweepOrphans(queueName(), { batchSize: 0, isReferenced }), 'batchSize');
      });
    });

    describe('health and close', () => {
      it('is healthy while open; after close, calls reject with ClosedError and health says why', async () => {
        const own = await factory({ clock });
        const health = await own.health();
        expect(health.ok).toBe(true);
        expect(health.latencyMs).toBeGreaterThanOrEqual(0);
        expect(health.error).toBeUndefined();
        const ref = await own.put(queueName(), { value: 1 });
        await own.close();
        await own.close(); // idempotent
        expect(await rejection(own.put(queueName(), { value: 1 }))).toBeInstanceOf(ClosedError);
        expect(await rejection(own.get(queueName(), ref))).toBeInstanceOf(ClosedError);
        expect(await rejection(own.getMany(queueName(), [ref]))).toBeInstanceOf(ClosedError);
        expect(await rejection(own.delete(queueName(), [ref.id]))).toBeInstanceOf(ClosedError);
        const closed = await own.health();
        expect(closed.ok).toBe(false);
        expect(closed.error).toMatch(/closed/);
      });
    });
  });
}
