/**
 * Every metric name Sluice exports, under one namespace constant, in both spellings:
 * the Prometheus name (prom-client, `/metrics`) and the OpenTelemetry instrument name plus
 * unit. The OpenTelemetry name is chosen so that OpenTelemetry's Prometheus conversion (dots to
 * underscores, unit suffix, `_total` on monotonic sums) yields exactly the Prometheus name, so
 * one dashboard works on either pipeline. A unit test pins that.
 *
 * Conventions: base units (`_seconds`), `_total` only on counters, no unit suffix on plain
 * counts of things (`sluice_queue_jobs`), label names in snake case. Nothing outside this
 * module spells a metric name; `grafana/` uses only these names (a test checks).
 *
 * @packageDocumentation
 */

/** The namespace every Sluice metric name starts with. */
export const NAMESPACE = 'sluice';

/** Instrumentation scope of Sluice's OpenTelemetry meter and tracer. */
export const INSTRUMENTATION_SCOPE = 'sluice';

const p = <S extends string>(suffix: S): `${typeof NAMESPACE}_${S}` => `${NAMESPACE}_${suffix}`;
const o = <S extends string>(suffix: S): `${typeof NAMESPACE}.${S}` => `${NAMESPACE}.${suffix}`;

/** Prometheus names. */
export const METRIC = {
  jobsPublished: p('jobs_published_total'),
  jobsCompleted: p('jobs_completed_total'),
  jobsFailed: p('jobs_failed_total'),
  jobsRetried: p('jobs_retried_total'),
  jobsTimedOut: p('jobs_timed_out_total'),
  jobsDeadLettered: p('jobs_dead_lettered_total'),
  jobsCancelled: p('jobs_cancelled_total'),
  eventsAppended: p('events_appended_total'),
  queueJobs: p('queue_jobs'),
  queuePaused: p('queue_paused'),
  laneLag: p('lane_lag'),
  lanePending: p('lane_pending'),
  eventLogEntries: p('event_log_entries'),
  archiveLag: p('archive_lag'),
  workersLive: p('workers_live'),
  queueOldestWaitingAge: p('queue_oldest_waiting_age_seconds'),
  jobWaitDuration: p('job_wait_duration_seconds'),
  jobRunDuration: p('job_run_duration_seconds'),
  collectDuration: p('metrics_collect_duration_seconds'),
  collectErrors: p('metrics_collect_errors_total'),
  queuesOmitted: p('metrics_queues_omitted'),
} as const;

/** Key of one metric in {@link METRIC}. */
export type MetricKey = keyof typeof METRIC;

/** OpenTelemetry instrument name and unit of every metric (UCUM units; `{…}` are annotations). */
export const OTEL_METRIC: { readonly [K in MetricKey]: { readonly name: string; readonly unit: string } } = {
  jobsPublished: { name: o('jobs.published'), unit: '{job}' },
  jobsCompleted: { name: o('jobs.completed'), unit: '{job}' },
  jobsFailed: { name: o('jobs.failed'), unit: '{job}' },
  jobsRetried: { name: o('jobs.retried'), unit: '{job}' },
  jobsTimedOut: { name: o('jobs.timed_out'), unit: '{job}' },
  jobsDeadLettered: { name: o('jobs.dead_lettered'), unit: '{job}' },
  jobsCancelled: { name: o('jobs.cancelled'), unit: '{job}' },
  eventsAppended: { name: o('events.appended'), unit: '{event}' },
  queueJobs: { name: o('queue.jobs'), unit: '{job}' },
  queuePaused: { name: o('queue.paused'), unit: '{queue}' },
  laneLag: { name: o('lane.lag'), unit: '{entry}' },
  lanePending: { name: o('lane.pending'), unit: '{entry}' },
  eventLogEntries: { name: o('event_log.entries'), unit: '{event}' },
  archiveLag: { name: o('archive.lag'), unit: '{event}' },
  workersLive: { name: o('workers.live'), unit: '{worker}' },
  queueOldestWaitingAge: { name: o('queue.oldest_waiting.age'), unit: 's' },
  jobWaitDuration: { name: o('job.wait.duration'), unit: 's' },
  jobRunDuration: { name: o('job.run.duration'), unit: 's' },
  collectDuration: { name: o('metrics.collect.duration'), unit: 's' },
  collectErrors: { name: o('metrics.collect.errors'), unit: '{error}' },
  queuesOmitted: { name: o('metrics.queues.omitted'), unit: '{queue}' },
};

/** Label (Prometheus) and attribute (OpenTelemetry) names; the same in both. */
export const LABEL = {
  /** Queue name. */
  queue: 'queue',
  /** Job state (`JOB_STATES`). */
  state: 'state',
  /** Event type (`EVENT_TYPES`). */
  type: 'type',
  /** Priority lane, `0` (lowest) .. `4` (highest). */
  lane: 'lane',
  /** How an attempt ended ({@link ATTEMPT_OUTCOMES}). */
  outcome: 'outcome',
  /**
   * Job name, on the wait and run time histograms only, and only when `SluiceMetrics` is given a
   * `jobNames` allow-list (names outside it are reported as {@link OTHER_JOB_NAME}).
   */
  jobName: 'job_name',
} as const;

/** The `job_name` label value of job names outside the allow-list. */
export const OTHER_JOB_NAME = '_other';

/** A label name. */
export type LabelName = (typeof LABEL)[keyof typeof LABEL];

/**
 * How one attempt ended, as the `outcome` label of the run time histogram:
 * - `completed`: the result was recorded;
 * - `retried`: the attempt failed and the job was scheduled for another attempt;
 * - `dead_lettered`: the attempt failed and no attempt is left (or the error was unrecoverable);
 * - `stale`: the outcome was refused because the attempt no longer owned its job
 *   (lease expired and reclaimed, or cancelled);
 * - `error`: the worker could not record the outcome (Redis or payload store trouble).
 */
export const ATTEMPT_OUTCOMES = ['completed', 'retried', 'dead_lettered', 'stale', 'error'] as const;

/** An attempt outcome. */
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * Histogram buckets (seconds) of the wait and run time histograms, from 5 ms to 1 h. The same
 * boundaries go to prom-client and to OpenTelemetry (as advice), so both report the same buckets.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];
