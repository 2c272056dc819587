/**
 * A private Redis Cluster for tests: N `redis-server` processes in cluster mode on free ports,
 * joined with `redis-cli --cluster create` (masters only), each killable on its own.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, sleep } from '../../src/services/process.js';
import { RedisServer } from '../../src/services/redis-server.js';

const run = promisify(execFile);

/** One master of a {@link RedisClusterFixture}, with the slot ranges it serves. */
export interface ClusterMaster {
  server: RedisServer;
  port: number;
  /** Inclusive slot ranges, from CLUSTER SHARDS at startup. */
  slots: [number, number][];
}

/** A running test cluster. */
export class RedisClusterFixture {
  private constructor(readonly masters: ClusterMaster[]) {}

  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...` */
  get url(): string {
    return `redis+cluster://${this.masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`;
  }

  /**
   * Starts `n` masters (no replicas) with a short node timeout and
   * `cluster-require-full-coverage no`, so the slots of the survivors keep serving when one dies.
   */
  static async start(n = 3, nodeTimeoutMs = 2000): Promise<RedisClusterFixture> {
    const servers = await Promise.all(
      Array.from({ length: n }, async () => {
        // The cluster bus port defaults to port + 10000, which may be taken or out of range.
        const busPort = await freePort();
        return RedisServer.start({
          extraArgs: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(nodeTimeoutMs),
            '--cluster-require-full-coverage', 'no',
            '--cluster-port', String(busPort),
          ],
        });
      }),
    );
    try {
      await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
        timeout: 30_000,
      });
      const masters: ClusterMaster[] = servers.map((server) => ({ server, port: server.port, slots: [] }));
      await waitClusterOk(masters.map((m) => m.port), 20_000);
      const admin = new Redis(masters[0]!.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
        for (const [from, to, [, port]] of slots) masters.find((m) => m.port === Number(port))?.slots.push([from, to]);
      } finally {
        admin.disconnect();
      }
      return new RedisClusterFixture(masters);
    } catch (error) {
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
      throw error;
    }
  }

  /** The master serving `slot`. */
  masterOfSlot(slot: number): ClusterMaster {
    const master = this.masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return master;
  }

  /** CLUSTER KEYSLOT of `key`, asked of a live master. */
  async keySlot(key: string): Promise<number> {
    const live = this.masters.find((m) => m.server.running);
    if (!live) throw new Error('no live master');
    const admin = new Redis(live.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      return Number(await admin.call('CLUSTER', 'KEYSLOT', key));
    } finally {
      admin.disconnect();
    }
  }

  /** Stops every process and removes their data directories. */
  async stop(): Promise<void> {
    await Promise.all(this.masters.map((m) => m.server.stop().catch(() => undefined)));
  }
}

/** Waits until every node at `ports` reports `cluster_state:ok`. */
export async function waitClusterOk(ports: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    node.on('error', () => undefined);
    try {
      for (;;) {
        const info = await node.call('CLUSTER', 'INFO').catch(() => '');
        if (String(info).includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok after ${timeoutMs} ms: ${String(info).split('\n')[0]}`);
        await sleep(100);
      }
    } finally {
      node.disconnect();
    }
  }
}
