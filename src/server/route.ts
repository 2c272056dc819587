/**
 * The one way a route states what it needs: {@link route} turns a short spec (scope, OpenAPI tag
 * and summary, schemas) into fastify route options — the `auth` config the auth hook of
 * src/server/app.ts reads, and the schema with the documented error shape on every route.
 *
 * @packageDocumentation
 */
import type { TSchema } from '@sinclair/typebox';
import type { RouteShorthandOptions } from 'fastify';
import type { Grant, Scope } from './auth.js';
import { errorResponses } from './schemas.js';

/** What a route requires, in its `config`. */
export interface RouteAuth {
  /** The scope needed, or `public` for routes without authentication. */
  scope: Scope | 'public';
  /** The route is about the queue in its `:queue` parameter: the token must cover it. */
  queue?: boolean;
  /** The route shows every queue: the token needs the pattern `*`. */
  allQueues?: boolean;
  /** Authenticate only when this returns true (e.g. `/metrics` unless public). */
  when?: () => boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /**
     * The route refuses a `:queue` that does not exist with 404 `SLUICE_ERR_QUEUE_NOT_FOUND`
     * (checked after authentication and validation). Defaults to true for GET routes, false
     * for the others (publishing and configuring create the queue).
     */
    existingQueue?: boolean;
  }
  interface FastifyRequest {
    /** The caller, set by the auth hook (the local grant when auth is disabled). */
    grant: Grant;
  }
}

/** A route's requirements and documentation, for {@link route}. */
export interface RouteSpec {
  /** The scope needed, or `public` (no authentication). */
  scope: Scope | 'public';
  /** OpenAPI tag. */
  tag: string;
  summary: string;
  /** Path parameters; a `queue` parameter makes the token's queue patterns apply to it. */
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** Answers by status; the error answers (`4xx`, `5xx`: `{error: {code, message, field?}}`) are added unless `errors` is false. */
  response?: Record<number, TSchema>;
  /** @default true */
  errors?: boolean;
  /** See `existingQueue` in the route config (the default depends on the method). */
  existingQueue?: boolean;
  /** The token needs the pattern `*`. */
  allQueues?: boolean;
  /** Authenticate only when this returns true. */
  when?: () => boolean;
  /** No security requirement in the OpenAPI document (public routes). */
  noSecurity?: boolean;
  /** Left out of the OpenAPI document. */
  hide?: boolean;
  /** Largest body accepted (bytes). @default the service's `bodyLimit` */
  bodyLimit?: number;
}

/** Fastify route options (`config` and `schema`) of `spec`. */
export function route(spec: RouteSpec): RouteShorthandOptions {
  const queue = spec.params !== undefined && 'queue' in ((spec.params as { properties?: object }).properties ?? {});
  const auth: RouteAuth = {
    scope: spec.scope,
    ...(queue ? { queue: true } : {}),
    ...(spec.allQueues ? { allQueues: true } : {}),
    ...(spec.when ? { when: spec.when } : {}),
  };
  const response = spec.errors === false ? spec.response : { ...spec.response, ...errorResponses() };
  return {
    ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit }),
    config: { auth, ...(spec.existingQueue === undefined ? {} : { existingQueue: spec.existingQueue }) },
    schema: {
      tags: [spec.tag],
      summary: spec.summary,
      ...(spec.noSecurity ? { security: [] } : {}),
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.querystring ? { querystring: spec.querystring } : {}),
      ...(spec.body ? { body: spec.body } : {}),
      ...(response ? { response } : {}),
      ...(spec.hide ? { hide: true } : {}),
    },
  };
}

/** Options of hidden public routes (the console's static files). */
export const HIDDEN_PUBLIC: RouteShorthandOptions = { config: { auth: { scope: 'public' } }, schema: { hide: true } };
