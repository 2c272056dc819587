/**
 * JSON schemas of every request and response of the HTTP service (TypeBox, validated by ajv,
 * published in the OpenAPI document). Request objects refuse unknown fields.
 *
 * @packageDocumentation
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ErrorCodes, type ErrorCode } from '../core/errors.js';
import { TRACEPARENT_PATTERN } from '../events/traceparent.js';
import { EVENT_TYPES } from '../events/types.js';
import { JOB_ID_PATTERN, JOB_STATES, QUEUE_NAME_PATTERN } from '../core/keys.js';
import {
  BackoffSchema,
  JobIdSchema,
  JobNameSchema,
  JobOptionsSchema,
  OnDependencyFailureSchema,
  PRINTABLE_ID,
  PRINTABLE_ID_RULE,
  QueueNameSchema,
  StringEnum,
  withoutDefaults,
} from '../jobs/schema.js';

// The character rules of toQueueName / toJobId (src/core/keys.ts), shown in the OpenAPI document.
export { JOB_ID_PATTERN, QUEUE_NAME_PATTERN };

/** Marks a body schema as optional: a request without a body passes, one with a body is validated. */
export const OPTIONAL_BODY = 'x-sluice-optional-body';

/** A queue name path parameter. */
export const QueueName = QueueNameSchema;
/** A job id. */
export const JobId = JobIdSchema;

const strict = { additionalProperties: false } as const;

export { StringEnum };

/** `{queue}` path parameters. */
export const QueueParams = Type.Object({ queue: QueueName }, strict);
/** `{queue}/{id}` path parameters. */
export const JobParams = Type.Object({ queue: QueueName, id: JobId }, strict);

/** Retry backoff. */
export const Backoff = withoutDefaults(BackoffSchema);

/** A group key (tenant, customer…): 1 to 200 printable ASCII characters without spaces. */
export const GroupName = Type.String({ ...PRINTABLE_ID, description: `Group key: ${PRINTABLE_ID_RULE}` });

const jobOptions = withoutDefaults(JobOptionsSchema).properties;

/**
 * Options of one published job: the library's {@link JobOptionsSchema} as JSON, without the
 * `default` keywords (ajv would insert them, overriding the queue's defaults; the library applies
 * them). Over HTTP `runAt` may also be an ISO 8601 date-time, `traceparent` defaults to the
 * request header, and `correlationId` / `causationId` are not taken.
 */
export const JobOptions = Type.Object(
  {
    jobId: jobOptions.jobId,
    priority: jobOptions.priority,
    delayMs: jobOptions.delayMs,
    runAt: Type.Optional(
      Type.Union([jobOptions.runAt.anyOf[0], Type.String({ minLength: 1, maxLength: 64 })], { description: 'Run no earlier than this time (ms since the epoch or an ISO 8601 date-time); not with delayMs' }),
    ),
    attempts: jobOptions.attempts,
    backoff: jobOptions.backoff,
    timeoutMs: jobOptions.timeoutMs,
    traceparent: Type.Optional(Type.String({ pattern: TRACEPARENT_PATTERN.source, description: 'W3C traceparent; defaults to the request header' })),
    dedupe: jobOptions.dedupe,
    group: jobOptions.group,
    dependsOn: jobOptions.dependsOn,
    onDependencyFailure: jobOptions.onDependencyFailure,
  },
  strict,
);

/** A job to publish. */
export const NewJobBody = Type.Object(
  {
    name: JobNameSchema,
    payload: Type.Optional(Type.Unknown({ description: 'Any JSON value, stored in MongoDB' })),
    opts: Type.Optional(JobOptions),
  },
  strict,
);
/** A job to publish. */
export type NewJobBody = Static<typeof NewJobBody>;

/** Most jobs per bulk publish. */
export const MAX_BULK_JOBS = 10_000;

/** Many jobs to publish. */
export const BulkBody = Type.Object({ jobs: Type.Array(NewJobBody, { minItems: 1, maxItems: MAX_BULK_JOBS }) }, strict);

/** What publish reports for one job. */
export const PublishResult = Type.Object({
  id: Type.String(),
  created: Type.Boolean({ description: 'False when nothing was created: a job with this id existed already, or the publish was deduplicated' }),
  deduplicated: Type.Optional(Type.Boolean({ description: 'True when ignored because job `id` holds the dedupe key' })),
});

/** Bulk publish results, in request order. */
export const BulkResult = Type.Object({ results: Type.Array(PublishResult) });

const PayloadRef = Type.Object({
  id: Type.String(),
  encoding: StringEnum(['json', 'binary'] as const),
  size: Type.Integer(),
  hash: Type.String(),
});

/** A job state. */
export const JobStateSchema = StringEnum(JOB_STATES);

/** The job read model. */
export const JobSchema = Type.Object({
  id: Type.String(),
  queue: Type.String(),
  name: Type.String(),
  state: JobStateSchema,
  priority: Type.Integer(),
  attempt: Type.Integer({ description: 'Attempts started so far' }),
  maxAttempts: Type.Integer(),
  backoff: Type.Object({}, { additionalProperties: true }),
  timeoutMs: Type.Optional(Type.Integer()),
  payload: Type.Optional(PayloadRef),
  result: Type.Optional(PayloadRef),
  traceparent: Type.Optional(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  runAt: Type.Optional(Type.Integer()),
  claimedAt: Type.Optional(Type.Integer()),
  finishedAt: Type.Optional(Type.Integer()),
  failedAt: Type.Optional(Type.Integer()),
  worker: Type.Optional(Type.String()),
  lastError: Type.Optional(Type.Object({ name: Type.String(), message: Type.String(), stack: Type.Optional(Type.String()) })),
  progress: Type.Optional(Type.Unknown()),
  deadReason: Type.Optional(Type.String()),
  cancelReason: Type.Optional(Type.String()),
  correlationId: Type.Optional(Type.String()),
  causationId: Type.Optional(Type.String()),
  dedupeKey: Type.Optional(Type.String()),
  dedupeTtlMs: Type.Optional(Type.Integer()),
  group: Type.Optional(Type.String()),
  repeatKey: Type.Optional(Type.String({ description: 'The repeatable job that published this occurrence' })),
  dependsOn: Type.Optional(Type.Array(Type.Object({ queue: Type.String(), jobId: Type.String() }))),
  pendingDependencies: Type.Optional(Type.Integer({ description: 'Prerequisites not resolved yet' })),
  onDependencyFailure: Type.Optional(withoutDefaults(OnDependencyFailureSchema)),
  seq: Type.Integer({ description: 'Events appended for this job' }),
  payloadValue: Type.Optional(Type.Unknown({ description: 'With include=payload: the payload (binary as {"$binary": base64})' })),
  resultValue: Type.Optional(Type.Unknown({ description: 'With include=result: the result' })),
});

/** The query of a route without parameters: any parameter is refused (400 naming it). */
export const NoQuery = Type.Object({}, strict);

/** `GET …/jobs/{id}` query. */
export const JobQuery = Type.Object(
  { include: Type.Optional(Type.String({ pattern: '^(payload|result)(,(payload|result))?$', description: 'payload, result or payload,result' })) },
  strict,
);

/** List query (cursor pagination). */
export const ListQuery = Type.Object(
  {
    state: Type.Optional(JobStateSchema),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'nextCursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  },
  strict,
);

/** Page query of the dead-letter list (state is implied). */
export const PageQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  },
  strict,
);

/** One page of jobs. */
export const JobPageSchema = Type.Object({ jobs: Type.Array(JobSchema), nextCursor: Type.Optional(Type.String()) });

/** A stored event. */
export const EventSchema = Type.Object({
  id: Type.String({ description: 'Stream entry id' }),
  type: StringEnum(EVENT_TYPES),
  v: Type.Integer(),
  data: Type.Object({}, { additionalProperties: true }),
  metadata: Type.Object(
    { queue: Type.String(), jobId: Type.String(), time: Type.Integer(), seq: Type.Integer() },
    { additionalProperties: true },
  ),
});

/** A job's history. */
export const HistorySchema = Type.Object({ events: Type.Array(EventSchema) });

/** Result of retry, cancel, remove. */
export const TransitionResult = Type.Object({ id: Type.String(), fromState: Type.String({ description: 'State the job was in' }) });

/** Cancel body. */
export const CancelBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })) }, strict);

/** Dead-letter requeue body. */
export const RequeueBody = Type.Object(
  {
    ids: Type.Optional(Type.Array(JobId, { minItems: 1, maxItems: 1000, description: 'Jobs to requeue' })),
    all: Type.Optional(Type.Boolean({ description: 'Requeue every dead job (up to limit)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
  },
  strict,
);

/** Dead-letter requeue result. */
export const RequeueResult = Type.Object({
  requeued: Type.Array(Type.String()),
  errors: Type.Array(Type.Object({ id: Type.String(), code: Type.String(), message: Type.String() })),
});

/** Queue stats. */
export const StatsSchema = Type.Object({
  queue: Type.String(),
  paused: Type.Boolean(),
  counts: Type.Record(Type.String(), Type.Integer()),
  events: Type.Record(Type.String(), Type.Integer()),
  stream: Type.Object(
    {
      length: Type.Integer({ description: 'events in the stream now' }),
      appended: Type.Integer({ description: 'events ever appended (XINFO entries-added)' }),
      trimmed: Type.Integer({ description: 'events archived and trimmed from the stream: before firstId, the history is only in the archive' }),
      firstId: Type.Union([Type.String(), Type.Null()], { description: 'first event still in the stream' }),
      lastId: Type.Union([Type.String(), Type.Null()], { description: 'last event appended' }),
    },
    { description: 'How much of the history the event stream still holds' },
  ),
  oldestWaitingAt: Type.Optional(
    Type.Integer({ description: 'when the job that has waited longest entered the waiting state (ms since the epoch); absent when no job waits' }),
  ),
  workers: Type.Array(Type.Object({ id: Type.String(), lastSeen: Type.Integer() })),
});

/** Queue list. */
export const QueueList = Type.Object({ queues: Type.Array(Type.String()) });

/** Pause state. */
export const PauseResult = Type.Object({ queue: Type.String(), paused: Type.Boolean() });

const Limit = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null: no limit' });
const Limits = Type.Object({ maxAgeMs: Type.Optional(Limit), maxCount: Type.Optional(Limit) }, strict);

/** Retention policy (set). */
export const RetentionBody = Type.Object({ completed: Type.Optional(Limits), dead: Type.Optional(Limits), cancelled: Type.Optional(Limits) }, strict);
/** Retention policy (effective). */
export const RetentionSchema = Type.Object({
  completed: Type.Object({ maxAgeMs: Limit, maxCount: Limit }),
  dead: Type.Object({ maxAgeMs: Limit, maxCount: Limit }),
  cancelled: Type.Object({ maxAgeMs: Limit, maxCount: Limit }),
});

/** Replay (NDJSON) query. */
export const ReplayQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'Events at or after this time (ISO 8601 or ms since the epoch)' })),
    to: Type.Optional(Type.String({ description: 'Events at or before this time (ISO 8601, ms, or a stream id)' })),
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}-[0-9]{1,20}$', description: 'Events strictly after this stream id' })),
    jobId: Type.Optional(JobId),
    types: Type.Optional(Type.String({ description: `Comma-separated event types (${EVENT_TYPES.join(', ')})` })),
  },
  strict,
);

/** Live feed (SSE) query. */
export const LiveQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({ pattern: '^([0-9]{1,20}-[0-9]{1,20}|\\$|0)$', description: 'Start after this stream id (0: the whole stream; default: new events only). The Last-Event-ID header wins.' }),
    ),
    jobId: Type.Optional(JobId),
    types: Type.Optional(Type.String({ description: 'Comma-separated event types' })),
  },
  strict,
);

/** A job's prerequisites with their states (and results once completed). */
export const DependenciesSchema = Type.Object({
  dependencies: Type.Array(
    Type.Object({
      queue: Type.String(),
      jobId: Type.String(),
      state: Type.Optional(JobStateSchema),
      result: Type.Optional(Type.Unknown({ description: 'Its result once completed (binary as {"$binary": base64})' })),
    }),
  ),
});

/** The state of a flow (a job and, transitively, its prerequisites). */
export const FlowSchema = Type.Object({
  state: StringEnum(['completed', 'failed', 'running'] as const),
  total: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer()),
  jobs: Type.Array(
    Type.Object({
      queue: Type.String(),
      jobId: Type.String(),
      state: Type.String({ description: 'A job state, or missing' }),
      pendingDependencies: Type.Optional(Type.Integer()),
    }),
  ),
});

/** A rate limit: at most `max` starts in any `durationMs` window. */
export const RateLimitSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Starts (attempts) per window' }),
    durationMs: Type.Integer({ minimum: 1, maximum: 86_400_000 * 30, description: 'Window length in ms (sliding)' }),
  },
  strict,
);
const NullableRate = Type.Union([RateLimitSchema, Type.Null()], { description: 'null: no limit' });

/** `PUT …/rate-limit` body. */
export const RateLimitBody = Type.Object({ rate: NullableRate }, strict);
/** Queue rate limit. */
export const RateLimitResult = Type.Object({ queue: Type.String(), rate: NullableRate });

/** `{queue}/{group}` path parameters. */
export const GroupParams = Type.Object({ queue: QueueName, group: GroupName }, strict);

/** `PUT …/limits` body: values left out are unchanged, null removes one. */
export const GroupLimitsBody = Type.Object(
  {
    concurrency: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), Type.Null()], { description: 'Most jobs of the group active at once; null: no limit' })),
    rate: Type.Optional(NullableRate),
    weight: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], { description: 'Share of the workers when groups compete; null: back to 1' })),
  },
  strict,
);
/** Effective group limits. */
export const GroupLimitsResult = Type.Object({
  queue: Type.String(),
  group: Type.Optional(Type.String({ description: 'Absent for the defaults of every group' })),
  concurrency: Type.Union([Type.Integer(), Type.Null()]),
  rate: Type.Union([Type.Object({ max: Type.Integer(), durationMs: Type.Integer() }), Type.Null()]),
  weight: Type.Integer(),
});

/** `GET …/groups` query. */
export const GroupsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'Most groups listed' })) }, strict);
/** Groups known to the scheduler. */
export const GroupList = Type.Object({
  queue: Type.String(),
  groups: Type.Array(
    Type.Object({
      group: Type.String(),
      status: StringEnum(['runnable', 'parked', 'busy'] as const, { description: 'runnable: may start a job now; parked: held by its rate limit; busy: at its concurrency limit, or running with nothing waiting' }),
      waiting: Type.Integer(),
      active: Type.Integer(),
      parkedUntil: Type.Optional(Type.Integer({ description: 'When a parked group may run again (ms)' })),
    }),
  ),
  truncated: Type.Boolean({ description: 'More groups than limit' }),
});

/** A repeatable job key. */
export const RepeatKey = Type.String({ pattern: '^[A-Za-z0-9._:@/+=-]{1,150}$', description: 'Repeatable job key (URL-encode `/` as `%2F`)' });
/** `{queue}/{key}` path parameters. */
export const RepeatParams = Type.Object({ queue: QueueName, key: RepeatKey }, strict);

const Time = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64 })], { description: 'ms since the epoch or an ISO 8601 date-time' });

/** When a repeatable job runs: exactly one of cron and everyMs. */
export const RepeatScheduleSchema = Type.Object(
  {
    cron: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: '5 fields, or 6 with seconds first' })),
    tz: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'IANA time zone of the cron expression (default UTC)' })),
    everyMs: Type.Optional(Type.Integer({ minimum: 1000, description: 'Fixed interval in ms' })),
    startAt: Type.Optional(Time),
    endAt: Type.Optional(Time),
    missed: Type.Optional(StringEnum(['run-once', 'skip'] as const)),
    graceMs: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  strict,
);

/** Options of each occurrence (a subset of {@link JobOptions}). */
export const RepeatJobOptions = Type.Pick(JobOptions, ['priority', 'attempts', 'backoff', 'timeoutMs', 'group'], strict);

/** `PUT …/repeatables/{key}` body. */
export const RepeatableBody = Type.Object(
  {
    schedule: RepeatScheduleSchema,
    template: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 200 }),
        payload: Type.Optional(Type.Unknown({ description: 'JSON, at most 64 KiB' })),
        opts: Type.Optional(RepeatJobOptions),
      },
      strict,
    ),
  },
  strict,
);

/** A repeatable job. */
export const RepeatableSchema = Type.Object({
  key: Type.String(),
  schedule: Type.Object({}, { additionalProperties: true }),
  template: Type.Object({ name: Type.String(), payload: Type.Optional(Type.Unknown()), opts: Type.Optional(Type.Object({}, { additionalProperties: true })) }),
  nextRunAt: Type.Optional(Type.Integer({ description: 'Absent once the schedule ended' })),
  runs: Type.Integer(),
  lastRunAt: Type.Optional(Type.Integer()),
  lastJobId: Type.Optional(Type.String()),
});
/** Repeatable jobs, soonest first. */
export const RepeatableList = Type.Object({ repeatables: Type.Array(RepeatableSchema) });
/** Removal result. */
export const RepeatableRemoved = Type.Object({ key: Type.String(), removed: Type.Boolean({ description: 'False when no such repeatable job existed' }) });

/** Error body: `{error: {code, message, field?}}`. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: StringEnum(Object.keys(ErrorCodes) as ErrorCode[]),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'The request field at fault (validation errors)' })),
  }),
});
/** Error body. */
export type ErrorBody = Static<typeof ErrorBody>;

/** `/healthz`. */
export const HealthSchema = Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() });

const Check = Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), error: Type.Optional(Type.String()) });
/** `/readyz`. */
export const ReadySchema = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]), redis: Check, mongo: Check });

/** Responses every authenticated route may give besides its success. */
export function errorResponses(): Record<string, TSchema> {
  return { '4xx': ErrorBody, '5xx': ErrorBody };
}
