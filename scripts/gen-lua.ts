/**
 * Build step: turns the Lua scripts of src/events/lua into src/events/lua/generated.ts
 * (gitignored), which the script gateway (src/events/scripts.ts) registers with ioredis
 * `defineCommand`. For each script it
 *
 * - inlines the `--- @include "<name>"` lines: `includes/<x>` is src/events/lua/includes/<x>.lua,
 *   `<layer>/<x>` is src/<layer>/lua/<x>.lua (the projection fold is `projections/fold`). Each
 *   include is inlined once per script, at its first use;
 * - reads the `--- @keys <name> ...` header line(s): the keys the script touches, by the names of
 *   SCRIPT_KEY_NAMES in src/core/keys.ts, and `--- @blocks 2` for scripts that take a second block
 *   of the same keys (the shadow read model). The generator fails when the inlined text names a
 *   key (`K.<name>`, `S.<name>`) it does not declare, or declares one it never names. It prepends
 *   KEY_NAMES, KEY_LANES, KEY_STATES and KEY_COUNT, from which includes/keys.lua builds `K`
 *   (`states`, the last name, takes the rest of each block: KEY_COUNT is `#KEYS / blocks`, and
 *   STATE_LAYOUTS names the states of the index keys by their number: AS_OF_INDEXED_STATES or
 *   INDEXED_STATES, both without `waiting`, whose index is the priority set);
 * - prepends, as Lua locals, the wire-format positions of src/events/wire.ts (`PUB_PRIORITY`,
 *   `CLAIM_TOKEN`, `CJ_ATTEMPT`, `CTX_SEQ`, …), the field lists `JOB_CONTEXT` and
 *   `CLAIM_JOB_FIELDS`, and `EVENT_VERSION` (from EVENT_VERSIONS in src/events/types.ts) — only
 *   those the script's text names;
 * - wraps scripts that include the projection fold in {@link wrapFold}.
 *
 * Run by `npm run gen` and before typecheck, build, lint and tests.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AS_OF_INDEXED_STATES, INDEXED_STATES, SCRIPT_KEY_NAMES, type ScriptKeyName } from '../src/core/keys.js';
import { EVENT_VERSIONS } from '../src/events/types.js';
import { LUA_FIELD_LISTS, luaWireConstants } from '../src/events/wire.js';

const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const luaDir = join(srcDir, 'events', 'lua');
const includePattern = /^--- @include "([A-Za-z0-9_/-]+)"\s*$/;
const keysPattern = /^--- @keys ((?:[A-Za-z]+\s*)+)$/;
const blocksPattern = /^--- @blocks (\d)\s*$/;
const FOLD = 'projections/fold';

function includePath(name: string): string {
  if (name.startsWith('includes/')) return join(luaDir, `${name}.lua`);
  const [layer, ...rest] = name.split('/');
  if (!layer || rest.length === 0) throw new Error(`include "${name}": expected includes/<x> or <layer>/<x>`);
  return join(srcDir, layer, 'lua', `${rest.join('/')}.lua`);
}

function inline(file: string, seen: Set<string>): string {
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = includePattern.exec(line);
    if (!match) {
      out.push(line);
      continue;
    }
    const name = match[1] as string;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(`-- >>> ${name}`, inline(includePath(name), seen), `-- <<< ${name}`);
  }
  return out.join('\n');
}

/**
 * Runs a script that folds events inside a function, then writes the fold's batched counter
 * deltas (`flushFold`, set by src/projections/lua/fold.lua) whether the script returned or raised:
 * the counts hash always matches the writes the script made. An error is raised again unchanged.
 */
function wrapFold(text: string): string {
  return [
    'local flushFold',
    'local outcome = { pcall(function()',
    text,
    'end) }',
    'if flushFold then flushFold() end',
    'if not outcome[1] then error(outcome[2]) end',
    'return outcome[2]',
  ].join('\n');
}

/** The keys one script declares, in SCRIPT_KEY_NAMES order, and how many blocks of them it takes. */
export interface ScriptKeySpec {
  keys: ScriptKeyName[];
  blocks: 1 | 2;
}

function declaredKeys(name: string, source: string): ScriptKeySpec {
  const declared = new Set<string>();
  let blocks: 1 | 2 = 1;
  for (const line of source.split('\n')) {
    const keys = keysPattern.exec(line);
    if (keys) for (const key of (keys[1] as string).trim().split(/\s+/)) declared.add(key);
    const b = blocksPattern.exec(line);
    if (b) blocks = b[1] === '2' ? 2 : 1;
  }
  for (const key of declared) {
    if (!(SCRIPT_KEY_NAMES as readonly string[]).includes(key)) throw new Error(`${name}.lua: @keys names unknown key ${key}`);
  }
  return { keys: SCRIPT_KEY_NAMES.filter((k) => declared.has(k)), blocks };
}

function checkKeys(name: string, text: string, spec: ScriptKeySpec): void {
  const code = text.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--[^\n]*/g, '');
  const used = new Set<string>();
  for (const m of code.matchAll(/\b[KS]\.([A-Za-z]+)\b/g)) {
    if ((SCRIPT_KEY_NAMES as readonly string[]).includes(m[1] as string)) used.add(m[1] as string);
  }
  const missing = [...used].filter((k) => !spec.keys.includes(k as ScriptKeyName));
  const unused = spec.keys.filter((k) => !used.has(k));
  if (missing.length > 0) throw new Error(`${name}.lua names keys its --- @keys line does not declare: ${missing.join(' ')}`);
  if (unused.length > 0) throw new Error(`${name}.lua declares keys it never names: ${unused.join(' ')}`);
}

function luaString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The Lua locals prepended to a script: its key layout and the named constants its text uses. */
function prelude(text: string, spec: ScriptKeySpec): string {
  const singles = spec.keys.filter((k) => k !== 'lanes' && k !== 'states');
  let count = singles.length;
  const lines = [
    '-- Generated by scripts/gen-lua.ts: this script\'s keys (src/core/keys.ts) and wire positions (src/events/wire.ts).',
    `local KEY_NAMES = { ${singles.map(luaString).join(', ')} }`,
  ];
  if (spec.keys.includes('lanes')) {
    lines.push(`local KEY_LANES = ${count + 1}`);
    count += 5;
  } else lines.push('local KEY_LANES = nil');
  if (spec.keys.includes('states')) {
    // The state indexes end each block and their number depends on the read model (the live
    // and shadow ones have no `active` index, a time-travel one has): one block is 1/blocks of KEYS.
    lines.push(`local KEY_STATES = ${count + 1}`);
    lines.push(`local KEY_COUNT = #KEYS / ${spec.blocks}`);
    // The state of each index key, by the number of them: AS_OF_INDEXED_STATES (a time-travel
    // read model) or INDEXED_STATES (the live and shadow ones).
    lines.push(`local STATE_LAYOUTS = { [${AS_OF_INDEXED_STATES.length}] = { ${AS_OF_INDEXED_STATES.map(luaString).join(', ')} }, [${INDEXED_STATES.length}] = { ${INDEXED_STATES.map(luaString).join(', ')} } }`);
  } else {
    lines.push('local KEY_STATES = nil');
    lines.push(`local KEY_COUNT = ${count}`);
  }
  const names = (name: string): boolean => new RegExp(`\\b${name}\\b`).test(text);
  for (const [name, fields] of Object.entries(LUA_FIELD_LISTS)) {
    if (names(name)) lines.push(`local ${name} = { ${fields.map(luaString).join(', ')} }`);
  }
  for (const [name, value] of luaWireConstants()) if (names(name)) lines.push(`local ${name} = ${value}`);
  if (names('EVENT_VERSION')) {
    const entries = Object.entries(EVENT_VERSIONS).map(([type, v]) => `[${luaString(type)}] = '${v}'`);
    lines.push(`local EVENT_VERSION = { ${entries.join(', ')} }`);
  }
  return lines.join('\n');
}

export function generateLua(): string {
  const names = readdirSync(luaDir)
    .filter((f) => f.endsWith('.lua'))
    .map((f) => f.slice(0, -4))
    .sort();
  const scripts: Record<string, string> = {};
  const keys: Record<string, ScriptKeySpec> = {};
  for (const name of names) {
    const seen = new Set<string>();
    const file = join(luaDir, `${name}.lua`);
    const text = inline(file, seen);
    const spec = declaredKeys(name, readFileSync(file, 'utf8'));
    checkKeys(name, text, spec);
    keys[name] = spec;
    const body = `${prelude(text, spec)}\n${text}`;
    scripts[name] = seen.has(FOLD) ? wrapFold(body) : body;
  }
  const version = createHash('sha1').update(JSON.stringify(scripts)).digest('hex').slice(0, 12);
  const body = [
    '// Generated by scripts/gen-lua.ts from src/events/lua/*.lua. Do not edit.',
    "import type { ScriptKeyName } from '../../core/keys.js';",
    `export const SCRIPT_VERSION = ${JSON.stringify(version)};`,
    `export const SCRIPTS = ${JSON.stringify(scripts, null, 2)} as const;`,
    '/** The keys each script declares (`--- @keys`), in SCRIPT_KEY_NAMES order, and its number of key blocks. */',
    `export const SCRIPT_KEYS: { readonly [N in keyof typeof SCRIPTS]: { readonly keys: readonly ScriptKeyName[]; readonly blocks: 1 | 2 } } = ${JSON.stringify(keys, null, 2)};`,
    '',
  ].join('\n');
  const target = join(luaDir, 'generated.ts');
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // first generation
  }
  if (current !== body) writeFileSync(target, body);
  return target;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) generateLua();
