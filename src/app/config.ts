/**
 * Configuration of the Sluice service, workers and CLI, from environment variables and command
 * line flags, defined in one table ({@link CONFIG_OPTIONS}).
 *
 * Every option has one camelCase key, the environment variables it is read from (first set one
 * wins), one flag (`--kebab-case` of the key) and a parser that names the variable or flag in its
 * error. Flags win over the environment; the environment wins over the default. The table is
 * rendered into docs/CONFIGURATION.md (a test keeps them equal) and into `--help`.
 *
 * Secrets (URLs with passwords, tokens) are never printed: {@link describeConfig} and
 * {@link redactUrl} mask them.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../core/errors.js';
import type { BackoffSpec } from '../events/types.js';
import type { RetentionPolicy } from '../projections/retention.js';
import { validateBackoff } from '../jobs/options.js';
import { parseClusterUrl } from '../redis/connection.js';

/** Log levels of pino, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** When the OpenTelemetry SDK starts. */
export type OtelMode = 'auto' | 'on' | 'off';

/** A limit of the retention policy: a number, `null` for no limit, `undefined` for the library default. */
export type RetentionLimit = number | null | undefined;

/** The resolved configuration. */
export interface SluiceConfig {
  redisUrl: string;
  redisUsername: string | undefined;
  redisPassword: string | undefined;
  redisTlsCaFile: string | undefined;
  redisConnectTimeout: number;
  mongoUrl: string;
  mongoUsername: string | undefined;
  mongoPassword: string | undefined;
  mongoTlsCaFile: string | undefined;
  mongoDatabase: string;
  collectionPrefix: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  authFile: string | undefined;
  tokens: string | undefined;
  localNoAuth: boolean;
  metricsPublic: boolean;
  bodyLimit: number;
  bulkBodyLimit: number;
  maxLiveStreams: number;
  priority: number | undefined;
  attempts: number | undefined;
  backoff: BackoffSpec | undefined;
  jobTimeout: number | undefined;
  lease: number;
  concurrency: number;
  grace: number;
  workerMetricsPort: number | undefined;
  retainCompletedAge: RetentionLimit;
  retainCompletedCount: RetentionLimit;
  retainDeadAge: RetentionLimit;
  retainDeadCount: RetentionLimit;
  retainCancelledAge: RetentionLimit;
  retainCancelledCount: RetentionLimit;
  archiveInterval: number;
  archiveTrim: boolean;
  otel: OtelMode;
}

/** Which commands read an option (for `--help` and the docs). */
export type OptionGroup = 'connection' | 'server' | 'jobs' | 'worker' | 'logging';

/** One row of the configuration table. */
export interface OptionSpec<T> {
  /** Environment variables, first set one wins. */
  readonly env: readonly string[];
  /** Placeholder of the flag's argument; absent for a boolean switch. */
  readonly arg?: string;
  /** Value when neither a flag nor a variable is given. */
  readonly default: T;
  /** The default as the docs show it. */
  readonly defaultText: string;
  /** What the option does. */
  readonly doc: string;
  /** Which commands take it. */
  readonly group: OptionGroup;
  /** Never print the value. */
  readonly secret?: boolean;
  /** Parses one text value; `field` names the variable or flag in errors. */
  parse(text: string, field: string): T;
}

const BOOL_TRUE = ['1', 'true', 'yes', 'on'];
const BOOL_FALSE = ['0', 'false', 'no', 'off'];

function bool(text: string, field: string): boolean {
  const value = text.trim().toLowerCase();
  if (BOOL_TRUE.includes(value)) return true;
  if (BOOL_FALSE.includes(value)) return false;
  throw new ValidationError(field, `must be true or false, got ${JSON.stringify(text)}`);
}

function integer(min: number, max: number): (text: string, field: string) => number {
  return (text, field) => {
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ValidationError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: milliseconds (`1500`) or a number with a unit (`500ms`, `30s`, `5m`, `12h`, `7d`).
 * @throws {@link ValidationError} naming `field`.
 */
export function parseDuration(text: string, field: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1)) : NaN;
  if (!Number.isSafeInteger(ms)) {
    throw new ValidationError(field, `must be a duration such as 1500, 500ms, 30s, 5m, 12h or 7d, got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** Parses a size in bytes: `1048576`, `512kb`, `1mb` (powers of 1024). */
export function parseBytes(text: string, field: string): number {
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(text.trim());
  const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
  const bytes = match ? Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new ValidationError(field, `must be a size such as 1048576, 512kb or 1mb, got ${JSON.stringify(text)}`);
  return bytes;
}

function url(protocols: readonly string[]): (text: string, field: string) => string {
  return (text, field) => {
    let protocol: string;
    try {
      protocol = new URL(text).protocol;
    } catch {
      // A MongoDB seed list (`mongodb://h1:27017,h2:27017/?replicaSet=rs`) is a valid connection
      // string that the WHATWG parser refuses; the driver parses it.
      const scheme = /^([a-z][a-z0-9+.-]*:)\/\/[^\s/?#]+(?:[/?#]\S*)?$/i.exec(text)?.[1]?.toLowerCase();
      if (scheme === undefined || !scheme.startsWith('mongodb')) {
        throw new ValidationError(field, `is not a URL (expected ${protocols.map((p) => `${p}//…`).join(' or ')})`);
      }
      protocol = scheme;
    }
    if (!protocols.includes(protocol)) {
      throw new ValidationError(field, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got ${protocol}//`);
    }
    return text;
  };
}

/** A Redis URL: one server (`redis://`, `rediss://`) or a cluster's startup nodes (`redis+cluster://h1:p1,h2:p2`). */
function redisUrl(text: string, field: string): string {
  if (!/^rediss?\+cluster:/i.test(text)) return url(['redis:', 'rediss:', 'redis+cluster:', 'rediss+cluster:'])(text, field);
  parseClusterUrl(text, field);
  return text;
}

function name(pattern: RegExp, what: string): (text: string, field: string) => string {
  return (text, field) => {
    if (!pattern.test(text)) throw new ValidationError(field, `${JSON.stringify(text)} is not a valid ${what}`);
    return text;
  };
}

function oneOf<T extends string>(values: readonly T[]): (text: string, field: string) => T {
  return (text, field) => {
    if (!(values as readonly string[]).includes(text)) throw new ValidationError(field, `must be one of ${values.join(', ')}, got ${JSON.stringify(text)}`);
    return text as T;
  };
}

function optional<T>(parse: (text: string, field: string) => T): (text: string, field: string) => T | undefined {
  return (text, field) => (text === '' ? undefined : parse(text, field));
}

/** `none` means no limit (null); otherwise a duration or count. */
function limit(parse: (text: string, field: string) => number): (text: string, field: string) => RetentionLimit {
  return (text, field) => (text === '' ? undefined : text.trim().toLowerCase() === 'none' ? null : parse(text, field));
}

/**
 * Parses a backoff: `fixed:<delay>`, `exponential:<delay>[:<max delay>[:<jitter>]]` (delays as
 * durations) or the JSON of a backoff spec.
 */
export function parseBackoff(text: string, field: string): BackoffSpec {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new ValidationError(field, 'is not valid JSON');
    }
    return validateBackoff(json, field);
  }
  const [type, delay, max, jitter] = trimmed.split(':');
  if (type === 'fixed' && delay !== undefined && max === undefined) return validateBackoff({ type, delayMs: parseDuration(delay, field) }, field);
  if (type === 'exponential' && delay !== undefined) {
    return validateBackoff(
      {
        type,
        delayMs: parseDuration(delay, field),
        ...(max === undefined ? {} : { maxDelayMs: parseDuration(max, field) }),
        ...(jitter === undefined ? {} : { jitter: Number(jitter) }),
      },
      field,
    );
  }
  throw new ValidationError(field, `must be fixed:<delay>, exponential:<delay>[:<max>[:<jitter>]] or JSON, got ${JSON.stringify(text)}`);
}

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

/** The keys of {@link CONFIG_OPTIONS}. */
export type ConfigKey = keyof SluiceConfig;

/** Keys of the options a group of commands takes. */
export function optionsOf(...groups: readonly OptionGroup[]): ConfigKey[] {
  return (Object.keys(CONFIG_OPTIONS) as ConfigKey[]).filter((key) => groups.includes(CONFIG_OPTIONS[key].group));
}

/** `redisUrl` → `--redis-url`. */
export function flagOf(key: ConfigKey): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Where configuration values come from. */
export interface ConfigSources {
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Parsed flags by key (commander's camelCase option names); strings or booleans. */
  flags?: Readonly<Partial<Record<string, unknown>>>;
}

function resolve<K extends ConfigKey>(key: K, env: Readonly<Record<string, string | undefined>>, flags: Readonly<Partial<Record<string, unknown>>>): SluiceConfig[K] {
  const spec: OptionSpec<SluiceConfig[K]> = CONFIG_OPTIONS[key];
  const flag = flags[key];
  if (flag !== undefined) {
    if (typeof flag === 'boolean' && spec.arg === undefined) return flag as SluiceConfig[K];
    if (typeof flag !== 'string') throw new ValidationError(flagOf(key), `expects a value, got ${typeof flag}`);
    return spec.parse(flag, flagOf(key));
  }
  for (const variable of spec.env) {
    const value = env[variable];
    if (value !== undefined && value !== '') return spec.parse(value, variable);
  }
  return spec.default;
}

/**
 * Resolves every option: flag, else the first set environment variable, else the default.
 * @throws {@link ValidationError} naming the flag or variable of the first bad value.
 */
export function loadConfig(sources: ConfigSources = {}): SluiceConfig {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const config = {} as Record<ConfigKey, unknown>;
  for (const key of Object.keys(CONFIG_OPTIONS) as ConfigKey[]) config[key] = resolve(key, env, flags);
  return config as unknown as SluiceConfig;
}

// `scheme://user:password@`: the password runs to the last `@` of the authority, so an
// unencoded `@` or `/` in it (which drivers refuse, but a message may still quote) is masked too.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"'<>]*):[^\s"'<>?]*@/gi;
// Query options holding secrets: `tlsCertificateKeyFilePassword`, `authMechanismProperties`
// (e.g. an AWS session token), and anything named like a password, secret or token.
const QUERY_SECRETS = /([?&](?:[a-z]*(?:password|secret|token)[a-z]*|authMechanismProperties)=)[^&#\s"'<>]*/gi;

/**
 * The URL with its password (and secret query options such as `tlsCertificateKeyFilePassword`)
 * replaced by `***`. A URL the WHATWG parser refuses (a multi-host `mongodb://h1,h2/` or
 * `redis+cluster://h1:p1,h2:p2`) is masked by pattern; text that does not look like a URL at all
 * is replaced wholesale.
 */
export function redactUrl(text: string): string {
  try {
    const parsed = new URL(text);
    // `user:pa@ss/word@host`: the parser ends the authority at the `/` and takes the rest of the
    // password for a path; mask by pattern, to the last `@`.
    if (parsed.password && /@/.test(`${parsed.pathname}${parsed.hash}`)) return scrubSecrets(text);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(QUERY_SECRETS, '$1***');
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/\S*$/i.test(text) ? scrubSecrets(text) : '<unparsable URL>';
  }
}

/**
 * Replaces `scheme://user:password@` credentials anywhere in `text` with `scheme://user:***@`,
 * and the values of secret URL query options with `***`.
 */
export function scrubSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@').replace(QUERY_SECRETS, '$1***');
}

/** The configuration for logs: secrets masked, URLs without passwords. */
export function describeConfig(config: SluiceConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(CONFIG_OPTIONS) as ConfigKey[]) {
    const value = config[key];
    if (value === undefined) continue;
    if (key === 'redisUrl' || key === 'mongoUrl') out[key] = redactUrl(value as string);
    else out[key] = CONFIG_OPTIONS[key].secret ? '***' : value;
  }
  return out;
}

/** The retention policy the configuration asks for, or `undefined` when it sets no limit. */
export function retentionFromConfig(config: SluiceConfig): RetentionPolicy | undefined {
  const pick = (age: RetentionLimit, count: RetentionLimit): { maxAgeMs?: number | null; maxCount?: number | null } | undefined => {
    if (age === undefined && count === undefined) return undefined;
    return { ...(age === undefined ? {} : { maxAgeMs: age }), ...(count === undefined ? {} : { maxCount: count }) };
  };
  const completed = pick(config.retainCompletedAge, config.retainCompletedCount);
  const dead = pick(config.retainDeadAge, config.retainDeadCount);
  const cancelled = pick(config.retainCancelledAge, config.retainCancelledCount);
  if (!completed && !dead && !cancelled) return undefined;
  return { ...(completed ? { completed } : {}), ...(dead ? { dead } : {}), ...(cancelled ? { cancelled } : {}) };
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
