/**
 * MongoPayloadStore against the run's shared MongoDB wire-protocol server (FerretDB or mongod):
 * the contract suite, plus what only the real store has — batches as single commands, the
 * document layout, collection naming and client ownership. This file uses its own database,
 * dropped in afterAll.
 */
import { randomUUID } from 'node:crypto';
import { Binary, MongoClient, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClosedError, ValidationError } from '../../src/core/errors.js';
import { hashBytes, MongoPayloadStore, type PayloadRef } from '../../src/payloads/index.js';
import { READ_GROUP_SIZE, readGroup } from '../../src/payloads/encoding.js';
import { GroupedPut } from '../../src/payloads/grouped-put.js';
import { testPayloadStore } from '../contracts/payloadStore.contract.js';

const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;
const queueName = (): string => `t-${randomUUID()}`;
let client: MongoClient;
const commands: CommandStartedEvent[] = [];

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'), { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
  client.on('commandStarted', (event) => commands.push(event));
  await client.connect();
});

afterAll(async () => {
  await client.db(database).dropDatabase();
  await client.close();
});

testPayloadStore('MongoPayloadStore', ({ clock }) => new MongoPayloadStore({ client, database, clock }));

/** Commands of `name` sent for `collection` since `from`. */
function sent(name: string, collection: string, from: number): CommandStartedEvent[] {
  return commands.slice(from).filter((event) => event.commandName === name && event.command[name] === collection);
}

describe('MongoPayloadStore', () => {
  let store: MongoPayloadStore;
  beforeAll(() => {
    store = new MongoPayloadStore({ client, database });
  });
  afterAll(async () => {
    await store.close();
  });

  it('stores 1,000 payloads with one insert and reads them back with equality queries only: 40 group reads of 25', async () => {
    const queue = queueName();
    const collection = store.collectionName(queue);
    const items = Array.from({ length: 1000 }, (_, i) => ({
      value: i % 2 ? { i, text: `payload ${i} ✓`, tags: ['a', 'b'] } : Uint8Array.from([i % 256, 255, 0, i >> 8]),
    }));
    const mark = commands.length;
    const refs = await store.put(queue, items);
    expect(sent('insert', collection, mark)).toHaveLength(1);
    expect(refs).toHaveLength(1000);

    const readMark = commands.length;
    const read = await store.getMany(queue, refs);
    // Equality on an indexed field is what every server (FerretDB included) answers from an
    // index; $in is not. Payloads of one batch are read by group, READ_GROUP_SIZE at a time.
    const finds = sent('find', collection, readMark);
    expect(finds).toHaveLength(1000 / READ_GROUP_SIZE);
    for (const event of finds) expect(Object.values(event.command.filter as object).every((v) => typeof v === 'string')).toBe(true);
    expect(commands.slice(readMark).filter((event) => event.commandName === 'getMore')).toHaveLength(0);
    expect(read.size).toBe(1000);
    refs.forEach((ref, i) => expect(read.get(ref.id)).toEqual(items[i]?.value));
  });

  it('reads part of a group by group when enough of it is asked for, by _id otherwise, and returns only what was asked', async () => {
    const queue = queueName();
    const collection = store.collectionName(queue);
    const items = Array.from({ length: 60 }, (_, i) => ({ value: { i } }));
    const refs = await store.put(queue, items);
    expect(new Set(refs.map((ref) => readGroup(ref.id))).size).toBe(3);
    const some = [refs[0], refs[3], refs[7], refs[20], refs[26], refs[30]] as PayloadRef[];
    const mark = commands.length;
    const read = await store.getMany(queue, [...some, 'missing-id']);
    expect([...read.keys()].sort()).toEqual(some.map((ref) => ref.id).sort());
    some.forEach((ref) => expect(read.get(ref.id)).toEqual({ i: refs.indexOf(ref) }));
    const filters = sent('find', collection, mark).map((event) => event.command.filter as Record<string, unknown>);
    // refs 0, 3, 7, 20 share the first group (one group read); 26 and 30 (second group) and the
    // unknown id are point reads.
    expect(filters.filter((f) => 'group' in f)).toHaveLength(1);
    expect(filters.filter((f) => '_id' in f).map((f) => f._id).sort()).toEqual([refs[26]?.id, refs[30]?.id, 'missing-id'].sort());
  });

  it('groups concurrent single puts (worker results) into few inserts, and a bad value fails only its own put', async () => {
    const queue = queueName();
    const collection = store.collectionName(queue);
    const grouped = new GroupedPut(store, queue);
    const values = Array.from({ length: 300 }, (_, i) => ({ result: i }));
    const settled = await Promise.allSettled([...values.map((v) => grouped.put(v)), grouped.put(Number.NaN)]);
    const last = settled.at(-1);
    expect(last?.status === 'rejected' && last.reason instanceof ValidationError).toBe(true);
    const refs = settled.slice(0, -1).map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    expect(refs.every((ref) => ref !== undefined)).toBe(true);
    const read = await store.getMany(queue, refs as PayloadRef[]);
    refs.forEach((ref, i) => expect(read.get((ref as PayloadRef).id)).toEqual(values[i]));

    // The first put goes out alone; the 299 that arrived while it was in flight follow in one.
    const okMark = commands.length;
    await Promise.all(values.map((v) => grouped.put(v)));
    expect(sent('insert', collection, okMark).length).toBeLessThanOrEqual(2);
  });

  it('lays a payload out as {_id, queue, encoding, data: Binary, size, hash, createdAt, storedAt}', async () => {
    const queue = queueName();
    const value = { $set: { 'a.b': 1 } };
    const ref = await store.put(queue, { id: 'doc:1', value });
    expect(store.collectionName(queue)).toBe(`sluice_payloads_${queue}`);
    const raw = await client.db(database).collection<{ _id: string; [field: string]: unknown }>(`sluice_payloads_${queue}`).findOne({ _id: 'doc:1' });
    expect(raw).toMatchObject({ _id: 'doc:1', queue, encoding: 'json', size: ref.size, hash: ref.hash });
    expect(raw?.data).toBeInstanceOf(Binary);
    const bytes = (raw?.data as Binary).value();
    expect(Buffer.from(bytes).toString('utf8')).toBe(JSON.stringify(value));
    expect(hashBytes(bytes)).toBe(ref.hash);
    expect(raw?.createdAt).toBeInstanceOf(Date);
    expect(raw?.storedAt).toBeInstanceOf(Date);
  });

  it('names collections by prefix or by function', async () => {
    const queue = queueName();
    const prefixed = new MongoPayloadStore({ client, database, collectionPrefix: 'custom' });
    const named = new MongoPayloadStore({ client, database, collectionName: (q) => `by_fn.${q}` });
    await prefixed.put(queue, { id: 'p', value: 'prefixed' });
    await named.put(queue, { id: 'n', value: 'named' });
    const names = (await client.db(database).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining([`custom_${queue}`, `by_fn.${queue}`]));
    expect(await named.get(queue, 'n')).toBe('named');
    expect(() => new MongoPayloadStore({ client, database, collectionName: () => 'system.payloads' }).collectionName('q')).toThrow(
      ValidationError,
    );
    await Promise.all([prefixed.close(), named.close()]);
  });

  it('creates the storedAt index the orphan sweep selects by', async () => {
    const queue = queueName();
    await store.put(queue, { value: 1 });
    await store.sweepOrphans(queue, { isReferenced: () => new Set() });
    const indexes = await client.db(database).collection(store.collectionName(queue)).indexes();
    expect(indexes.map((index) => index.name)).toContain('storedAt_1');
  });

  it('re-puts a partly stored batch: stored ids count once, missing ones are inserted', async () => {
    const queue = queueName();
    const first = await store.put(queue, [
      { id: 'r1', value: 'one' },
      { id: 'r3', value: Uint8Array.of(3) },
    ]);
    const retried = await store.put(queue, [
      { id: 'r1', value: 'one' },
      { id: 'r2', value: 'two' },
      { id: 'r3', value: Uint8Array.of(3) },
    ]);
    expect([retried[0], retried[2]]).toEqual(first);
    expect(await client.db(database).collection(store.collectionName(queue)).countDocuments()).toBe(3);
  });

  describe('client ownership', () => {
    it('closes a client it created from a URL', async () => {
      const owned = new MongoPayloadStore({ url: inject('mongoUrl'), database });
      expect(owned.ownsClient).toBe(true);
      const ref: PayloadRef = await owned.put(queueName(), { value: 'owned' });
      expect(ref.encoding).toBe('json');
      await owned.close();
      await expect(owned.client.db(database).command({ ping: 1 })).rejects.toThrow();
      await expect(owned.put(queueName(), { value: 1 })).rejects.toBeInstanceOf(ClosedError);
    });

    it('leaves a client it was given open', async () => {
      const shared = new MongoPayloadStore({ client, database });
      expect(shared.ownsClient).toBe(false);
      await shared.close();
      await expect(client.db(database).command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
    });

    it('rejects bad options without connecting, and never echoes the URL', () => {
      expect(() => new MongoPayloadStore({ database })).toThrow(ValidationError);
      expect(() => new MongoPayloadStore({ url: inject('mongoUrl'), client })).toThrow(ValidationError);
      expect(() => new MongoPayloadStore({ client, clientOptions: {} })).toThrow(/clientOptions/);
      expect(() => new MongoPayloadStore({ client, writeConcern: { w: 0 } })).toThrow(/writeConcern\.w/);
      expect(() => new MongoPayloadStore({ client, database: 'bad/name' })).toThrow(/database/);
      expect(() => new MongoPayloadStore({ client, retry: { maxAttempts: 0 } })).toThrow(/retry\.maxAttempts/);
      let message = '';
      try {
        new MongoPayloadStore({ url: 'http://user:hunter2@localhost:27017' });
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/^url: /);
      expect(message).not.toContain('hunter2');
    });
  });
});
