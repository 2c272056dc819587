/**
 * Where the Redis bytes of a waiting job go: publishes N jobs (optionally with a payload
 * reference shaped like the MongoDB store's) and prints MEMORY USAGE per key type per job.
 *
 *   npx tsx bench/mem-probe.ts [--jobs=10000] [--ref]
 */
import { Redis } from 'ioredis';
import { RedisServer } from '../src/services/redis-server.js';
import { Queue } from '../src/queue/queue.js';
import { MemoryPayloadStore } from '../src/payloads/memory-store.js';

const option = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const jobs = Number(option('jobs', '10000'));
const withRef = process.argv.includes('--ref');
const server = await RedisServer.start();
const admin = new Redis(server.url);
try {
  const queue = new Queue('mem', { connection: server.url, ...(withRef ? { payloads: new MemoryPayloadStore() } : {}) });
  await queue.publishMany([{ name: 'warm' }]);
  const before = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
  const payload = withRef ? { payload: { text: 'x'.repeat(1000) } } : {};
  for (let i = 0; i < jobs; i += 1000) await queue.publishMany(Array.from({ length: 1000 }, () => ({ name: 'bench', ...payload })));
  const after = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
  const byKind = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const kind = key.replace(/job:.*/, 'job:*');
      byKind.set(kind, (byKind.get(kind) ?? 0) + Number(await admin.memory('USAGE', key, 'SAMPLES', 0)));
    }
  } while (cursor !== '0');
  console.log(`used_memory delta / job: ${((after - before) / jobs).toFixed(0)} B`);
  for (const [kind, bytes] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`${kind.padEnd(40)} ${(bytes / jobs).toFixed(0)} B/job`);
  const [someId] = await admin.zrange('sluice:{mem}:priority', '5', '5');
  const jobKey = `sluice:{mem}:job:${someId ?? ''}`;
  console.log(await admin.hgetall(jobKey), await admin.object('ENCODING', jobKey));
  await queue.close();
} finally {
  admin.disconnect();
  await server.stop();
}
