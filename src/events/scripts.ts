/**
 * Registers Sluice's Lua scripts on an ioredis connection and runs them with the queue's fixed
 * KEYS block. This is the one place script names and reply shapes meet TypeScript; every
 * script error goes through {@link fromScriptError} so callers see typed errors.
 */
import type { Redis } from 'ioredis';
import { fromScriptError } from '../errors.js';
import { SCRIPT_KEY_COUNT, scriptKeys, type QueueName } from '../keys.js';
import { SCRIPT_VERSION, SCRIPTS } from './lua/generated.js';

/** Name of a Sluice Lua script (a file in src/events/lua). */
export type ScriptName = keyof typeof SCRIPTS;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

function commandName(name: ScriptName): string {
  // The version (a hash of every script's text) keeps two Sluice builds sharing one
  // connection from overwriting each other's definitions.
  return `sluice_${name}_${SCRIPT_VERSION}`;
}

/** Defines every Sluice script on `redis` (idempotent). */
export function registerScripts(redis: Redis): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const command = commandName(name);
    if (command in redis) continue;
    redis.defineCommand(command, { numberOfKeys: SCRIPT_KEY_COUNT, lua: SCRIPTS[name] });
  }
}

/**
 * Runs one script against `queue`: KEYS is the queue's fixed block, ARGV starts with `now` and
 * the queue name, then `args`.
 * @throws the typed error a `SLUICE_ERR_*` reply maps to, or the client's error unchanged.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  queue: QueueName,
  now: number,
  args: readonly (string | number)[],
): Promise<unknown> {
  registerScripts(redis);
  // ioredis adds defined commands as instance methods that its types cannot know about.
  const command = (redis as unknown as Record<string, ScriptCommand>)[commandName(name)];
  if (!command) throw new Error(`script ${name} is not registered`);
  try {
    return await command.call(redis, ...scriptKeys(queue), now, queue, ...args);
  } catch (error) {
    throw fromScriptError(error);
  }
}
