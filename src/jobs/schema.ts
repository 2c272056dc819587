/**
 * The options of a published job, defined once as a TypeBox schema: names, descriptions,
 * defaults and bounds. Derived from it: the {@link JobOptions} type, the library validation
 * (`prepareJob` in ./options.ts reads its bounds, keys and values here), the HTTP request schema
 * (src/server/schemas.ts) and the `sluice publish` flags (src/cli/job-flags.ts).
 *
 * @packageDocumentation
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { JOB_ID_PATTERN, MAX_JOB_ID_LENGTH, MAX_QUEUE_NAME_LENGTH, PRIORITY_LEVELS, QUEUE_NAME_PATTERN } from '../core/keys.js';
import { TRACEPARENT_PATTERN } from '../events/traceparent.js';
import type { BackoffSpec } from '../events/types.js';

/** Default priority lane when a job gives none: the middle one. */
export const DEFAULT_PRIORITY = Math.floor(PRIORITY_LEVELS / 2);
/** Default number of attempts (1 first run + 2 retries). */
export const DEFAULT_ATTEMPTS = 3;
/** Default backoff: exponential from 1 s, capped at 1 h, with 20 % jitter. */
export const DEFAULT_BACKOFF: BackoffSpec = { type: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0.2 };

const DAY_MS = 86_400_000;
const strict = { additionalProperties: false } as const;

/** A string from a fixed list (one `enum`, so a bad value gets one clear message). */
export function StringEnum<T extends string>(values: readonly T[], options: { description?: string; default?: T } = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** 1 to 200 printable ASCII characters without spaces: group keys, dedupe keys, correlation and causation ids. */
export const PRINTABLE_ID = { minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' } as const;
/** The message of a {@link PRINTABLE_ID} that is not one. */
export const PRINTABLE_ID_RULE = `${PRINTABLE_ID.minLength} to ${PRINTABLE_ID.maxLength} printable ASCII characters without spaces`;

/** A queue name (the rules of `toQueueName`). */
export const QueueNameSchema = Type.String({ minLength: 1, maxLength: MAX_QUEUE_NAME_LENGTH, pattern: QUEUE_NAME_PATTERN, description: 'Queue name' });
/** A job id (the rules of `toJobId`). */
export const JobIdSchema = Type.String({ minLength: 1, maxLength: MAX_JOB_ID_LENGTH, pattern: JOB_ID_PATTERN, description: 'Job id (URL-encode `/` as `%2F`)' });
/** A job of any queue. */
export const JobRefSchema = Type.Object({ queue: QueueNameSchema, jobId: JobIdSchema }, strict);

/** Retry backoff; its type is {@link BackoffSpec} (a union the flat JSON schema describes). */
export const BackoffSchema = Type.Unsafe<BackoffSpec>(
  Type.Object(
    {
      type: StringEnum(['fixed', 'exponential', 'custom'] as const),
      delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * DAY_MS })),
      maxDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * DAY_MS })),
      jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    },
    {
      ...strict,
      description: 'Backoff between attempts: `fixed` needs `delayMs`; `exponential` needs `delayMs` and may have `maxDelayMs` and `jitter`; `custom` asks the worker\'s `backoff` function',
      default: DEFAULT_BACKOFF,
    },
  ),
);

/** The deduplication window of a published job. */
export const DedupeSchema = Type.Object(
  {
    key: Type.String({ ...PRINTABLE_ID, description: `Dedupe key: ${PRINTABLE_ID_RULE}` }),
    ttlMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 365 * DAY_MS, default: 0, description: 'Keep ignoring duplicates until this long after the first publish, even once it finished (0: only while it is live)' }),
    ),
  },
  { ...strict, description: 'Ignore the publish while a job published with the same key is live (and, with ttlMs, within that window after its publish)' },
);

/** What a failed prerequisite does to its dependant. */
export const OnDependencyFailureSchema = StringEnum(['fail', 'ignore'] as const, {
  description: 'A prerequisite that ends dead, cancelled or removed: dead-letter this job (fail, reason dependency-failed) or count it resolved (ignore); only with dependsOn',
  default: 'fail',
});

/** Options of one published job: the one definition. */
export const JobOptionsSchema = Type.Object(
  {
    jobId: Type.Optional(
      Type.String({ minLength: 1, maxLength: MAX_JOB_ID_LENGTH, pattern: JOB_ID_PATTERN, description: 'Job id (default: a random UUID); publishing an id that exists already creates nothing' }),
    ),
    priority: Type.Optional(
      Type.Integer({ minimum: 0, maximum: PRIORITY_LEVELS - 1, default: DEFAULT_PRIORITY, description: `Priority lane, 0 (lowest) to ${PRIORITY_LEVELS - 1}: higher lanes are served first, one lane in publish order` }),
    ),
    delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 * DAY_MS, description: 'Run no earlier than this long from now (ms)' })),
    runAt: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }), Type.Date()], { description: 'Run no earlier than this time (ms since the epoch or a Date); not with delayMs' }),
    ),
    attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULT_ATTEMPTS, description: 'Attempts in total, the first run included (1: never retry)' })),
    backoff: Type.Optional(BackoffSchema),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * DAY_MS, description: 'Per-attempt timeout (ms): the handler\'s AbortSignal fires and the attempt fails' })),
    traceparent: Type.Optional(
      Type.String({ pattern: TRACEPARENT_PATTERN.source, description: 'W3C traceparent the job\'s events carry (00-<32 hex>-<16 hex>-<2 hex>; default: a new random trace)' }),
    ),
    correlationId: Type.Optional(Type.String({ ...PRINTABLE_ID, description: `Correlation id every event of the job carries (${PRINTABLE_ID_RULE})` })),
    causationId: Type.Optional(Type.String({ ...PRINTABLE_ID, description: `Causation id every event of the job carries: what caused the job (${PRINTABLE_ID_RULE})` })),
    dedupe: Type.Optional(DedupeSchema),
    group: Type.Optional(
      Type.String({
        ...PRINTABLE_ID,
        description: `Group key, e.g. a tenant (${PRINTABLE_ID_RULE}): dispatched round-robin across groups, FIFO within one, within the group limits`,
      }),
    ),
    dependsOn: Type.Optional(
      Type.Unsafe<readonly (string | { queue: string; jobId: string })[]>(
        Type.Array(Type.Union([JobIdSchema, JobRefSchema]), {
          minItems: 1,
          maxItems: 1000,
          description: 'Prerequisites: job ids of this queue or {queue, jobId}; the job stays blocked until all completed. Not with a delay.',
        }),
      ),
    ),
    onDependencyFailure: Type.Optional(OnDependencyFailureSchema),
  },
  strict,
);

/**
 * Options of one published job. Each is described (with its default and bounds) in
 * {@link JobOptionsSchema}; docs/FEATURES.md explains them at length.
 */
export type JobOptions = Static<typeof JobOptionsSchema>;
/** The dedupe window of a job (see {@link JobOptionsSchema}'s `dedupe`). */
export type DedupeOptions = Static<typeof DedupeSchema>;
/** The name of a job option. */
export type JobOptionName = keyof typeof JobOptionsSchema.properties;

/** The names of every job option, in schema order. */
export const JOB_OPTION_NAMES = Object.keys(JobOptionsSchema.properties) as JobOptionName[];

/**
 * Options that place one job (its id, time, dedupe key, prerequisites): a repeatable job's
 * template cannot take them, the schedule sets them.
 */
export const PER_JOB_OPTIONS = ['jobId', 'delayMs', 'runAt', 'dedupe', 'dependsOn', 'onDependencyFailure'] as const satisfies readonly JobOptionName[];
/** One of {@link PER_JOB_OPTIONS}. */
export type PerJobOption = (typeof PER_JOB_OPTIONS)[number];

/** The name of a job: 1 to 200 characters. */
export const JobNameSchema = Type.String({ minLength: 1, maxLength: 200, description: 'Job name (type), e.g. send-email' });

/** The integer bounds of a schema (`minimum`, `maximum`). */
export function boundsOf(schema: unknown): { min: number; max: number } {
  const s = (schema ?? {}) as { minimum?: unknown; maximum?: unknown };
  return { min: typeof s.minimum === 'number' ? s.minimum : Number.MIN_SAFE_INTEGER, max: typeof s.maximum === 'number' ? s.maximum : Number.MAX_SAFE_INTEGER };
}

/** The same schema with every `default` keyword removed (for validators that would insert them). */
export function withoutDefaults<T extends TSchema>(schema: T): T {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string | symbol, unknown> = {};
    for (const key of Object.keys(value)) if (key !== 'default') out[key] = strip((value as Record<string, unknown>)[key]);
    // TypeBox keeps its kind and modifiers under symbols.
    for (const symbol of Object.getOwnPropertySymbols(value)) out[symbol] = (value as Record<symbol, unknown>)[symbol];
    return out;
  };
  return strip(schema) as T;
}
