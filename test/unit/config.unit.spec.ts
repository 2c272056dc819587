/**
 * The configuration table (precedence, parsing, secrets), its rendering in
 * docs/CONFIGURATION.md, the error codes in docs/HTTP.md, token patterns, and the HTTP schemas'
 * name patterns against the key module's validation.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, parseBackoff, parseDuration, redactUrl, renderConfigTable, scrubSecrets } from '../../src/app/config.js';
import { ErrorCodes, ForbiddenError, UnauthorizedError } from '../../src/core/errors.js';
import { toJobId, toQueueName } from '../../src/core/keys.js';
import { authorize, patternToRegExp, TokenRegistry, tokenDigest } from '../../src/server/auth.js';
import { isCluster } from '../../src/redis/connection.js';
import { mongoFromConfig, redisFromConfig } from '../../src/app/context.js';
import { JOB_ID_PATTERN, QUEUE_NAME_PATTERN } from '../../src/server/schemas.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('configuration', () => {
  it('takes a flag over the environment over the default, and the first variable set', () => {
    expect(loadConfig({ env: {} }).port).toBe(8080);
    expect(loadConfig({ env: { PORT: '9000' } }).port).toBe(9000);
    expect(loadConfig({ env: { PORT: '9000', SLUICE_PORT: '9100' } }).port).toBe(9100);
    expect(loadConfig({ env: { SLUICE_PORT: '9100' }, flags: { port: '9200' } }).port).toBe(9200);
    expect(loadConfig({ env: { SLUICE_LOCAL_NO_AUTH: 'yes' } }).localNoAuth).toBe(true);
    expect(loadConfig({ env: { SLUICE_LOCAL_NO_AUTH: 'yes' }, flags: { localNoAuth: false } }).localNoAuth).toBe(false);
  });

  it('parses durations, sizes, backoffs and retention limits, naming the variable or flag in errors', () => {
    expect(parseDuration('1500', 'x')).toBe(1500);
    expect(parseDuration('30s', 'x')).toBe(30_000);
    expect(parseDuration('1.5h', 'x')).toBe(5_400_000);
    expect(parseBackoff('exponential:1s:1m:0.5', 'x')).toEqual({ type: 'exponential', delayMs: 1000, maxDelayMs: 60_000, jitter: 0.5 });
    expect(parseBackoff('{"type":"fixed","delayMs":5}', 'x')).toEqual({ type: 'fixed', delayMs: 5 });
    const config = loadConfig({ env: { SLUICE_BODY_LIMIT: '2mb', SLUICE_LEASE: '10s', SLUICE_RETAIN_DEAD_AGE: 'none', SLUICE_RETAIN_COMPLETED_COUNT: '5' } });
    expect(config).toMatchObject({ bodyLimit: 2 * 1024 * 1024, lease: 10_000, retainDeadAge: null, retainCompletedCount: 5, retainCompletedAge: undefined });
    expect(() => loadConfig({ env: { SLUICE_LEASE: 'soon' } })).toThrow(/^SLUICE_LEASE: must be a duration/);
    expect(() => loadConfig({ env: {}, flags: { port: '70000' } })).toThrow(/^--port: must be an integer from 0 to 65535/);
    expect(() => loadConfig({ env: { REDIS_URL: 'http://x' } })).toThrow(/^REDIS_URL: must start with redis:\/\/ or rediss:\/\//);
    expect(() => loadConfig({ env: { SLUICE_BACKOFF: 'linear:5' } })).toThrow(/^SLUICE_BACKOFF/);
    expect(() => loadConfig({ env: { SLUICE_LOG_LEVEL: 'loud' } })).toThrow(/^SLUICE_LOG_LEVEL: must be one of fatal/);
  });

  it('never shows secrets', () => {
    expect(redactUrl('redis://user:pa55@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(scrubSecrets('connect to mongodb://svc:pa55@db:27017 failed; also rediss://:pa55@r:1')).not.toContain('pa55');
    const shown = JSON.stringify(
      describeConfig(loadConfig({ env: { REDIS_URL: 'redis://u:pa55@h:1', MONGO_URL: 'mongodb://u:pa55@h:2', SLUICE_TOKENS: '[pa55]', SLUICE_REDIS_PASSWORD: 'pa55' } })),
    );
    expect(shown).not.toContain('pa55');
    expect(shown).toContain('redis://u:***@h:1');
  });

  it('takes a Redis Cluster URL (several hosts), refuses a malformed one, and masks its password', () => {
    const url = 'redis+cluster://app:pa55@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002';
    expect(loadConfig({ env: { REDIS_URL: url } }).redisUrl).toBe(url);
    expect(loadConfig({ env: {}, flags: { redisUrl: 'rediss+cluster://h1:1,h2:2' } }).redisUrl).toBe('rediss+cluster://h1:1,h2:2');
    expect(() => loadConfig({ env: { REDIS_URL: 'redis+cluster://h1:1,h2:0' } })).toThrow(/^REDIS_URL: has a bad cluster node "h2:0"/);
    expect(() => loadConfig({ env: { REDIS_URL: 'redis+cluster://h1:1/0' } })).toThrow(/^REDIS_URL: must look like redis\+cluster:\/\//);
    expect(() => loadConfig({ env: { REDIS_URL: 'redis://h1:1,h2:2' } })).toThrow(/^REDIS_URL: is not a URL/);
    expect(redactUrl(url)).toBe('redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002');
    expect(redactUrl('rediss+cluster://:pa55@h1:1')).toBe('rediss+cluster://:***@h1:1');
    expect(redactUrl('redis+cluster://app:pa@55/x@h1:1,h2:2')).toBe('redis+cluster://app:***@h1:1,h2:2');
    expect(scrubSecrets(`Failed to connect to ${url}: ECONNREFUSED`)).not.toContain('pa55');
    const shown = JSON.stringify(describeConfig(loadConfig({ env: { REDIS_URL: url, SLUICE_REDIS_PASSWORD: 'pa55' } })));
    expect(shown).not.toContain('pa55');
    expect(shown).toContain('redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002');

    // The service's connection is a Cluster; SLUICE_REDIS_USERNAME / _PASSWORD override the URL's.
    const cluster = redisFromConfig(loadConfig({ env: { REDIS_URL: 'redis+cluster://app:old@127.0.0.1:1,127.0.0.1:2', SLUICE_REDIS_PASSWORD: 'new' } }), { connectionName: 'sluice:test' });
    try {
      expect(isCluster(cluster)).toBe(true);
      const options = (cluster as Cluster).options.redisOptions;
      expect(options).toMatchObject({ username: 'app', password: 'new', connectionName: 'sluice:test', maxRetriesPerRequest: 3 });
      expect((cluster as unknown as { startupNodes: unknown }).startupNodes).toEqual([
        { host: '127.0.0.1', port: 1 },
        { host: '127.0.0.1', port: 2 },
      ]);
    } finally {
      cluster.disconnect();
    }
  });

  it('lets SLUICE_REDIS_USERNAME / SLUICE_REDIS_PASSWORD override the credentials of a single-server URL', () => {
    const redis = redisFromConfig(loadConfig({ env: { REDIS_URL: 'redis://app:old@127.0.0.1:1/2', SLUICE_REDIS_PASSWORD: 'new' } }), { connectionName: 'sluice:test' });
    const both = redisFromConfig(loadConfig({ env: { REDIS_URL: 'rediss://app:old@127.0.0.1:1', SLUICE_REDIS_USERNAME: 'svc', SLUICE_REDIS_PASSWORD: 'new' } }));
    const none = redisFromConfig(loadConfig({ env: { REDIS_URL: 'redis://app:old@127.0.0.1:1' } }));
    try {
      expect((redis as Redis).options).toMatchObject({ username: 'app', password: 'new', db: 2, host: '127.0.0.1', port: 1 });
      expect((both as Redis).options).toMatchObject({ username: 'svc', password: 'new' });
      expect((both as Redis).options.tls).toBeDefined();
      expect((none as Redis).options).toMatchObject({ username: 'app', password: 'old' });
    } finally {
      for (const client of [redis, both, none]) client.disconnect();
    }
  });

  it('masks MongoDB credentials in replica-set URLs, unencoded passwords and secret query options', () => {
    expect(redactUrl('mongodb://svc:pa55@h1:1,h2:2/?replicaSet=rs&tls=true')).toBe('mongodb://svc:***@h1:1,h2:2/?replicaSet=rs&tls=true');
    expect(redactUrl('mongodb://svc:pa@55@h:1/')).toBe('mongodb://svc:***@h:1/');
    expect(redactUrl('mongodb://svc:pa/55@h:1')).toBe('mongodb://svc:***@h:1');
    expect(redactUrl('mongodb://h:1/?tls=true&tlsCAFile=%2Fca.pem&tlsCertificateKeyFilePassword=pa55')).toBe('mongodb://h:1/?tls=true&tlsCAFile=%2Fca.pem&tlsCertificateKeyFilePassword=***');
    expect(redactUrl('pa55')).toBe('<unparsable URL>');
    const message = 'failed: "mongodb://svc:pa@55@h1,h2/?authMechanismProperties=AWS_SESSION_TOKEN:pa55&appName=x" and mongodb://h/?tlsCertificateKeyFilePassword=pa55';
    expect(scrubSecrets(message)).not.toContain('pa55');
    expect(scrubSecrets(message)).toContain('mongodb://svc:***@h1,h2/?authMechanismProperties=***&appName=x');
  });

  it('builds the MongoDB client from the URL plus the user, password and CA options (no connection)', async () => {
    // A replica-set seed list is a valid MONGO_URL although the WHATWG URL parser refuses it.
    expect(loadConfig({ env: { MONGO_URL: 'mongodb://h1:1,h2:2/?replicaSet=rs' } }).mongoUrl).toBe('mongodb://h1:1,h2:2/?replicaSet=rs');
    expect(() => loadConfig({ env: { MONGO_URL: 'h1:1,h2:2' } })).toThrow(/^MONGO_URL: must start with mongodb:\/\//);
    expect(() => loadConfig({ env: { MONGO_URL: 'redis://h1:1,h2:2/' } })).toThrow(/^MONGO_URL: is not a URL/);
    const client = (env: Record<string, string>) => mongoFromConfig(loadConfig({ env }));
    const credentials = (env: Record<string, string>) => client(env).options.credentials;
    expect(credentials({ MONGO_URL: 'mongodb://alice:old@h:1/', SLUICE_MONGO_PASSWORD: 'n%w' })).toMatchObject({ username: 'alice', password: 'n%w' });
    expect(credentials({ MONGO_URL: 'mongodb://alice:p%40ss@h1:1,h2:2/', SLUICE_MONGO_USERNAME: 'bob' })).toMatchObject({ username: 'bob', password: 'p@ss' });
    expect(credentials({ MONGO_URL: 'mongodb://h:1/', SLUICE_MONGO_USERNAME: 'bob', SLUICE_MONGO_PASSWORD: 'pw' })).toMatchObject({ username: 'bob', password: 'pw', source: 'admin' });
    expect(credentials({ MONGO_URL: 'mongodb://h:1/' })).toBeUndefined();
    expect(() => client({ MONGO_URL: 'mongodb://h:1/', SLUICE_MONGO_PASSWORD: 'pa55' })).toThrow(/^SLUICE_MONGO_PASSWORD: needs a user/);
    expect(() => client({ MONGO_URL: 'mongodb://h:1/', SLUICE_MONGO_TLS_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/^SLUICE_MONGO_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem: ENOENT/);
    const tls = client({ MONGO_URL: 'mongodb://h:1/', SLUICE_MONGO_TLS_CA_FILE: fileURLToPath(import.meta.url) });
    expect(tls.options).toMatchObject({ tls: true, tlsCAFile: fileURLToPath(import.meta.url) });
    await tls.close();
  });

  it('docs/CONFIGURATION.md holds the table generated from the code', () => {
    const doc = readFileSync(join(root, 'docs', 'CONFIGURATION.md'), 'utf8');
    const table = /<!-- config-table:begin -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(doc)?.[1];
    expect(table, 'regenerate the table with renderConfigTable()').toBe(renderConfigTable());
  });

  it('docs/HTTP.md lists every error code', () => {
    const doc = readFileSync(join(root, 'docs', 'HTTP.md'), 'utf8');
    for (const code of Object.keys(ErrorCodes)) expect(doc, code).toContain(`\`${code}\``);
  });
});

describe('tokens and patterns', () => {
  it('matches queue patterns whole, with * and ? only', () => {
    const re = patternToRegExp('billing-*.eu?');
    expect(re.test('billing-x.eu1')).toBe(true);
    expect(re.test('billing-x.eu')).toBe(false);
    expect(re.test('xbilling-x.eu1')).toBe(false);
    expect(patternToRegExp('a.b').test('axb')).toBe(false);
  });

  it('authenticates by digest and authorizes by scope and pattern', () => {
    const registry = new TokenRegistry([
      { name: 'p', token: 'publisher-token-000001', scopes: ['publish'], queues: ['t-*'] },
      { name: 'a', sha256: tokenDigest('admin-token-000000001'), scopes: ['admin'], queues: ['*'] },
    ]);
    expect(() => registry.authenticate(undefined)).toThrow(UnauthorizedError);
    expect(() => registry.authenticate('Bearer nope')).toThrow(UnauthorizedError);
    const publisher = registry.authenticate('Bearer publisher-token-000001');
    expect(() => authorize(publisher, 'publish', { queue: 't-1' })).not.toThrow();
    expect(() => authorize(publisher, 'publish', { queue: 'other' })).toThrow(ForbiddenError);
    expect(() => authorize(publisher, 'read', { queue: 't-1' })).toThrow(/lacks the read scope/);
    const admin = registry.authenticate('bearer admin-token-000000001');
    expect(() => authorize(admin, 'consume', { queue: 'anything', allQueues: true })).not.toThrow();
    expect(() => new TokenRegistry([{ token: 'same-token-0000000001', scopes: ['read'], queues: ['*'] }, { token: 'same-token-0000000001', scopes: ['admin'], queues: ['*'] }])).toThrow(/twice/);
  });

  it('the HTTP name patterns accept exactly what the key module accepts', () => {
    const samples = ['a', 'A-1', 'a.b_c', '-a', '.a', 'a b', 'a:b', 'a/b', 'a@b+c=d', 'ä', 'a{b}', '', 'x'.repeat(5)];
    const accepts = (f: (v: string) => unknown, v: string): boolean => {
      try {
        f(v);
        return true;
      } catch {
        return false;
      }
    };
    for (const v of samples) {
      expect({ v, queue: new RegExp(QUEUE_NAME_PATTERN).test(v) }).toEqual({ v, queue: accepts(toQueueName, v) });
      expect({ v, id: new RegExp(JOB_ID_PATTERN).test(v) }).toEqual({ v, id: accepts(toJobId, v) });
    }
  });
});
