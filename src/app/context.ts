/**
 * `SluiceContext`: the connections a Sluice process works with — one Redis connection (one
 * server or a Redis Cluster), one MongoDB client, the payload store and the event archive on
 * it — and a `Queue` handle per queue name, all built from a {@link SluiceConfig}. The HTTP
 * service and every CLI command use it; it owns and closes everything it opens.
 *
 * @packageDocumentation
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { EventArchive } from '../history/archive.js';
import type { ReplaySource } from '../history/replay.js';
import { describe, QueueNotFoundError, redisUnavailableAt, ValidationError } from '../core/errors.js';
import type { JobDefaults } from '../jobs/options.js';
import { eventsKey, QUEUES_KEY, toQueueName } from '../core/keys.js';
import { DEFAULT_CLIENT_OPTIONS, MongoPayloadStore } from '../payloads/mongo-store.js';
import type { PayloadValue } from '../payloads/store.js';
import { Queue } from '../queue/queue.js';
import { closeRedis, createCluster, createRedis, isCluster, isClusterUrl, type RedisClient } from '../redis/connection.js';
import { redactUrl, scrubSecrets, type SluiceConfig } from './config.js';

/** A payload or result as JSON: bytes as `{"$binary": base64}`. */
export function payloadToJson(value: PayloadValue | undefined): unknown {
  return value instanceof Uint8Array ? { $binary: Buffer.from(value).toString('base64') } : value;
}

/** Result of one readiness probe. */
export interface Probe {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** Most `Queue` handles kept; the least recently used is dropped beyond. */
const MAX_QUEUE_HANDLES = 1000;

/** Options of {@link SluiceContext}. */
export interface SluiceContextOptions {
  /**
   * Commands wait through this many reconnection attempts before failing (then the service
   * answers 503). Small, so an outage is reported within a fraction of a second. Each attempt
   * takes at most the configuration's `redisConnectTimeout` (`SLUICE_REDIS_CONNECT_TIMEOUT`).
   * The CLI's one-shot commands use 0: one attempt, then `SLUICE_ERR_REDIS_UNAVAILABLE`.
   * @default 3
   */
  maxRetriesPerRequest?: number;
  /**
   * `CLIENT SETNAME` of the Redis connection.
   * @default 'sluice'
   */
  connectionName?: string;
}

/**
 * The URL without its user and password, and the credentials to pass as options: the URL's,
 * overridden by `SLUICE_REDIS_USERNAME` / `SLUICE_REDIS_PASSWORD`. (ioredis lets a URL's
 * credentials win over its options, so they leave the URL when an override is set.)
 */
function splitCredentials(url: string, config: Pick<SluiceConfig, 'redisUsername' | 'redisPassword'>): { url: string; credentials: { username?: string; password?: string } } {
  if (config.redisUsername === undefined && config.redisPassword === undefined) return { url, credentials: {} };
  const parsed = new URL(url);
  const username = config.redisUsername ?? decodeURIComponent(parsed.username);
  const password = config.redisPassword ?? decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentials: { ...(username === '' ? {} : { username }), ...(password === '' ? {} : { password }) } };
}

/**
 * Opens a Redis connection as the configuration says (URL, ACL user, password, TLS CA): one
 * server, or a Redis Cluster for a `redis+cluster://` URL.
 */
export function redisFromConfig(config: SluiceConfig, options: SluiceContextOptions = {}): RedisClient {
  let ca: Buffer | undefined;
  if (config.redisTlsCaFile !== undefined) {
    try {
      ca = readFileSync(config.redisTlsCaFile);
    } catch (error) {
      throw new ValidationError('SLUICE_REDIS_TLS_CA_FILE', `cannot read ${config.redisTlsCaFile}: ${(error as NodeJS.ErrnoException).code ?? describe(error)}`);
    }
  }
  const base = {
    connectionName: options.connectionName ?? 'sluice',
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3,
    // ioredis waits 10 s by default for a server that does not answer the connection (a dead
    // host, a firewall dropping packets): too long for a command line or a readiness probe.
    connectTimeout: config.redisConnectTimeout,
  };
  const credentials = {
    ...(config.redisUsername === undefined ? {} : { username: config.redisUsername }),
    ...(config.redisPassword === undefined ? {} : { password: config.redisPassword }),
  };
  let redis: RedisClient;
  if (isClusterUrl(config.redisUrl)) {
    // The cluster URL's own user and password apply to every node; the options override them.
    // `rediss+cluster://` turns TLS on by itself; a CA file turns it on too.
    redis = createCluster(config.redisUrl, { ...base, ...(ca === undefined ? {} : { tls: { ca } }) }, { redisOptions: credentials });
  } else {
    const tls = config.redisUrl.startsWith('rediss:') || ca !== undefined;
    const split = splitCredentials(config.redisUrl, config);
    redis = createRedis(split.url, { ...base, ...split.credentials, ...(tls ? { tls: ca === undefined ? {} : { ca } } : {}) });
  }
  // Errors surface on the commands that fail (ioredis reconnects by itself); an unhandled
  // 'error' event would crash the process.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * The MongoDB client the configuration asks for: `MONGO_URL` with `DEFAULT_CLIENT_OPTIONS`, the
 * user and password of `SLUICE_MONGO_USERNAME` / `SLUICE_MONGO_PASSWORD` (each overriding the
 * URL's), and TLS with the CA of `SLUICE_MONGO_TLS_CA_FILE`. Does not connect.
 * @throws {@link ValidationError} for a password without a user or an unreadable CA file.
 */
export function mongoFromConfig(config: SluiceConfig): MongoClient {
  const options: MongoClientOptions = { ...DEFAULT_CLIENT_OPTIONS };
  if (config.mongoUsername !== undefined || config.mongoPassword !== undefined) {
    // The driver takes both or neither: the missing one comes from the URL's user info.
    const userInfo = /^mongodb(?:\+srv)?:\/\/([^@/?#]*)@/i.exec(config.mongoUrl)?.[1];
    const colon = userInfo?.indexOf(':') ?? -1;
    const fromUrl = (part: string | undefined): string | undefined => (part ? decodeURIComponent(part) : undefined);
    const username = config.mongoUsername ?? fromUrl(colon < 0 ? userInfo : userInfo?.slice(0, colon));
    const password = config.mongoPassword ?? fromUrl(colon < 0 ? undefined : userInfo?.slice(colon + 1));
    if (username === undefined) throw new ValidationError('SLUICE_MONGO_PASSWORD', 'needs a user: set SLUICE_MONGO_USERNAME or put one in MONGO_URL');
    if (password === undefined) throw new ValidationError('SLUICE_MONGO_USERNAME', 'needs a password: set SLUICE_MONGO_PASSWORD or put one in MONGO_URL');
    options.auth = { username, password };
  }
  if (config.mongoTlsCaFile !== undefined) {
    try {
      accessSync(config.mongoTlsCaFile, constants.R_OK);
    } catch (error) {
      throw new ValidationError('SLUICE_MONGO_TLS_CA_FILE', `cannot read ${config.mongoTlsCaFile}: ${(error as NodeJS.ErrnoException).code ?? describe(error)}`);
    }
    options.tls = true;
    options.tlsCAFile = config.mongoTlsCaFile;
  }
  return new MongoClient(config.mongoUrl, options);
}

/** Connections and queue handles of one Sluice process. */
export class SluiceContext {
  /** The configuration it was built from. */
  readonly config: SluiceConfig;
  /** The shared Redis connection (commands; blocking reads duplicate it). */
  readonly redis: RedisClient;
  /** The MongoDB client (connects lazily on first use). */
  readonly mongo: MongoClient;
  /** Payloads and results. */
  readonly payloads: MongoPayloadStore;
  /** The event archive. */
  readonly archive: EventArchive;
  private readonly defaults: JobDefaults;
  private readonly queues = new Map<string, Queue>();
  private closed = false;
  /** The Redis connection's last error since it was last ready (why commands fail while it is down). */
  private redisConnectionError: unknown;

  constructor(config: SluiceConfig, options: SluiceContextOptions = {}) {
    this.config = config;
    // The Mongo client first: it validates without connecting, so a bad option leaks no Redis connection.
    this.mongo = mongoFromConfig(config);
    this.redis = redisFromConfig(config, options);
    this.redis.on('error', (error: unknown) => {
      this.redisConnectionError = error;
    });
    this.redis.on('ready', () => {
      this.redisConnectionError = undefined;
    });
    this.payloads = new MongoPayloadStore({
      client: this.mongo,
      database: config.mongoDatabase,
      collectionPrefix: `${config.collectionPrefix}_payloads`,
    });
    this.archive = new EventArchive({ client: this.mongo, database: config.mongoDatabase, collection: `${config.collectionPrefix}_events` });
    this.defaults = {
      ...(config.priority === undefined ? {} : { priority: config.priority }),
      ...(config.attempts === undefined ? {} : { attempts: config.attempts }),
      ...(config.backoff === undefined ? {} : { backoff: config.backoff }),
      ...(config.jobTimeout === undefined ? {} : { timeoutMs: config.jobTimeout }),
    };
  }

  /**
   * The handle of queue `name` (validated), sharing this context's connections.
   * @throws {@link ValidationError} for a bad queue name.
   */
  queue(name: string): Queue {
    const queueName = toQueueName(name);
    let queue = this.queues.get(queueName);
    if (queue) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.queues.delete(queueName);
    } else {
      queue = new Queue(queueName, { connection: this.redis, payloads: this.payloads, archive: this.archive, defaults: this.defaults });
      if (this.queues.size >= MAX_QUEUE_HANDLES) {
        const oldest = this.queues.keys().next().value;
        if (oldest !== undefined) this.queues.delete(oldest);
      }
    }
    this.queues.set(queueName, queue);
    return queue;
  }

  /**
   * `error` as `SLUICE_ERR_REDIS_UNAVAILABLE` naming the configured server (URL redacted) and why
   * it cannot be reached (the connection's last error: connection refused, timed out, …) when it
   * is a connection-level failure; any other value unchanged.
   */
  redisUnavailable(error: unknown, operation: string): unknown {
    return redisUnavailableAt(error, redactUrl(this.config.redisUrl), operation, this.redisConnectionError);
  }

  /**
   * Resolves once the Redis connection is ready (the server answered); otherwise rejects with
   * `SLUICE_ERR_REDIS_UNAVAILABLE` (see {@link SluiceContext.redisUnavailable}) at the
   * connection's first error, or when it is not ready within `redisConnectTimeout`
   * (`SLUICE_REDIS_CONNECT_TIMEOUT`): a host that drops packets, a server that accepts the
   * connection and never answers. For one-shot commands: one attempt, then a clear error. On a
   * Redis Cluster, only the timeout applies (one node failing is not the cluster failing).
   */
  async redisReady(operation: string): Promise<void> {
    const redis = this.redis;
    if (redis.status === 'ready') return;
    if (this.redisConnectionError !== undefined && !isCluster(redis)) throw this.redisUnavailable(this.redisConnectionError, operation);
    const timeoutMs = this.config.redisConnectTimeout;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: unknown): void => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('error', onError);
        if (error === undefined) resolve();
        else {
          const failure = this.redisUnavailable(error, operation);
          reject(failure instanceof Error ? failure : new Error(String(failure)));
        }
      };
      const onReady = (): void => done();
      const onError = (error: unknown): void => done(error);
      const timer = setTimeout(() => done(Object.assign(new Error(`connect ETIMEDOUT: not ready within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      redis.on('ready', onReady);
      if (!isCluster(redis)) redis.on('error', onError);
    });
  }

  /** Where replay and history read `queue`'s events: the archive, then the stream. */
  replaySource(queue: string): ReplaySource {
    return { redis: this.redis, archive: this.archive, queue: toQueueName(queue) };
  }

  /**
   * Whether `queue` exists: its event stream exists, or it is in the registry of queue names
   * (publishing, configuring and consuming it add it). The stream is asked first: it sits on the
   * queue's own node, so on a Redis Cluster a queue with events stays readable while the
   * registry's node is down. Reads nothing else and creates nothing.
   */
  async queueExists(queue: string): Promise<boolean> {
    const name = toQueueName(queue);
    if ((await this.redis.exists(eventsKey(name))) === 1) return true;
    return (await this.redis.sismember(QUEUES_KEY, name)) === 1;
  }

  /**
   * The handle of `queue` when the queue exists ({@link queueExists}).
   * @throws {@link QueueNotFoundError} when it does not.
   */
  async existingQueue(queue: string): Promise<Queue> {
    if (!(await this.queueExists(queue))) throw new QueueNotFoundError(queue);
    return this.queue(queue);
  }

  /** Every queue that exists (published to or configured), sorted. */
  async queueNames(): Promise<string[]> {
    return (await this.redis.smembers(QUEUES_KEY)).sort();
  }

  /** Probes Redis (PING) and MongoDB (ping command) once each, without retries; never throws. */
  async probe(timeoutMs = 2000): Promise<{ redis: Probe; mongo: Probe }> {
    const timed = async (work: () => Promise<unknown>): Promise<Probe> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          work(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        return { ok: false, latencyMs: Math.round(performance.now() - started), error: scrubSecrets(describe(error)) };
      } finally {
        clearTimeout(timer);
      }
    };
    const [redis, mongo] = await Promise.all([
      timed(() => this.redis.ping()),
      timed(() => this.mongo.db(this.config.mongoDatabase).command({ ping: 1 })),
    ]);
    return { redis, mongo };
  }

  /** Closes the payload store, the MongoDB client and the Redis connection. Idempotent. */
  /** True once {@link SluiceContext.close} was called (the service is shutting down). */
  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queues.clear();
    await this.payloads.close();
    await this.mongo.close().catch(() => undefined);
    await closeRedis(this.redis);
  }
}
