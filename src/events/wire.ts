/**
 * The one table of the positional wire formats TypeScript and the Lua scripts share. Everything
 * positional between the two sides is named here once; scripts/gen-lua.ts turns each entry into
 * a Lua local prepended to the scripts that use it (`local PUB_PRIORITY = 2`, read as
 * `ARGV[b + PUB_PRIORITY]`), and src/events/commands/ builds and parses the same positions from
 * these arrays, so the two sides cannot drift.
 *
 * @packageDocumentation
 */

/**
 * The per-job values of the publish wire format (publish.lua, fireRepeat.lua, read by
 * includes/publishjob.lua), in ARGV order. Lua name: `PUB_<FIELD>`, the 0-based offset from the
 * job's first value; `PUB_WIDTH` values per job.
 */
export const PUBLISH_FIELDS = [
  'jobId',
  'name',
  'priority',
  'maxAttempts',
  'backoff',
  'timeoutMs',
  'payload',
  'runAt',
  'traceparent',
  'correlationId',
  'causationId',
  'dedupeKey',
  'dedupeTtlMs',
  'group',
  'repeatKey',
  'dependsOn',
  'onDependencyFailure',
] as const;

/**
 * The per-job values of a claim.lua `jobs` reply, in order. Lua name: `CLAIM_<FIELD>`, the
 * 1-based offset from the value before the job's first (`out[n + CLAIM_TOKEN]`); `CLAIM_WIDTH`
 * values per job.
 */
export const CLAIM_FIELDS = [
  'jobId',
  'token',
  'attempt',
  'maxAttempts',
  'name',
  'payload',
  'timeoutMs',
  'backoff',
  'traceparent',
  'createdAt',
] as const;

/**
 * The job hash fields an event append needs (includes/append.lua `JOB_CONTEXT`); scripts that
 * read the job hash anyway list these first in their HMGET and pass the reply on. Lua name:
 * `CTX_<FIELD>`, the 1-based index in the HMGET reply.
 */
export const JOB_CONTEXT_FIELDS = ['state', 'priority', 'seq', 'traceparent', 'correlationId', 'causationId'] as const;

/**
 * The job hash fields claim.lua reads per job (`CLAIM_JOB_FIELDS`): {@link JOB_CONTEXT_FIELDS},
 * then these. Lua name: `CJ_<FIELD>`, the 1-based index in the HMGET reply.
 */
export const CLAIM_JOB_FIELDS = [
  ...JOB_CONTEXT_FIELDS,
  'attempt',
  'maxAttempts',
  'name',
  'payloadId',
  'payloadEncoding',
  'payloadSize',
  'payloadHash',
  'timeoutMs',
  'backoff',
  'createdAt',
] as const;

/** One field of {@link PUBLISH_FIELDS}. */
export type PublishField = (typeof PUBLISH_FIELDS)[number];
/** One field of {@link CLAIM_FIELDS}. */
export type ClaimField = (typeof CLAIM_FIELDS)[number];

/** `maxAttempts` → `MAX_ATTEMPTS`. */
export function luaConstantName(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * Every named position, as the Lua locals the generator may prepend (name → value). A script
 * gets only the ones its text names.
 */
export function luaWireConstants(): Map<string, number> {
  const out = new Map<string, number>();
  PUBLISH_FIELDS.forEach((f, i) => out.set(`PUB_${luaConstantName(f)}`, i));
  out.set('PUB_WIDTH', PUBLISH_FIELDS.length);
  CLAIM_FIELDS.forEach((f, i) => out.set(`CLAIM_${luaConstantName(f)}`, i + 1));
  out.set('CLAIM_WIDTH', CLAIM_FIELDS.length);
  JOB_CONTEXT_FIELDS.forEach((f, i) => out.set(`CTX_${luaConstantName(f)}`, i + 1));
  CLAIM_JOB_FIELDS.forEach((f, i) => {
    if (i >= JOB_CONTEXT_FIELDS.length) out.set(`CJ_${luaConstantName(f)}`, i + 1);
  });
  return out;
}

/** The field lists the generator prepends as Lua tables of strings (name → fields). */
export const LUA_FIELD_LISTS: Readonly<Record<string, readonly string[]>> = {
  JOB_CONTEXT: JOB_CONTEXT_FIELDS,
  CLAIM_JOB_FIELDS,
};
