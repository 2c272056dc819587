/**
 * Starts one private Redis and one MongoDB wire-protocol server for the whole integration run
 * and hands their URLs to the spec files through `provide`. Tests never flush: each uses its own
 * queue names and Mongo database. Tests that kill or pause a server start their own.
 */
import type { TestProject } from 'vitest/node';
import { MongoServer } from '../src/services/mongo-server.js';
import { RedisServer } from '../src/services/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    mongoUrl: string;
    mongoKind: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, mongo] = await Promise.all([RedisServer.start(), MongoServer.start()]);
  project.provide('redisUrl', redis.url);
  project.provide('mongoUrl', mongo.url);
  project.provide('mongoKind', mongo.kind);
  return async () => {
    await Promise.all([redis.stop(), mongo.stop()]);
  };
}
