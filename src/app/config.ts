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
import type { RetentionPolicy } from '../projections/retention.js';
import { CONFIG_OPTIONS, flagOf } from './config/options.js';
import type { ConfigKey, OptionSpec, RetentionLimit, SluiceConfig } from './config/schema.js';

// The option table (config/options.ts), its value parsers (config/parse.ts) and types (config/schema.ts).
export { CONFIG_OPTIONS, GROUP_COMMANDS, flagOf, optionsOf, renderConfigTable } from './config/options.js';
export { parseBackoff, parseBytes, parseDuration } from './config/parse.js';
export { LOG_LEVELS, type ConfigKey, type LogLevel, type OptionGroup, type OptionSpec, type OtelMode, type RetentionLimit, type SluiceConfig } from './config/schema.js';

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
