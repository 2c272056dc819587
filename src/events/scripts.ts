/**
 * Registers Sluice's Lua scripts on an ioredis connection and runs them with the keys each
 * script declares (its `--- @keys` header line, see scripts/gen-lua.ts). Every script error goes
 * through {@link fromScriptError} so callers see typed errors. The typed functions of
 * src/events/commands/ are the only callers in src/: they own each script's ARGV and reply.
 */
import { asRedisUnavailable, fromScriptError } from '../core/errors.js';
import type { RedisClient } from '../redis/connection.js';
import { flattenScriptKeys, scriptKeyMap, type QueueName, type ScriptKeyMap } from '../core/keys.js';
import { SCRIPT_KEYS, SCRIPT_VERSION, SCRIPTS } from './lua/generated.js';
import type { ScriptTime } from '../core/clock.js';

/** Name of a Sluice Lua script (a file in src/events/lua). */
export type ScriptName = keyof typeof SCRIPTS;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

function commandName(name: ScriptName): string {
  // The version (a hash of every script's text) keeps two Sluice builds sharing one
  // connection from overwriting each other's definitions.
  return `sluice_${name}_${SCRIPT_VERSION}`;
}

const keyCache = new Map<string, string[]>();

/** The keys `name` declares, of `queue`'s live read model, cached (queues are few and long-lived). */
function liveKeys(name: ScriptName, queue: QueueName): string[] {
  const id = `${name}\u0000${queue}`;
  let keys = keyCache.get(id);
  if (!keys) {
    keys = flattenScriptKeys(scriptKeyMap(queue), SCRIPT_KEYS[name].keys);
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(id, keys);
  }
  return keys;
}

/**
 * The KEYS of one call of `name`: the keys it declares taken from each map of `blocks` in turn
 * (one map, or the live and the shadow map of a two-block script).
 */
function keysOf(name: ScriptName, queue: QueueName, blocks: readonly ScriptKeyMap[] | undefined): string[] {
  const expected = SCRIPT_KEYS[name].blocks;
  if (!blocks) {
    if (expected !== 1) throw new Error(`script ${name} takes ${expected} key blocks`);
    return liveKeys(name, queue);
  }
  if (blocks.length !== expected) throw new Error(`script ${name} takes ${expected} key blocks, got ${blocks.length}`);
  return blocks.flatMap((map) => flattenScriptKeys(map, SCRIPT_KEYS[name].keys));
}

const registered = new WeakSet<RedisClient>();

/**
 * Defines every Sluice script on `redis`, a server or a Cluster connection (idempotent). The
 * number of keys is passed with each call: a script that takes `states` gets as many state
 * indexes as the read model it is pointed at has (see INDEXED_STATES in src/core/keys.ts).
 */
export function registerScripts(redis: RedisClient): void {
  if (registered.has(redis)) return;
  registered.add(redis);
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const command = commandName(name);
    if (command in redis) continue;
    redis.defineCommand(command, { lua: SCRIPTS[name] });
  }
}

/**
 * Runs one script against `queue`: KEYS are the keys the script declares (of `blocks`, default
 * the queue's live keys), ARGV starts with `now` and the queue name, then `args`. The reply is
 * the script's raw reply: parse it where its format is known (src/events/commands/).
 * @throws the typed error a `SLUICE_ERR_*` reply maps to; `RedisUnavailableError` when Redis (or,
 *   on a Cluster, the master of the queue's slot) cannot be reached; else the client's error unchanged.
 */
export async function runScript(
  redis: RedisClient,
  name: ScriptName,
  queue: QueueName,
  now: ScriptTime,
  args: readonly (string | number)[],
  blocks?: readonly ScriptKeyMap[],
): Promise<unknown> {
  registerScripts(redis);
  const keys = keysOf(name, queue, blocks);
  // ioredis adds defined commands as instance methods that its types cannot know about.
  const command = (redis as unknown as Record<string, ScriptCommand>)[commandName(name)];
  if (!command) throw new Error(`script ${name} is not registered`);
  try {
    return await command.call(redis, keys.length, ...keys, now, queue, ...args);
  } catch (error) {
    throw asRedisUnavailable(fromScriptError(error), `${name} on queue ${queue}`);
  }
}
