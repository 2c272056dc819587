/**
 * Registers Sluice's Lua scripts on an ioredis connection and runs them with the queue's fixed
 * KEYS block. This is the one place script names and reply shapes meet TypeScript; every
 * script error goes through {@link fromScriptError} so callers see typed errors.
 */
import { asRedisUnavailable, fromScriptError } from '../core/errors.js';
import type { RedisClient } from '../redis/connection.js';
import { SCRIPT_KEY_COUNT, scriptKeys, type QueueName } from '../core/keys.js';
import { SCRIPT_VERSION, SCRIPTS } from './lua/generated.js';
import type { ScriptTime } from '../core/clock.js';

/** Name of a Sluice Lua script (a file in src/events/lua). */
export type ScriptName = keyof typeof SCRIPTS;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

function commandName(name: ScriptName): string {
  // The version (a hash of every script's text) keeps two Sluice builds sharing one
  // connection from overwriting each other's definitions.
  return `sluice_${name}_${SCRIPT_VERSION}`;
}

/** Scripts that take a second fixed KEYS block (the shadow read model) after the live one. */
const TWO_BLOCKS: ReadonlySet<ScriptName> = new Set<ScriptName>(['swapProjection', 'verifyProjection']);

const keyCache = new Map<string, string[]>();

/** The queue's fixed KEYS block, cached (queues are few and long-lived). */
function keysOf(queue: QueueName): string[] {
  let keys = keyCache.get(queue);
  if (!keys) {
    keys = scriptKeys(queue);
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(queue, keys);
  }
  return keys;
}

const registered = new WeakSet<RedisClient>();

/** Defines every Sluice script on `redis`, a server or a Cluster connection (idempotent). */
export function registerScripts(redis: RedisClient): void {
  if (registered.has(redis)) return;
  registered.add(redis);
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const command = commandName(name);
    if (command in redis) continue;
    const numberOfKeys = TWO_BLOCKS.has(name) ? 2 * SCRIPT_KEY_COUNT : SCRIPT_KEY_COUNT;
    redis.defineCommand(command, { numberOfKeys, lua: SCRIPTS[name] });
  }
}

/**
 * Runs one script against `queue`: KEYS is the queue's fixed block, ARGV starts with `now` and
 * the queue name, then `args`.
 * @throws the typed error a `SLUICE_ERR_*` reply maps to; `RedisUnavailableError` when Redis (or,
 *   on a Cluster, the master of the queue's slot) cannot be reached; else the client's error unchanged.
 */
export async function runScript(
  redis: RedisClient,
  name: ScriptName,
  queue: QueueName,
  now: ScriptTime,
  args: readonly (string | number)[],
  keys: readonly string[] = keysOf(queue),
): Promise<unknown> {
  registerScripts(redis);
  // ioredis adds defined commands as instance methods that its types cannot know about.
  const command = (redis as unknown as Record<string, ScriptCommand>)[commandName(name)];
  if (!command) throw new Error(`script ${name} is not registered`);
  try {
    return await command.call(redis, ...keys, now, queue, ...args);
  } catch (error) {
    throw asRedisUnavailable(fromScriptError(error), `${name} on queue ${queue}`);
  }
}
