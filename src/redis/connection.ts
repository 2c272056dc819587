/**
 * Creating and closing ioredis connections. The rule (STYLE 13): whoever creates a connection
 * closes it. Classes that accept a connection take an `ownsConnection` flag and close it only
 * when they created it or were told they own it.
 *
 * A connection is one Redis server or a Redis Cluster ({@link RedisClient}); the helpers below
 * (duplicate, SCAN, UNLINK) work on both.
 *
 * @packageDocumentation
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { asRedisUnavailable, RedisUnavailableError, ValidationError } from '../core/errors.js';
import { QUEUES_KEY } from '../core/keys.js';

/** Options of {@link createRedis}: any ioredis option, plus Sluice's defaults below. */
export interface CreateRedisOptions extends RedisOptions {
  /**
   * Name shown by `CLIENT LIST`, to tell Sluice's connections apart.
   * @default 'sluice'
   */
  connectionName?: string;
  /**
   * Reconnection attempts a command waits through before it fails. Fail fast rather than hang:
   * callers see a retryable error and decide.
   * @default 5
   */
  maxRetriesPerRequest?: number | null;
}

/**
 * Opens an ioredis connection to `url` (`redis://[user:pass@]host:port[/db]`) with options
 * suited to Sluice: reconnection with capped backoff (50 ms steps up to 2 s) and a bounded
 * number of retries per command. The caller owns the connection; close it with {@link closeRedis}.
 */
export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  return new Redis(url, {
    retryStrategy: (times) => Math.min(times * 50, 2000),
    ...options,
    connectionName: options.connectionName ?? 'sluice',
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 5 : options.maxRetriesPerRequest,
  });
}

/**
 * Closes a connection: QUIT (so pending replies arrive) with a deadline, then a hard
 * disconnect, so closing never hangs on a server that went away. Idempotent.
 * @param timeoutMs - how long to wait for QUIT before disconnecting.
 */
export async function closeRedis(redis: RedisClient, timeoutMs = 1000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    // QUIT may fail when the socket drops meanwhile; the hard disconnect below still closes it.
    await Promise.race([redis.quit().catch(() => undefined), deadline]);
    clearTimeout(timer);
  }
  redis.disconnect();
}

/**
 * A Sluice connection: one Redis server (`Redis`) or a Redis Cluster (`Cluster`). Every queue's
 * keys share the hash tag `{<queue>}`, so each queue lives in one slot and every Sluice script,
 * MULTI and pipeline touches one slot: the same code runs on both.
 */
export type RedisClient = Redis | Cluster;

/** True when `client` is an ioredis `Cluster`. */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

/** True when `url` uses the cluster form `redis+cluster://` (or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}

/**
 * Parses `redis+cluster://[user:pass@]host1:port1,host2:port2,...` (or `rediss+cluster://` for
 * TLS): the startup nodes of a Redis Cluster and its credentials. Any node suffices to discover
 * the cluster; list several so that startup survives one being down.
 * @throws {@link ValidationError} naming `field` when the URL is malformed.
 */
export function parseClusterUrl(url: string, field = 'url'): { nodes: ClusterNode[]; username?: string; password?: string; tls: boolean } {
  const match = CLUSTER_URL.exec(url);
  if (!match) throw new ValidationError(field, 'must look like redis+cluster://[user:pass@]host:port[,host:port...]');
  const [, scheme, auth, hosts = ''] = match;
  const nodes = hosts.split(',').map((hostPort) => {
    const colon = hostPort.lastIndexOf(':');
    const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    const port = colon < 0 ? 6379 : Number(hostPort.slice(colon + 1));
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ValidationError(field, `has a bad cluster node ${JSON.stringify(hostPort)} (expected host:port)`);
    }
    return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
  });
  const out: { nodes: ClusterNode[]; username?: string; password?: string; tls: boolean } = { nodes, tls: scheme === 'rediss' };
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon));
    if (colon >= 0) out.password = decodeURIComponent(auth.slice(colon + 1));
    if (user !== '') out.username = user;
  }
  return out;
}

/**
 * Opens an ioredis `Cluster` from a `redis+cluster://` URL (see {@link parseClusterUrl}) with
 * Sluice's defaults: every node connection gets `options` (connection name, retries per
 * command), the cluster reconnects with capped backoff, and a command to a slot whose master is
 * down fails after the retries instead of hanging. The caller owns it; close it with
 * {@link closeRedis}.
 */
export function createCluster(url: string, options: CreateRedisOptions = {}, clusterOptions: ClusterOptions = {}): Cluster {
  const { nodes, username, password, tls } = parseClusterUrl(url);
  const redisOptions: RedisOptions = {
    ...options,
    connectionName: options.connectionName ?? 'sluice',
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 5 : options.maxRetriesPerRequest,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls && options.tls === undefined ? { tls: {} } : {}),
  };
  return new Cluster(nodes, {
    clusterRetryStrategy: (times) => Math.min(times * 50, 2000),
    ...clusterOptions,
    redisOptions: { ...redisOptions, ...clusterOptions.redisOptions },
  });
}

/**
 * Opens a connection to `url`: a {@link createCluster | Cluster} for `redis+cluster://` URLs, a
 * single-server connection ({@link createRedis}) otherwise. The caller owns it.
 */
export function createRedisClient(url: string, options: CreateRedisOptions = {}): RedisClient {
  return isClusterUrl(url) ? createCluster(url, options) : createRedis(url, options);
}

/** Options {@link duplicateClient} may override on the copy. */
export interface DuplicateOptions {
  /** `CLIENT SETNAME` of the copy's connection(s). */
  connectionName?: string;
  /**
   * Reconnection attempts a command waits through; `null`: forever — on a Cluster also through
   * any number of redirections, so a read on a slot whose master is down waits for it to return.
   */
  maxRetriesPerRequest?: number | null;
  /** Queue commands while disconnected. */
  enableOfflineQueue?: boolean;
}

/**
 * A new connection with the same target and options as `client` (plus `overrides`), for a
 * blocking read that must not hold up the shared connection. On a Cluster the overrides apply
 * to every node connection of the copy. The caller owns the copy.
 */
export function duplicateClient(client: RedisClient, overrides: DuplicateOptions = {}): RedisClient {
  if (!isCluster(client)) return client.duplicate(overrides);
  const redisOptions: RedisOptions = {};
  if (overrides.connectionName !== undefined) redisOptions.connectionName = overrides.connectionName;
  if (overrides.maxRetriesPerRequest !== undefined) redisOptions.maxRetriesPerRequest = overrides.maxRetriesPerRequest;
  return client.duplicate(undefined, {
    ...(overrides.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: overrides.enableOfflineQueue }),
    ...(overrides.maxRetriesPerRequest === null ? { maxRedirections: Number.POSITIVE_INFINITY } : {}),
    redisOptions: { ...client.options.redisOptions, ...redisOptions },
  });
}

/** Options of {@link scanKeys}. */
export interface ScanOptions {
  /**
   * SCAN `COUNT`: keys examined per call (each page holds at most about this many).
   * @default 1000
   */
  count?: number;
  /**
   * Any key of the slot every match lives in (e.g. `sluice:{<queue>}:` for a queue's keys). On a
   * Cluster only the master serving that slot is scanned, so the masters of other slots (one may
   * be down) are not asked.
   */
  slotKey?: string;
}

/**
 * Walks every key matching `pattern` with SCAN, one page at a time: on one server, that server;
 * on a Cluster, the master of every slot in turn (replicas hold copies), or only the master of
 * `options.slotKey`'s slot. Never skips a master silently.
 * @throws `RedisUnavailableError` when a master to scan cannot be reached.
 */
export async function* scanKeys(client: RedisClient, pattern: string, options: ScanOptions = {}): AsyncGenerator<string[]> {
  const count = options.count ?? 1000;
  for (const node of await scanTargets(client, options.slotKey)) {
    let cursor = '0';
    do {
      let next: string;
      let keys: string[];
      try {
        [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      } catch (error) {
        throw asRedisUnavailable(error, `SCAN of ${node.options.host ?? 'localhost'}:${node.options.port ?? 6379}`);
      }
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/**
 * Every key that starts with `prefix`, as {@link scanKeys} pages: the glob characters of
 * `prefix` (`*`, `?`, `[`, `]`, `\`) match literally, and `prefix` is the slot key (a queue's
 * prefixes carry its hash tag).
 */
export function scanPrefix(client: RedisClient, prefix: string, options: Omit<ScanOptions, 'slotKey'> = {}): AsyncGenerator<string[]> {
  return scanKeys(client, `${prefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`, { ...options, slotKey: prefix });
}

async function scanTargets(client: RedisClient, slotKey: string | undefined): Promise<Redis[]> {
  if (!isCluster(client)) return [client];
  // A fresh Cluster client has no slot map yet: a keyed command waits for it (and fails
  // clearly when that key's master is down, as the scan would).
  if (client.status !== 'ready' || client.slots.length === 0) {
    await client.exists(slotKey ?? QUEUES_KEY).catch((error: unknown) => {
      throw asRedisUnavailable(error, 'SCAN (cluster slot map)');
    });
  }
  const owners =
    slotKey === undefined
      ? [...new Set(client.slots.map((nodes) => nodes?.[0]).filter((node): node is string => node !== undefined))]
      : [client.slots[keySlot(slotKey)]?.[0]].filter((node): node is string => node !== undefined);
  if (owners.length === 0) return client.nodes('master');
  const byKey = new Map(client.nodes('all').map((node) => [`${node.options.host}:${node.options.port}`, node]));
  return owners.map((owner) => {
    const node = byKey.get(owner);
    // ioredis drops a node whose connection ended and adds it back at the next slot refresh.
    if (!node) throw new RedisUnavailableError(`SCAN of ${owner}`, new Error(`cluster master ${owner} is not connected`));
    return node;
  });
}

/** The Redis Cluster slot of `key`: CRC16 (XMODEM) of its hash tag ({@link hashTagOf}) mod 16384. */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTagOf(key))) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 16383;
}

/**
 * The part of `key` Redis Cluster hashes to pick its slot: the text between the first `{` and
 * the next `}` when that is not empty, else the whole key.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close <= open + 1 ? key : key.slice(open + 1, close);
}

/**
 * UNLINKs `keys`; returns how many existed. On a Cluster one UNLINK per hash tag, since a
 * multi-key command must stay in one slot.
 */
export async function unlinkKeys(client: RedisClient, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(client)) return client.unlink(...keys);
  const byTag = new Map<string, string[]>();
  for (const key of keys) {
    const tag = hashTagOf(key);
    const group = byTag.get(tag);
    if (group) group.push(key);
    else byTag.set(tag, [key]);
  }
  const counts = await Promise.all([...byTag.values()].map((group) => client.unlink(...group)));
  return counts.reduce((a, b) => a + b, 0);
}
