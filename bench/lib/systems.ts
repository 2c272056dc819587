/**
 * The systems a scenario can run, and how each one is labelled in the table. Every label says
 * where the 1 KiB payload lives, so no row can be read as something it is not.
 */

/** A queue implementation under test (or the raw Streams ceiling). */
export type SystemName = 'sluice' | 'sluice-mongo' | 'bullmq' | 'bullmq-empty' | 'raw' | 'raw-1k';

/** What each system is, in the words the table and the JSON use. */
export const SYSTEMS: Record<SystemName, { label: string; where: string; payload: string }> = {
  sluice: {
    label: 'Sluice',
    where: 'none in Redis',
    payload: 'none in Redis: Sluice keeps payloads in MongoDB by design, so this row measures its Redis path alone',
  },
  'sluice-mongo': {
    label: 'Sluice + FerretDB',
    where: '1 KiB in FerretDB',
    payload: '1 KiB JSON in MongoDB-compatible FerretDB 1.24 (SQLite backend), reference in the event',
  },
  bullmq: { label: 'BullMQ', where: '1 KiB in Redis', payload: '1 KiB JSON inline in the Redis job hash' },
  'bullmq-empty': { label: 'BullMQ (data {})', where: '{} in Redis', payload: 'empty object {}: BullMQ structures only (reference row)' },
  raw: { label: 'raw Streams', where: 'id only', payload: 'job id only' },
  'raw-1k': { label: 'raw Streams + 1 KiB', where: '1 KiB in Redis', payload: '1 KiB JSON in the stream entry' },
};

/** Which MongoDB-compatible server holds the payloads of `sluice-mongo`. */
export type MongoKind = 'ferretdb' | 'mongod' | 'external';

/** The description of `system`, naming the real payload server for `sluice-mongo`. */
export function describeSystem(system: SystemName, mongoKind: MongoKind = 'ferretdb'): { label: string; where: string; payload: string } {
  const d = SYSTEMS[system];
  if (system !== 'sluice-mongo' || mongoKind === 'ferretdb') return d;
  const server = mongoKind === 'mongod' ? 'a private mongod' : 'the MongoDB at MONGO_URL';
  return { label: 'Sluice + MongoDB', where: '1 KiB in MongoDB', payload: `1 KiB JSON in ${server}, reference in the event` };
}
