/**
 * What every command shares: the configuration options (from the one table in src/app/config.ts),
 * the connections, `--json`, and the exit codes.
 *
 * @packageDocumentation
 */
import { Option, type Command } from 'commander';
import { CONFIG_OPTIONS, flagOf, loadConfig, optionsOf, type OptionGroup, type SluiceConfig } from '../app/config.js';
import { ValidationError } from '../core/errors.js';
import { SluiceContext } from '../app/context.js';

/** Exit codes. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The operation failed (unreachable service, refused transition, verify found differences). */
  failed: 1,
  /** The command line or the configuration is wrong, or a guard refused (flush without confirmation). */
  usage: 2,
} as const;

/** Adds the options of `groups` (connection is always included) from the configuration table. */
export function addConfigOptions(command: Command, groups: readonly OptionGroup[] = []): Command {
  for (const key of optionsOf('connection', ...groups)) {
    const spec = CONFIG_OPTIONS[key];
    const flag = `${flagOf(key)}${spec.arg ? ` ${spec.arg}` : ''}`;
    command.addOption(new Option(flag, `${spec.doc.replace(/`/g, '')} [env: ${spec.env.join(', ')}; default: ${spec.defaultText.replace(/`/g, '')}]`));
  }
  return command;
}

/** The configuration of a command: its flags, the environment, the defaults. */
export function configOf(command: Command): SluiceConfig {
  return loadConfig({ flags: command.optsWithGlobals() });
}

/** True when `--json` was given. */
export function jsonOutput(command: Command): boolean {
  return command.optsWithGlobals<{ json?: boolean }>().json === true;
}

/** Runs `work` with a context built from the command's configuration, then closes it. */
export async function withContext<T>(command: Command, work: (context: SluiceContext) => Promise<T>): Promise<T> {
  const config = configOf(command);
  // One connection attempt (at most SLUICE_REDIS_CONNECT_TIMEOUT, until the server answers), then
  // SLUICE_ERR_REDIS_UNAVAILABLE: a command run by hand or by a script reports an outage at once
  // rather than retrying through it.
  const context = new SluiceContext(config, { connectionName: 'sluice:cli', maxRetriesPerRequest: 0 });
  try {
    await context.redisReady(command.name());
    return await work(context);
  } catch (error) {
    // Name the server, not the client library's wording: SLUICE_ERR_REDIS_UNAVAILABLE with the redacted URL.
    throw context.redisUnavailable(error, command.name());
  } finally {
    await context.close();
  }
}

/** Parses a positive integer option. */
export function positiveInt(value: string, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new ValidationError(name, `must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}
