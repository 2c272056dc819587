/**
 * `sluice/testing`: what an application's own tests need to run Sluice without infrastructure
 * of their own — in-memory payload store and event log, and private local servers on free ports
 * (Debian's `redis-server`; `mongod` or FerretDB for the MongoDB wire protocol) that a test can
 * kill, pause and restart. Not part of the library core's import graph.
 *
 * @packageDocumentation
 */
export { MemoryPayloadStore, type MemoryPayloadStoreOptions } from './payloads/memory-store.js';
export { MemoryEventLog, type MemoryEventLogOptions } from './events/memory-log.js';
export { RedisServer, startRedisServer, ensureRedisServerBinary, type RedisServerOptions } from './services/redis-server.js';
export {
  MongoServer,
  ensureFerretDbBinary,
  type MongoServerAuthOptions,
  type MongoServerKind,
  type MongoServerOptions,
  type MongoServerTlsOptions,
} from './services/mongo-server.js';
export { PostgresServer } from './services/postgres-server.js';
export { freePort, waitForPort } from './services/process.js';
