/**
 * A private Redis Cluster for tests: N `redis-server` processes in cluster mode on free ports,
 * joined with `redis-cli --cluster create` (masters only, or with replicas), each killable on its own.
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

/** A replica of a {@link RedisClusterFixture}, and the master it replicated at startup. */
export interface ClusterReplica {
  server: RedisServer;
  port: number;
  /** Port of its master at startup. */
  masterPort: number;
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  /** e.g. `['master']`, `['myself', 'slave']`, `['master', 'fail']` */
  flags: string[];
  /** Node id of its master, for a replica. */
  masterId: string | undefined;
}

/** Options of {@link RedisClusterFixture.start}. */
export interface ClusterStartOptions {
  /**
   * Replicas per master (`redis-cli --cluster create --cluster-replicas`).
   * @default 0
   */
  replicas?: number;
}

/** A running test cluster. */
export class RedisClusterFixture {
  private constructor(
    readonly masters: ClusterMaster[],
    /** Empty unless started with `replicas`. */
    readonly replicas: ClusterReplica[] = [],
  ) {}

  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...` */
  get url(): string {
    return `redis+cluster://${this.masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`;
  }

  /**
   * Starts `n` masters (by default no replicas; `options.replicas` per master otherwise) with a
   * short node timeout and `cluster-require-full-coverage no`, so the slots of the survivors keep
   * serving when one dies. No persistence (AOF off, no RDB snapshots).
   */
  static async start(n = 3, nodeTimeoutMs = 2000, options: ClusterStartOptions = {}): Promise<RedisClusterFixture> {
    const perMaster = options.replicas ?? 0;
    const servers = await Promise.all(
      Array.from({ length: n * (1 + perMaster) }, async () => {
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
      await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', String(perMaster), '--cluster-yes'], {
        timeout: 30_000,
      });
      await waitClusterOk(servers.map((s) => s.port), 20_000);
      // Which node became what: redis-cli picks the masters (all nodes share one host here).
      const nodes = await waitFor(async () => {
        const listed = await clusterNodes(servers[0]!.port);
        const replicas = listed.filter((node) => node.flags.includes('slave') && node.masterId !== undefined);
        return listed.length === servers.length && replicas.length === n * perMaster ? listed : undefined;
      }, 20_000, 'every replica known to the cluster');
      const byId = new Map(nodes.map((node) => [node.id, node]));
      const serverOf = (port: number): RedisServer => servers.find((s) => s.port === port)!;
      const masters: ClusterMaster[] = nodes.filter((node) => node.flags.includes('master')).map((node) => ({ server: serverOf(node.port), port: node.port, slots: [] }));
      const replicas: ClusterReplica[] = nodes
        .filter((node) => node.flags.includes('slave'))
        .map((node) => ({ server: serverOf(node.port), port: node.port, masterPort: byId.get(node.masterId!)!.port }));
      // Keep the masters in the order the servers were started (the masters-only spec relies on nothing more).
      masters.sort((a, b) => servers.indexOf(a.server) - servers.indexOf(b.server));
      // Every replica has finished its initial sync.
      for (const replica of replicas) {
        await waitFor(async () => ((await replicationInfo(replica.port)).master_link_status === 'up' ? true : undefined), 20_000, `replica ${replica.port} in sync`);
      }
      const admin = new Redis(masters[0]!.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
        for (const [from, to, [, port]] of slots) masters.find((m) => m.port === Number(port))?.slots.push([from, to]);
      } finally {
        admin.disconnect();
      }
      return new RedisClusterFixture(masters, replicas);
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

  /** The replica that replicated `master` at startup. */
  replicaOf(master: ClusterMaster): ClusterReplica {
    const replica = this.replicas.find((r) => r.masterPort === master.port);
    if (!replica) throw new Error(`master ${master.port} has no replica`);
    return replica;
  }

  /** Stops every process (masters and replicas) and removes their data directories. */
  async stop(): Promise<void> {
    await Promise.all([...this.masters, ...this.replicas].map((m) => m.server.stop().catch(() => undefined)));
  }
}

/** Runs one command on the node at `port` over a short-lived connection. */
async function ask(port: number, ...args: string[]): Promise<unknown> {
  const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
  node.on('error', () => undefined);
  try {
    return await node.call(args[0]!, ...args.slice(1));
  } finally {
    node.disconnect();
  }
}

/** CLUSTER NODES as the node at `port` sees it. */
export async function clusterNodes(port: number): Promise<ClusterNodeInfo[]> {
  const text = String(await ask(port, 'CLUSTER', 'NODES'));
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
      const [id, address, flags, master] = line.split(' ') as [string, string, string, string];
      return { id, port: Number(address.split('@')[0]!.split(':').at(-1)), flags: flags.split(','), masterId: master === '-' ? undefined : master };
    });
}

/** Port of the master serving `slot`, as the node at `port` sees it (CLUSTER SLOTS); undefined when unassigned. */
export async function slotOwner(port: number, slot: number): Promise<number | undefined> {
  const slots = (await ask(port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  return range ? Number(range[2][1]) : undefined;
}

/** ROLE of the node at `port`: `master`, or `slave` with its master's port and link state. */
export async function nodeRole(port: number): Promise<{ role: 'master' } | { role: 'slave'; masterPort: number; state: string }> {
  const reply = (await ask(port, 'ROLE')) as unknown[];
  if (reply[0] === 'master') return { role: 'master' };
  return { role: 'slave', masterPort: Number(reply[2]), state: String(reply[3]) };
}

/** INFO replication of the node at `port`, as fields. */
export async function replicationInfo(port: number): Promise<Record<string, string>> {
  const text = String(await ask(port, 'INFO', 'replication'));
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

/** Polls `probe` until it returns a value other than undefined (errors count as not yet). */
async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
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
