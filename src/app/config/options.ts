/**
 * The configuration table: every option with its variables, flag, default, parser and the
 * commands that read it; rendered into `--help` and docs/CONFIGURATION.md.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../../core/errors.js';
import { bool, integer, limit, name, oneOf, optional, parseBackoff, parseBytes, parseDuration, redisUrl, url } from './parse.js';
import { LOG_LEVELS, type ConfigKey, type OptionGroup, type OptionSpec, type SluiceConfig } from './schema.js';

/** Every option, in the order the docs list them. */
export const CONFIG_OPTIONS: { readonly [K in keyof SluiceConfig]: OptionSpec<SluiceConfig[K]> } = {
  redisUrl: {
    env: ['REDIS_URL'],
    arg: '<url>',
    default: 'redis://127.0.0.1:6379',
    defaultText: '`redis://127.0.0.1:6379`',
    doc: 'Redis URL: `redis://[user:password@]host:port[/db]`; `rediss://` for TLS. The user is a Redis ACL user. A Redis Cluster: `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` for TLS), any reachable nodes of it; the service and every command then run on the cluster.',
    group: 'connection',
    secret: true,
    parse: redisUrl,
  },
  redisUsername: {
    env: ['SLUICE_REDIS_USERNAME'],
    arg: '<user>',
    default: undefined,
    defaultText: 'from the URL',
    doc: 'Redis ACL user; overrides the one in the URL.',
    group: 'connection',
    parse: optional((text) => text),
  },
  redisPassword: {
    env: ['SLUICE_REDIS_PASSWORD'],
    arg: '<password>',
    default: undefined,
    defaultText: 'from the URL',
    doc: 'Redis password; overrides the one in the URL (keeps it out of the URL and of process listings).',
    group: 'connection',
    secret: true,
    parse: optional((text) => text),
  },
  redisTlsCaFile: {
    env: ['SLUICE_REDIS_TLS_CA_FILE'],
    arg: '<path>',
    default: undefined,
    defaultText: 'system CAs',
    doc: 'PEM file of the CA that signed the Redis server certificate (with `rediss://`).',
    group: 'connection',
    parse: optional((text) => text),
  },
  redisConnectTimeout: {
    env: ['SLUICE_REDIS_CONNECT_TIMEOUT'],
    arg: '<duration>',
    default: 2000,
    defaultText: '`2s`',
    doc:
      'How long one attempt to connect to Redis may take. A one-shot command (`stats`, `publish`, …) makes one attempt and fails with `SLUICE_ERR_REDIS_UNAVAILABLE` (exit 1) after it; the service and workers keep reconnecting.',
    group: 'connection',
    parse: (text, field) => {
      const ms = parseDuration(text, field);
      if (ms < 1) throw new ValidationError(field, 'must be at least 1ms');
      return ms;
    },
  },
  mongoUrl: {
    env: ['MONGO_URL'],
    arg: '<url>',
    default: 'mongodb://127.0.0.1:27017',
    defaultText: '`mongodb://127.0.0.1:27017`',
    doc: 'MongoDB connection string (single server or replica set; `mongodb+srv://` too).',
    group: 'connection',
    secret: true,
    parse: url(['mongodb:', 'mongodb+srv:']),
  },
  mongoUsername: {
    env: ['SLUICE_MONGO_USERNAME'],
    arg: '<user>',
    default: undefined,
    defaultText: 'from the URL',
    doc: 'MongoDB user; overrides the one in the URL (authenticated against `authSource`, default `admin`).',
    group: 'connection',
    parse: optional((text) => text),
  },
  mongoPassword: {
    env: ['SLUICE_MONGO_PASSWORD'],
    arg: '<password>',
    default: undefined,
    defaultText: 'from the URL',
    doc: 'MongoDB password; overrides the one in the URL (keeps it out of the URL and of process listings). Needs a user: `SLUICE_MONGO_USERNAME` or the URL\'s.',
    group: 'connection',
    secret: true,
    parse: optional((text) => text),
  },
  mongoTlsCaFile: {
    env: ['SLUICE_MONGO_TLS_CA_FILE'],
    arg: '<path>',
    default: undefined,
    defaultText: 'system CAs',
    doc: 'PEM file of the CA that signed the MongoDB server certificate; turns TLS on (like `tls=true&tlsCAFile=<path>` in the URL).',
    group: 'connection',
    parse: optional((text) => text),
  },
  mongoDatabase: {
    env: ['SLUICE_MONGO_DATABASE'],
    arg: '<name>',
    default: 'sluice',
    defaultText: '`sluice`',
    doc: 'MongoDB database holding payloads, results and the event archive.',
    group: 'connection',
    parse: name(/^[^/\\. "$*<>:|?\0]{1,63}$/, 'MongoDB database name'),
  },
  collectionPrefix: {
    env: ['SLUICE_COLLECTION_PREFIX'],
    arg: '<prefix>',
    default: 'sluice',
    defaultText: '`sluice`',
    doc: 'Prefix of the MongoDB collections: payloads in `<prefix>_payloads_<queue>`, the archive in `<prefix>_events`.',
    group: 'connection',
    parse: name(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,80}$/, 'collection prefix'),
  },
  host: {
    env: ['SLUICE_HOST'],
    arg: '<address>',
    default: '127.0.0.1',
    defaultText: '`127.0.0.1`',
    doc: 'Address the HTTP service listens on (`0.0.0.0` for every interface); also where `worker --worker-metrics-port` listens.',
    group: 'server',
    parse: name(/^[A-Za-z0-9.:[\]-]{1,255}$/, 'host'),
  },
  port: {
    env: ['SLUICE_PORT', 'PORT'],
    arg: '<port>',
    default: 8080,
    defaultText: '`8080`',
    doc: 'TCP port of the HTTP service (`0` picks a free one).',
    group: 'server',
    parse: integer(0, 65535),
  },
  logLevel: {
    env: ['SLUICE_LOG_LEVEL', 'LOG_LEVEL'],
    arg: '<level>',
    default: 'info',
    defaultText: '`info`',
    doc: `Log level: ${LOG_LEVELS.join(', ')}. Logs are JSON lines (pino) on stdout.`,
    group: 'logging',
    parse: oneOf(LOG_LEVELS),
  },
  authFile: {
    env: ['SLUICE_AUTH_FILE'],
    arg: '<path>',
    default: undefined,
    defaultText: 'none',
    doc: 'JSON file of bearer tokens with scopes and queue patterns (see docs/HTTP.md#authentication).',
    group: 'server',
    parse: optional((text) => text),
  },
  tokens: {
    env: ['SLUICE_TOKENS'],
    arg: '<json>',
    default: undefined,
    defaultText: 'none',
    doc: 'The same tokens inline: the JSON array `[{"token": …, "scopes": […], "queues": […]}]`. Added to those of the file.',
    group: 'server',
    secret: true,
    parse: optional((text) => text),
  },
  localNoAuth: {
    env: ['SLUICE_LOCAL_NO_AUTH'],
    default: false,
    defaultText: '`false`',
    doc: 'Serve without authentication, for local use only: the service then listens on loopback addresses only. Without tokens and without this switch the service refuses to start.',
    group: 'server',
    parse: bool,
  },
  metricsPublic: {
    env: ['SLUICE_METRICS_PUBLIC'],
    default: false,
    defaultText: '`false`',
    doc: '`/metrics` without a token (otherwise it needs `read` on every queue, pattern `*`).',
    group: 'server',
    parse: bool,
  },
  bodyLimit: {
    env: ['SLUICE_BODY_LIMIT'],
    arg: '<size>',
    default: 1024 * 1024,
    defaultText: '`1mb`',
    doc: 'Largest request body, except bulk publish (413 beyond).',
    group: 'server',
    parse: parseBytes,
  },
  bulkBodyLimit: {
    env: ['SLUICE_BULK_BODY_LIMIT'],
    arg: '<size>',
    default: 16 * 1024 * 1024,
    defaultText: '`16mb`',
    doc: 'Largest body of a bulk publish.',
    group: 'server',
    parse: parseBytes,
  },
  maxLiveStreams: {
    env: ['SLUICE_MAX_LIVE_STREAMS'],
    arg: '<n>',
    default: 100,
    defaultText: '`100`',
    doc: 'Live event feeds (SSE) open at once; each holds one Redis connection (503 beyond).',
    group: 'server',
    parse: integer(0, 100_000),
  },
  priority: {
    env: ['SLUICE_PRIORITY'],
    arg: '<lane>',
    default: undefined,
    defaultText: '`2`',
    doc: 'Default priority lane of published jobs, 0 (lowest) to 4.',
    group: 'jobs',
    parse: optional(integer(0, 4)),
  },
  attempts: {
    env: ['SLUICE_ATTEMPTS'],
    arg: '<n>',
    default: undefined,
    defaultText: '`3`',
    doc: 'Default attempts per job (first run included).',
    group: 'jobs',
    parse: optional(integer(1, 1000)),
  },
  backoff: {
    env: ['SLUICE_BACKOFF'],
    arg: '<spec>',
    default: undefined,
    defaultText: '`exponential:1s:1h:0.2`',
    doc: 'Default retry backoff: `fixed:<delay>`, `exponential:<delay>[:<max>[:<jitter>]]` or JSON.',
    group: 'jobs',
    parse: optional(parseBackoff),
  },
  jobTimeout: {
    env: ['SLUICE_JOB_TIMEOUT'],
    arg: '<duration>',
    default: undefined,
    defaultText: 'none',
    doc: 'Default per-attempt timeout of published jobs.',
    group: 'jobs',
    parse: optional(parseDuration),
  },
  lease: {
    env: ['SLUICE_LEASE'],
    arg: '<duration>',
    default: 30_000,
    defaultText: '`30s`',
    doc: "Worker lease (visibility timeout): an attempt whose worker stops sending heartbeats for this long is taken back.",
    group: 'worker',
    parse: parseDuration,
  },
  concurrency: {
    env: ['SLUICE_CONCURRENCY'],
    arg: '<n>',
    default: 10,
    defaultText: '`10`',
    doc: 'Handlers a worker runs at once.',
    group: 'worker',
    parse: integer(1, 10_000),
  },
  grace: {
    env: ['SLUICE_GRACE'],
    arg: '<duration>',
    default: 10_000,
    defaultText: '`10s`',
    doc: 'On SIGTERM/SIGINT, how long running handlers may finish before their jobs are given back.',
    group: 'worker',
    parse: parseDuration,
  },
  workerMetricsPort: {
    env: ['SLUICE_WORKER_METRICS_PORT'],
    arg: '<port>',
    default: undefined,
    defaultText: 'none',
    doc: 'A worker serves its own `/metrics` (wait and run time histograms) on this port, on `SLUICE_HOST`.',
    group: 'worker',
    parse: optional(integer(0, 65535)),
  },
  retainCompletedAge: {
    env: ['SLUICE_RETAIN_COMPLETED_AGE'],
    arg: '<duration|none>',
    default: undefined,
    defaultText: 'queue policy (library default `1d`)',
    doc: 'Retention: completed jobs leave the read models after this age. A worker sets it as its queue\'s policy at start.',
    group: 'worker',
    parse: limit(parseDuration),
  },
  retainCompletedCount: {
    env: ['SLUICE_RETAIN_COMPLETED_COUNT'],
    arg: '<n|none>',
    default: undefined,
    defaultText: 'queue policy (library default `10000`)',
    doc: 'Retention: at most this many completed jobs are kept (the newest).',
    group: 'worker',
    parse: limit(integer(0, Number.MAX_SAFE_INTEGER)),
  },
  retainDeadAge: {
    env: ['SLUICE_RETAIN_DEAD_AGE'],
    arg: '<duration|none>',
    default: undefined,
    defaultText: 'queue policy (library default `7d`)',
    doc: 'Retention: dead jobs leave the read models after this age.',
    group: 'worker',
    parse: limit(parseDuration),
  },
  retainDeadCount: {
    env: ['SLUICE_RETAIN_DEAD_COUNT'],
    arg: '<n|none>',
    default: undefined,
    defaultText: 'queue policy (library default `100000`)',
    doc: 'Retention: at most this many dead jobs are kept.',
    group: 'worker',
    parse: limit(integer(0, Number.MAX_SAFE_INTEGER)),
  },
  retainCancelledAge: {
    env: ['SLUICE_RETAIN_CANCELLED_AGE'],
    arg: '<duration|none>',
    default: undefined,
    defaultText: 'queue policy (library default `7d`)',
    doc: 'Retention: cancelled jobs leave the read models after this age.',
    group: 'worker',
    parse: limit(parseDuration),
  },
  retainCancelledCount: {
    env: ['SLUICE_RETAIN_CANCELLED_COUNT'],
    arg: '<n|none>',
    default: undefined,
    defaultText: 'queue policy (library default `100000`)',
    doc: 'Retention: at most this many cancelled jobs are kept.',
    group: 'worker',
    parse: limit(integer(0, Number.MAX_SAFE_INTEGER)),
  },
  archiveInterval: {
    env: ['SLUICE_ARCHIVE_INTERVAL'],
    arg: '<duration>',
    default: 1000,
    defaultText: '`1s`',
    doc: 'The service archives every queue\'s events to MongoDB (then trims the stream), one chunk per run, runs of one queue at least this far apart; caught-up queues wait on their streams (`XREAD BLOCK`) instead of being polled. `0` turns the archiver off.',
    group: 'server',
    parse: parseDuration,
  },
  archiveTrim: {
    env: ['SLUICE_ARCHIVE_TRIM'],
    arg: '<bool>',
    default: true,
    defaultText: '`true`',
    doc: 'Trim archived events from the Redis stream (memory stays bounded; replay reads the archive).',
    group: 'server',
    parse: bool,
  },
  otel: {
    env: ['SLUICE_OTEL'],
    arg: '<mode>',
    default: 'auto',
    defaultText: '`auto`',
    doc: 'OpenTelemetry SDK: `on`, `off`, or `auto` (on when `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set). Exporters, endpoints, sampler and resource come from the standard `OTEL_*` variables; `OTEL_SDK_DISABLED=true` wins.',
    group: 'logging',
    parse: oneOf(['auto', 'on', 'off'] as const),
  },
};

/** Keys of the options a group of commands takes. */
export function optionsOf(...groups: readonly OptionGroup[]): ConfigKey[] {
  return (Object.keys(CONFIG_OPTIONS) as ConfigKey[]).filter((key) => groups.includes(CONFIG_OPTIONS[key].group));
}

/** `redisUrl` → `--redis-url`. */
export function flagOf(key: ConfigKey): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The commands that read each group of options. */
export const GROUP_COMMANDS: { readonly [G in OptionGroup]: string } = {
  connection: 'every command',
  server: '`serve`',
  jobs: '`serve`',
  worker: '`worker`',
  logging: '`serve`, `worker`',
};

/** The configuration table as Markdown (docs/CONFIGURATION.md embeds it verbatim). */
export function renderConfigTable(): string {
  const rows = (Object.keys(CONFIG_OPTIONS) as ConfigKey[]).map((key) => {
    const spec = CONFIG_OPTIONS[key];
    const flag = `\`${flagOf(key)}${spec.arg ? ` ${spec.arg}` : ''}\``.replace(/\|/g, '\\|');
    const env = spec.env.map((v) => `\`${v}\``).join(', ');
    return `| ${env} | ${flag} | ${GROUP_COMMANDS[spec.group]} | ${spec.defaultText} | ${spec.doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| Variable | Flag | Used by | Default | Meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
