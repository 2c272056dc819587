/** route(): one spec gives the auth config, the OpenAPI schema with the error answers, and nothing else. */
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { route } from '../../src/server/route.js';
import { errorResponses, QueueParams } from '../../src/server/schemas.js';

describe('route()', () => {
  it('marks a route with a :queue parameter as about that queue and adds the error answers', () => {
    const Body = Type.Object({ a: Type.String() });
    const Ok = Type.Object({ ok: Type.Boolean() });
    expect(route({ scope: 'admin', tag: 'queues', summary: 's', params: QueueParams, body: Body, response: { 200: Ok }, existingQueue: true })).toEqual({
      config: { auth: { scope: 'admin', queue: true }, existingQueue: true },
      schema: { tags: ['queues'], summary: 's', params: QueueParams, body: Body, response: { 200: Ok, ...errorResponses() } },
    });
  });

  it('keeps service-wide and public routes as declared', () => {
    const when = (): boolean => true;
    expect(route({ scope: 'read', tag: 'ops', summary: 'm', allQueues: true, when })).toEqual({
      config: { auth: { scope: 'read', allQueues: true, when } },
      schema: { tags: ['ops'], summary: 'm', response: errorResponses() },
    });
    expect(route({ scope: 'public', tag: 'ops', summary: 'doc', errors: false, noSecurity: true, hide: true, bodyLimit: 10 })).toEqual({
      bodyLimit: 10,
      config: { auth: { scope: 'public' } },
      schema: { tags: ['ops'], summary: 'doc', security: [], hide: true },
    });
  });
});
