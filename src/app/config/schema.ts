/**
 * The shape of the configuration: the resolved {@link SluiceConfig} and one row of the option
 * table ({@link OptionSpec}).
 *
 * @packageDocumentation
 */
import type { BackoffSpec } from '../../events/types.js';

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

/** The keys of the option table (`CONFIG_OPTIONS`). */
export type ConfigKey = keyof SluiceConfig;
