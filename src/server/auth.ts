/**
 * Bearer-token authentication of the HTTP service.
 *
 * Each token has scopes and queue patterns. A request is let through when its token is known,
 * has the route's scope (or `admin`, which implies every scope) and, for a route about one queue,
 * one of the token's patterns matches that queue. Tokens come from a JSON file
 * (`SLUICE_AUTH_FILE`) and/or inline JSON (`SLUICE_TOKENS`); each is given in clear (`token`) or as
 * its SHA-256 (`sha256`), so the file need not hold the secret itself. Only digests are kept in
 * memory and compared.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../core/errors.js';
import type { SluiceConfig } from '../app/config.js';

/** What a token may do. `admin` implies the others. */
export const SCOPES = ['publish', 'consume', 'read', 'admin'] as const;
/** A token scope. */
export type Scope = (typeof SCOPES)[number];

const QUEUE_PATTERN = '^[A-Za-z0-9._*?#-]{1,100}$'; // '#': partition names (`orders#*`)

/** One token entry of the auth file or `SLUICE_TOKENS`. */
export const TokenEntry = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Shown in logs and in retried events' })),
    token: Type.Optional(Type.String({ minLength: 16, maxLength: 1000, description: 'The token in clear' })),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the token, instead of the token' })),
    scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1 }),
    queues: Type.Array(Type.String({ pattern: QUEUE_PATTERN }), { minItems: 1, description: 'Queue name patterns; * and ? are wildcards' }),
  },
  { additionalProperties: false },
);
/** One token entry. */
export type TokenEntry = Static<typeof TokenEntry>;

const TokenFile = Type.Union([Type.Array(TokenEntry), Type.Object({ tokens: Type.Array(TokenEntry) }, { additionalProperties: false })]);

const validateEntries = new Ajv({ allErrors: false, strict: false }).compile<Static<typeof TokenFile>>(TokenFile);

/** An authenticated caller. */
export interface Grant {
  /** The token's name (or `token-<n>`), for logs. */
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The queue patterns as configured. */
  readonly patterns: readonly string[];
  /** True when a pattern is `*`: every queue, present and future. */
  readonly allQueues: boolean;
  /** True when the pattern set matches `queue`. */
  covers(queue: string): boolean;
}

/** The grant every request gets when authentication is disabled (`--local-no-auth`). */
export const LOCAL_GRANT: Grant = {
  name: 'local',
  scopes: new Set(SCOPES),
  patterns: ['*'],
  allQueues: true,
  covers: () => true,
};

/** Turns a queue pattern into an anchored regular expression (`*` any run, `?` one character). */
export function patternToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Hex SHA-256 of a token. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token (32 bytes, base64url) and its digest. */
export function generateToken(): { token: string; sha256: string } {
  const token = `slc_${randomBytes(32).toString('base64url')}`;
  return { token, sha256: tokenDigest(token) };
}

function toGrant(entry: TokenEntry, index: number): Grant {
  const regexps = entry.queues.map(patternToRegExp);
  return {
    name: entry.name ?? `token-${index + 1}`,
    scopes: new Set(entry.scopes),
    patterns: entry.queues,
    allQueues: entry.queues.includes('*'),
    covers: (queue) => regexps.some((re) => re.test(queue)),
  };
}

/** The known tokens, by digest. */
export class TokenRegistry {
  private readonly byDigest = new Map<string, Grant>();

  /** @throws {@link ValidationError} naming `source` for a malformed entry or a token given twice. */
  constructor(entries: readonly TokenEntry[], source = 'tokens') {
    entries.forEach((entry, i) => {
      if ((entry.token === undefined) === (entry.sha256 === undefined)) {
        throw new ValidationError(`${source}[${i}]`, 'give exactly one of token and sha256');
      }
      const digest = entry.sha256 ?? tokenDigest(entry.token as string);
      if (this.byDigest.has(digest)) throw new ValidationError(`${source}[${i}]`, 'the same token is configured twice');
      this.byDigest.set(digest, toGrant(entry, i));
    });
  }

  /** Number of tokens. */
  get size(): number {
    return this.byDigest.size;
  }

  /**
   * The grant of an `Authorization` header.
   * @throws {@link UnauthorizedError} when the header is missing, not `Bearer <token>`, or the token is unknown.
   */
  authenticate(header: string | undefined): Grant {
    if (header === undefined || header === '') throw new UnauthorizedError('missing bearer token: send the header Authorization: Bearer <token>');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new UnauthorizedError('malformed Authorization header: expected Bearer <token>');
    const grant = this.byDigest.get(tokenDigest(match[1] as string));
    if (!grant) throw new UnauthorizedError('unknown bearer token');
    return grant;
  }
}

/**
 * Checks that `grant` has `scope` and, when `queue` is given, covers it; with `allQueues`, that
 * it covers every queue (pattern `*`).
 * @throws {@link ForbiddenError} naming what is missing.
 */
export function authorize(grant: Grant, scope: Scope, target: { queue?: string; allQueues?: boolean } = {}): void {
  if (!grant.scopes.has(scope) && !grant.scopes.has('admin')) {
    throw new ForbiddenError(`token ${grant.name} lacks the ${scope} scope`, { details: { scope } });
  }
  if (target.allQueues && !grant.allQueues) {
    throw new ForbiddenError(`token ${grant.name} must cover every queue (pattern *) for this route`);
  }
  if (target.queue !== undefined && !grant.covers(target.queue)) {
    throw new ForbiddenError(`token ${grant.name} does not cover queue ${target.queue}`, { details: { queue: target.queue } });
  }
}

/** Parses token entries from JSON text (an array, or `{tokens: [...]}`). */
export function parseTokenEntries(text: string, source: string): TokenEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ValidationError(source, 'is not valid JSON');
  }
  if (!validateEntries(json)) {
    const error = validateEntries.errors?.[0];
    const where = error?.instancePath ? `${source}${error.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')}` : source;
    throw new ValidationError(where, `${error?.message ?? 'is invalid'}${error?.params && 'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : ''}`);
  }
  return Array.isArray(json) ? json : json.tokens;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The token registry the configuration asks for, or `undefined` when authentication is disabled.
 * @throws {@link ValidationError} when no token is configured and `localNoAuth` is not set, when
 *   `localNoAuth` is set with a non-loopback host or together with tokens, or for a bad token file.
 */
export function registryFromConfig(config: SluiceConfig): TokenRegistry | undefined {
  const entries: TokenEntry[] = [];
  if (config.authFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.authFile, 'utf8');
    } catch (error) {
      throw new ValidationError('SLUICE_AUTH_FILE', `cannot read ${config.authFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    entries.push(...parseTokenEntries(text, 'SLUICE_AUTH_FILE'));
  }
  if (config.tokens !== undefined) entries.push(...parseTokenEntries(config.tokens, 'SLUICE_TOKENS'));
  if (config.localNoAuth) {
    if (entries.length > 0) throw new ValidationError('--local-no-auth', 'tokens are configured too: remove them or drop --local-no-auth');
    if (!isLoopback(config.host)) {
      throw new ValidationError('--local-no-auth', `serving without authentication is for local use only; listen on 127.0.0.1 or ::1, not ${config.host}`);
    }
    return undefined;
  }
  if (entries.length === 0) {
    throw new ValidationError(
      'SLUICE_AUTH_FILE',
      'no bearer tokens configured: set SLUICE_AUTH_FILE or SLUICE_TOKENS (see docs/HTTP.md), or pass --local-no-auth to serve without authentication on a loopback address',
    );
  }
  return new TokenRegistry(entries, 'tokens');
}
