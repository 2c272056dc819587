/**
 * The typed gateway to the Lua scripts: one function per script, each owning its script's wire
 * format — it builds ARGV from a typed input and parses the reply into a typed result. Nothing
 * outside this folder sees an ARGV position or a raw reply. Positional formats shared with the
 * Lua side are named once in src/events/wire.ts.
 *
 * @packageDocumentation
 */
export * from './attempts.js';
export * from './jobs.js';
export * from './maintenance.js';
export * from './publish.js';

