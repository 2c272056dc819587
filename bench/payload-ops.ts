/**
 * What one payload-store operation costs on the embedded server, per document: wall time, the
 * caller's (Node) CPU, FerretDB's CPU and PostgreSQL's CPU, measured from /proc around each
 * pattern. `npx tsx bench/payload-ops.ts [docs]` (default 2000). Patterns: the publish insert
 * (insertMany of 1,000), the worker's reads (find({group}) of different group sizes, findOne by
 * `_id`), and result writes (insertMany of 1 to 500 small documents). Prints a Markdown table.
 */
import { Binary, MongoClient } from 'mongodb';
import { MongoServer } from '../src/services/mongo-server.js';
import { treeCpuMs } from './lib/proc-cpu.js';

const docs = Number(process.argv[2] ?? 2000);


const server = await MongoServer.start({ kind: 'ferretdb' });
const client = new MongoClient(server.url);
const db = client.db('ops');
const ferretPid = server.pid;
const pgPid = server.postgres?.pid;
const rows = ['| pattern | docs | wall µs/doc | Node CPU µs/doc | FerretDB CPU µs/doc | PostgreSQL CPU µs/doc |', '|---|---:|---:|---:|---:|---:|'];

async function measure(name: string, count: number, fn: () => Promise<void>): Promise<void> {
  const f0 = treeCpuMs(ferretPid);
  const p0 = treeCpuMs(pgPid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const f = treeCpuMs(ferretPid) - f0;
  const p = treeCpuMs(pgPid) - p0;
  const per = (ms: number): string => ((ms * 1000) / count).toFixed(0);
  const row = `| ${name} | ${count} | ${per(wall)} | ${per((c.user + c.system) / 1000)} | ${per(f)} | ${per(p)} |`;
  rows.push(row);
  process.stderr.write(`${row}\n`);
}

const body = new Binary(Buffer.from(JSON.stringify({ x: 'y'.repeat(1014) })));
const payloads = db.collection<{ _id: string; group: string; data: Binary }>('payloads');
await payloads.createIndex({ group: 1 });
await payloads.insertOne({ _id: 'warm', group: 'warm', data: body });
const doc = (i: number, groupSize: number): { _id: string; group: string; data: Binary; hash: string; size: number; createdAt: Date; storedAt: Date } => ({
  _id: `p:${i}`,
  group: `g${groupSize}:${Math.floor(i / groupSize)}`,
  data: body,
  hash: 'sha256:'.padEnd(71, '0'),
  size: 1024,
  createdAt: new Date(),
  storedAt: new Date(),
});
await measure('insertMany of 1,000 payloads', docs, async () => {
  for (let i = 0; i < docs; i += 1000) await payloads.insertMany(Array.from({ length: 1000 }, (_, k) => doc(i + k, 25)), { ordered: false });
});
for (const size of [25, 50, 100, 250, 1000]) {
  // Re-tag the same documents with a group of `size` (a second collection per size keeps it simple).
  const c = db.collection<ReturnType<typeof doc>>(`g${size}`);
  await c.createIndex({ group: 1 });
  for (let i = 0; i < docs; i += 1000) await c.insertMany(Array.from({ length: 1000 }, (_, k) => doc(i + k, size)), { ordered: false });
  await measure(`find({group}) of ${size}, 8 in flight`, docs, async () => {
    const groups = Array.from({ length: Math.ceil(docs / size) }, (_, g) => `g${size}:${g}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < groups.length) await c.find({ group: groups[next++] }).toArray();
      }),
    );
  });
}
await measure('findOne({_id}), 32 in flight', docs / 2, async () => {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < docs / 2) await payloads.findOne({ _id: `p:${next++}` });
    }),
  );
});
const results = db.collection<{ _id: string; [field: string]: unknown }>('results');
let r = 0;
for (const size of [1, 10, 50, 500]) {
  await measure(`insertMany of ${size} results`, Math.max(size * 20, 200), async () => {
    for (let n = 0; n < Math.max(size * 20, 200); n += size) {
      await results.insertMany(
        Array.from({ length: size }, () => ({ _id: `r:${r++}`, queue: 'q', encoding: 'json', data: new Binary(Buffer.from('{"ok":true}')), size: 11, hash: 'sha256:'.padEnd(71, '0'), createdAt: new Date(), storedAt: new Date() })),
        { ordered: false },
      );
    }
  });
}
await client.close();
await server.stop();
console.log(rows.join('\n'));
