/**
 * Payload read patterns against the embedded MongoDB-wire server as its collection grows:
 * `npx tsx bench/embedded-reads.ts [sizes…]` (default 10000 100000 300000). For each FerretDB
 * backend (SQLite, the old default; PostgreSQL with the equality indexes of
 * src/services/postgres-server.ts, the new one) it bulk-loads 1 KiB payload documents and times
 * 50 point reads `findOne({_id})` in parallel (what getMany does now), 20 sequential point reads,
 * and one `find({_id: {$in: [50 ids]}})` (what getMany did before). Prints a Markdown table.
 */
import { MongoClient } from 'mongodb';
import { MongoServer } from '../src/services/mongo-server.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(10_000, 100_000, 300_000);
const body = 'x'.repeat(1024);
const rows: string[] = ['| backend | docs | 50 parallel findOne({_id}) | 20 sequential findOne({_id}), each | find({_id: {$in: 50 ids}}) |', '|---|---|---|---|---|'];

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

for (const backend of ['sqlite', 'postgresql'] as const) {
  const server = await MongoServer.start({ kind: 'ferretdb', ferretdbBackend: backend });
  const client = new MongoClient(server.url);
  const collection = client.db('bench').collection<{ _id: string; body: string }>('payloads');
  let loaded = 0;
  for (const n of sizes) {
    for (; loaded < n; loaded += 1000) {
      const count = Math.min(1000, n - loaded);
      await collection.insertMany(Array.from({ length: count }, (_, k) => ({ _id: `p-${loaded + k}`, body })), { ordered: false });
    }
    const ids = (): string[] => Array.from({ length: 50 }, () => `p-${Math.floor(Math.random() * n)}`);
    await collection.findOne({ _id: 'p-0' });
    const parallel = await time(() => Promise.all(ids().map((id) => collection.findOne({ _id: id }))));
    const sequential = (await time(async () => {
      for (const id of ids().slice(0, 20)) await collection.findOne({ _id: id });
    })) / 20;
    const batch = ids();
    const inQuery = await time(() => collection.find({ _id: { $in: batch } }).toArray());
    const row = `| ${backend} | ${n.toLocaleString('en-US')} | ${parallel.toFixed(0)} ms | ${sequential.toFixed(2)} ms | ${inQuery.toFixed(0)} ms |`;
    rows.push(row);
    console.error(row);
  }
  await client.close();
  await server.stop();
}
console.log(rows.join('\n'));
