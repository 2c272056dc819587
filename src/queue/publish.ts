/**
 * Publishing a batch of jobs (see {@link Queue.publishMany}): validation, payloads to the
 * payload store, one `publish` script call, then the clean-up of payloads nothing references and
 * the registration of dependants in other queues.
 *
 * @packageDocumentation
 */
import { scriptTime, type Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { QueueName } from '../core/keys.js';
import { publishJobs, type PublishJobOutcome } from '../events/commands/index.js';
import type { PayloadRef } from '../events/types.js';
import { prepareJob, publishRecord, type JobDefaults, type NewJob } from '../jobs/options.js';
import { checkJsonValue, payloadField } from '../payloads/encoding.js';
import type { PayloadStore } from '../payloads/store.js';
import type { RedisClient } from '../redis/connection.js';
import { registerDependant } from './flows.js';

/** What {@link Queue.publish} reports for one job. */
export interface PublishResult {
  /** The job id (given or generated). */
  id: string;
  /**
   * False when nothing was created: a job with this id existed already, or (`deduplicated`) a
   * job held the dedupe key — then `id` is that job's id.
   */
  created: boolean;
  /** True when the publish was ignored because job `id` holds the dedupe key. */
  deduplicated?: boolean;
}

/** The queue a batch is published to. */
export interface PublishTarget {
  readonly name: QueueName;
  readonly redis: RedisClient;
  readonly clock: Clock;
  readonly defaults: JobDefaults;
  readonly payloads: PayloadStore | undefined;
  /** Creates the consumer groups and registers the queue; called once the batch is valid. */
  init(): Promise<void>;
}

/** Validates and publishes a batch: all or nothing. */
export async function publishBatch(target: PublishTarget, jobs: readonly NewJob[]): Promise<PublishResult[]> {
  const input: unknown = jobs;
  if (!Array.isArray(input)) throw new ValidationError('jobs', 'must be an array');
  if (jobs.length === 0) return [];
  if (jobs.length > 10_000) throw new ValidationError('jobs', `at most 10000 jobs per call, got ${jobs.length}`);
  const now = target.clock.now();
  const prepared = jobs.map((job, i) => prepareJob(job, now, target.defaults, `jobs[${i}]`));
  const seen = new Set<string>();
  for (const [i, job] of prepared.entries()) {
    if (seen.has(job.id)) throw new ValidationError(`jobs[${i}].opts.jobId`, `id ${job.id} appears twice in the batch`);
    seen.add(job.id);
  }
  const withPayload = prepared.filter((job) => job.hasPayload);
  if (withPayload.length > 0 && !target.payloads) {
    throw new ValidationError('payload', 'this queue has no payload store; pass `payloads` to the Queue');
  }
  // Payloads are checked before anything is written, errors naming the job's field.
  for (const [i, job] of prepared.entries()) if (job.hasPayload) checkJsonValue(job.payload, `jobs[${i}].payload`);
  // Only valid input reaches Redis: a rejected publish changes nothing, not even the queue registry.
  await target.init();
  const refs = new Map<string, PayloadRef>();
  if (withPayload.length > 0 && target.payloads) {
    let stored: PayloadRef[];
    try {
      stored = await target.payloads.put(
        target.name,
        withPayload.map((job) => ({ value: job.payload, jobId: job.id })),
      );
    } catch (error) {
      throw payloadField(error, withPayload.map((job) => prepared.indexOf(job)));
    }
    withPayload.forEach((job, i) => refs.set(job.id, stored[i] as PayloadRef));
  }
  const records = prepared.map((job) => publishRecord(job, refs.get(job.id), target.name));
  let flags: PublishJobOutcome[];
  try {
    flags = await publishJobs(target.redis, target.name, scriptTime(target.clock), records);
  } catch (error) {
    // Nothing was published: drop the payloads again (the orphan sweep catches what this misses).
    if (refs.size > 0) await target.payloads?.delete(target.name, [...refs.values()].map((r) => r.id)).catch(() => undefined);
    throw error;
  }
  const duplicates = prepared.filter((job, i) => flags[i]?.kind !== 'created' && refs.has(job.id));
  if (duplicates.length > 0) {
    await target.payloads
      ?.delete(target.name, duplicates.map((job) => (refs.get(job.id) as PayloadRef).id))
      .catch(() => undefined);
  }
  // Prerequisites in other queues learn of their new dependants (a script touches one queue).
  for (const [i, job] of prepared.entries()) {
    if (flags[i]?.kind !== 'created' || !job.dependsOn) continue;
    for (const dep of job.dependsOn) {
      if (dep.queue === undefined || dep.queue === target.name) continue;
      await registerDependant(target.redis, dep.queue as QueueName, dep.jobId, `${target.name}|${job.id}`, scriptTime(target.clock));
    }
  }
  return prepared.map((job, i) => {
    const flag = flags[i];
    if (flag?.kind === 'deduplicated') return { id: flag.holder, created: false, deduplicated: true };
    return { id: job.id, created: flag?.kind === 'created' };
  });
}
