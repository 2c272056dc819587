/**
 * A MongoDB payload store on the run's shared MongoDB wire-protocol server, in a database of its
 * own that `close()` drops.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { MongoPayloadStore } from '../../src/payloads/mongo-store.js';

/** A payload store plus its cleanup. */
export interface TestPayloads {
  store: MongoPayloadStore;
  database: string;
  close(): Promise<void>;
}

/** Opens a payload store in a fresh database `sluice_test_<uuid>`. */
export async function openTestPayloads(): Promise<TestPayloads> {
  const database = `sluice_test_${randomUUID().replace(/-/g, '')}`;
  const client = new MongoClient(inject('mongoUrl'));
  await client.connect();
  const store = new MongoPayloadStore({ client, database });
  return {
    store,
    database,
    async close() {
      await store.close();
      await client.db(database).dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
