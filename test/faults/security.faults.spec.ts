import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from '../../src/consumers/worker.js';
import { Queue } from '../../src/queue/queue.js';
import { freePort } from '../../src/services/process.js';
import { RedisServer } from '../../src/services/redis-server.js';
import { testQueueName, waitFor } from '../helpers/dispatch.js';
import { privateCa } from '../helpers/tls.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function roundTrip(connection: string | Redis, name: string, workerConnection: string | Redis = connection): Promise<void> {
  const queue = new Queue(name, { connection });
  cleanups.push(() => queue.close());
  const { id } = await queue.publish('secure', undefined);
  const worker = new Worker(name, () => 'ok', { connection: workerConnection, blockMs: 100 });
  cleanups.push(() => worker.close());
  await waitFor(async () => (await queue.get(id))?.state === 'completed');
}

describe('Redis ACL and TLS', () => {
  it('works end to end as an ACL user limited to the sluice key prefix, and is refused for a user without it', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.stop());
    const admin = new Redis(server.url);
    cleanups.push(() => admin.quit().then(() => undefined));
    await admin.acl('SETUSER', 'sluice-app', 'on', '>s3cret-pass', 'resetkeys', '~sluice:*', 'resetchannels', '+@all', '-@admin', '-@dangerous');
    await admin.acl('SETUSER', 'other-app', 'on', '>0ther-pass', 'resetkeys', '~other:*', 'resetchannels', '+@all', '-@admin', '-@dangerous');
    await admin.acl('SETUSER', 'default', 'off');

    await roundTrip(`redis://sluice-app:s3cret-pass@127.0.0.1:${server.port}`, testQueueName());

    const denied = new Queue(testQueueName(), { connection: `redis://other-app:0ther-pass@127.0.0.1:${server.port}` });
    cleanups.push(() => denied.close());
    const error = await denied.publish('nope', undefined).then(() => undefined, (e: unknown) => e);
    expect(String(error)).toMatch(/NOPERM/);
    expect(String(error)).not.toContain('0ther-pass');
  });

  it('works end to end over TLS (rediss://) with a private CA', async () => {
    const ca = privateCa();
    cleanups.push(() => Promise.resolve(ca.remove()));
    const port = await freePort();
    const server = await RedisServer.start({
      port,
      extraArgs: ['--port', '0', '--tls-port', String(port), '--tls-cert-file', ca.serverCert, '--tls-key-file', ca.serverKey, '--tls-ca-cert-file', ca.caFile, '--tls-auth-clients', 'no'],
    });
    cleanups.push(() => server.stop());
    const tls = { ca: ca.ca, servername: 'localhost' };
    const connect = (): Redis => {
      const r = new Redis(`rediss://127.0.0.1:${port}`, { tls, maxRetriesPerRequest: 3 });
      cleanups.push(() => r.quit().then(() => undefined));
      return r;
    };
    await roundTrip(connect(), testQueueName(), connect());
    // A plain-text client cannot talk to it.
    const plain = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, connectTimeout: 1000, retryStrategy: () => null });
    plain.on('error', () => undefined);
    await expect(plain.ping()).rejects.toThrow();
    plain.disconnect();
  });
});
