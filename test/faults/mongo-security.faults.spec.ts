/**
 * MongoDB TLS and authentication end to end, against a private FerretDB (TLS only, certificates
 * from a throwaway CA; SCRAM users through FerretDB's `--test-enable-new-auth`): the payload
 * store, the Queue → Worker path, the HTTP service and the CLI work with the right `MONGO_URL`,
 * and with a wrong one fail fast with a typed, non-retryable error that never shows the password —
 * nor does anything the service logs or the CLI prints.
 */
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { Worker } from '../../src/consumers/worker.js';
import { PayloadStoreAccessError, PayloadStoreUnavailableError } from '../../src/core/errors.js';
import { MongoPayloadStore } from '../../src/payloads/index.js';
import { Queue } from '../../src/queue/queue.js';
import { createLogger } from '../../src/server/logger.js';
import { startService } from '../../src/server/serve.js';
import { MongoServer } from '../../src/services/mongo-server.js';
import { testQueueName, waitFor } from '../helpers/dispatch.js';
import { ROOT, testDatabase } from '../helpers/service.js';
import { privateCa, type PrivateCa } from '../helpers/tls.js';

const USER = 'sluice-app';
const PASSWORD = 'Tr0ub4dor-s3cret';
const WRONG = 'n0t-the-Passw0rd';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

let ca: PrivateCa;
let server: MongoServer;
const database = testDatabase();

beforeAll(async () => {
  ca = privateCa();
  server = await MongoServer.start({ tls: { certFile: ca.serverCert, keyFile: ca.serverKey }, auth: { username: USER, password: PASSWORD } });
});

afterAll(async () => {
  await server?.stop();
  ca?.remove();
});

/** The server's URL with `credentials` (`user:password`, or none) and TLS `options`. */
function mongoUrl(credentials: string | undefined, options = `tls=true&tlsCAFile=${encodeURIComponent(ca.caFile)}`, target = server): string {
  const host = target.url.replace('mongodb://', '');
  return `mongodb://${credentials === undefined ? '' : `${credentials}@`}${host}/?${options}`;
}

function store(url: string): MongoPayloadStore {
  const payloads = new MongoPayloadStore({ url, database });
  cleanups.push(() => payloads.close());
  return payloads;
}

/** Runs `fn`, which must reject; returns the error and how long it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await fn().then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

/** Everything an error says: message, details, and its causes' messages. */
function everything(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    parts.push(String(e), e.stack ?? '', JSON.stringify(e));
  }
  return parts.join('\n');
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Starts the HTTP service in process with `mongo` as MONGO_URL; returns it and what it logged. */
async function service(mongo: string, env: Record<string, string> = {}): Promise<{ url: string; logs: () => string }> {
  let logged = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString('utf8');
      done();
    },
  });
  const config = loadConfig({
    env: { REDIS_URL: inject('redisUrl'), MONGO_URL: mongo, SLUICE_MONGO_DATABASE: database, SLUICE_HOST: '127.0.0.1', SLUICE_PORT: '0', SLUICE_LOCAL_NO_AUTH: 'true', SLUICE_OTEL: 'off', ...env },
  });
  const running = await startService(config, { logger: createLogger({ level: 'debug', destination }) });
  cleanups.push(() => running.close());
  return { url: running.url, logs: () => logged };
}

describe('MongoDB over TLS with SCRAM authentication', () => {
  it('works end to end with the right credentials and the CA: store, Queue → Worker, and the HTTP service', async () => {
    const url = mongoUrl(`${USER}:${PASSWORD}`);
    const payloads = store(url);
    const name = testQueueName();
    const queue = new Queue(name, { connection: inject('redisUrl'), payloads });
    cleanups.push(() => queue.close());
    const worker = new Worker<{ n: number }>(name, (job) => ({ doubled: job.payload.n * 2 }), { connection: inject('redisUrl'), payloads, blockMs: 100, metrics: false });
    cleanups.push(() => worker.close(1000));

    const { id } = await queue.publish('direct', { n: 21 });
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    const job = await queue.getOrThrow(id);
    expect(await queue.getResult(job)).toEqual({ doubled: 42 });

    // The service builds its own client, here from a URL without credentials or TLS options plus
    // SLUICE_MONGO_USERNAME / SLUICE_MONGO_PASSWORD / SLUICE_MONGO_TLS_CA_FILE; it logs no password.
    const http = await service(server.url, { SLUICE_MONGO_USERNAME: USER, SLUICE_MONGO_PASSWORD: PASSWORD, SLUICE_MONGO_TLS_CA_FILE: ca.caFile });
    const response = await fetch(`${http.url}/v1/queues/${name}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'http', payload: { n: 50 } }) });
    expect(response.status).toBe(201);
    const { id: httpId } = (await response.json()) as { id: string };
    await waitFor(async () => (await queue.get(httpId))?.state === 'completed');
    expect(await queue.getResult(await queue.getOrThrow(httpId))).toEqual({ doubled: 100 });
    expect(http.logs()).toContain('"mongoPassword":"***"');
    expect(http.logs()).not.toContain(PASSWORD);
  });

  it('refuses a client that does not trust the CA with a clear, typed TLS error, without retrying', async () => {
    const { error, ms } = await failure(() => store(mongoUrl(`${USER}:${PASSWORD}`, 'tls=true')).put(testQueueName(), [{ value: { x: 1 } }]));
    expect(error).toBeInstanceOf(PayloadStoreAccessError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_PAYLOAD_STORE_ACCESS', reason: 'tls', retryable: false });
    expect(String(error)).toMatch(/TLS handshake failed.*tlsCAFile.*unable to verify the first certificate/);
    expect(everything(error)).not.toContain(PASSWORD);
    expect(ms).toBeLessThan(5000); // one server selection, not the 10 s retry budget

    // A plain-text client reaches no server at all (TLS only): the ordinary "unavailable" error.
    const plain = new MongoPayloadStore({ url: mongoUrl(`${USER}:${PASSWORD}`, 'tls=false'), database, retry: { maxAttempts: 1 } });
    cleanups.push(() => plain.close());
    const refused = await failure(() => plain.put(testQueueName(), [{ value: { x: 1 } }]));
    expect(refused.error).toBeInstanceOf(PayloadStoreUnavailableError);
    expect(everything(refused.error)).not.toContain(PASSWORD);
  });

  it('fails wrong or missing credentials with a typed error that never holds the password, nor does the service or the CLI', async () => {
    const wrongUrl = mongoUrl(`${USER}:${WRONG}`);

    // Library: the store, and Queue.publish with a payload (nothing published).
    const { error, ms } = await failure(() => store(wrongUrl).put(testQueueName(), [{ value: { x: 1 } }]));
    expect(error).toBeInstanceOf(PayloadStoreAccessError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_PAYLOAD_STORE_ACCESS', reason: 'authentication', retryable: false, httpStatus: 503 });
    expect(String(error)).toMatch(/authentication failed: check the user, password, authSource and authMechanism of MONGO_URL/);
    expect(everything(error)).not.toContain(WRONG);
    expect(ms).toBeLessThan(5000);

    const name = testQueueName();
    const queue = new Queue(name, { connection: inject('redisUrl'), payloads: store(wrongUrl) });
    cleanups.push(() => queue.close());
    const publish = await failure(() => queue.publish('nope', { n: 1 }, { jobId: 'nope-1' }));
    expect(publish.error).toBeInstanceOf(PayloadStoreAccessError);
    expect(await queue.get('nope-1')).toBeUndefined();

    const anonymous = await failure(() => store(mongoUrl(undefined)).put(testQueueName(), [{ value: { x: 1 } }]));
    expect(anonymous.error).toMatchObject({ code: 'SLUICE_ERR_PAYLOAD_STORE_ACCESS', reason: 'authorization' });

    // The HTTP service: a 503 naming the code, and neither the body nor the log holds the password.
    const http = await service(wrongUrl);
    const response = await fetch(`${http.url}/v1/queues/${name}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'http', payload: { n: 1 } }) });
    const body = await response.text();
    expect(response.status).toBe(503);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'SLUICE_ERR_PAYLOAD_STORE_ACCESS' } });
    expect(body).not.toContain(WRONG);
    expect(http.logs()).toContain('sluice service started');
    expect(http.logs()).toContain(`"mongoUrl":"mongodb://${USER}:***@`);
    expect(http.logs()).not.toContain(WRONG);

    // The CLI: a job whose payload it cannot read; the message is clear and has no password.
    const good = new Queue(name, { connection: inject('redisUrl'), payloads: store(mongoUrl(`${USER}:${PASSWORD}`)) });
    cleanups.push(() => good.close());
    const { id } = await good.publish('stored', { n: 7 });
    const cli = await runCli(['show', name, id, '--payload'], { REDIS_URL: inject('redisUrl'), MONGO_URL: wrongUrl, SLUICE_MONGO_DATABASE: database });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/payload store refused access: .*authentication failed/);
    expect(cli.stdout + cli.stderr).not.toContain(WRONG);
    const ok = await runCli(['show', name, id, '--payload', '--json'], { REDIS_URL: inject('redisUrl'), MONGO_URL: mongoUrl(`${USER}:${PASSWORD}`), SLUICE_MONGO_DATABASE: database });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ id, payloadValue: { n: 7 } });
  });
});

describe('MongoDB with mutual TLS', () => {
  it('accepts a client certificate signed by the CA and refuses a client without one', async () => {
    const mtls = await MongoServer.start({ tls: { certFile: ca.serverCert, keyFile: ca.serverKey, clientCaFile: ca.caFile } });
    cleanups.push(() => mtls.stop());
    const caFile = encodeURIComponent(ca.caFile);
    const withCert = store(mongoUrl(undefined, `tls=true&tlsCAFile=${caFile}&tlsCertificateKeyFile=${encodeURIComponent(ca.clientPem)}`, mtls));
    const [ref] = await withCert.put('mtls', [{ value: { ok: true } }]);
    expect(ref && (await withCert.get('mtls', ref))).toEqual({ ok: true });

    const { error } = await failure(() => store(mongoUrl(undefined, `tls=true&tlsCAFile=${caFile}`, mtls)).put('mtls', [{ value: { ok: false } }]));
    expect(error).toMatchObject({ code: 'SLUICE_ERR_PAYLOAD_STORE_ACCESS', reason: 'tls' });
    expect(String(error)).toMatch(/certificate required/);
  });
});
