/**
 * Read-only commands: `queues`, `stats`, `jobs`, `show`, `history`.
 *
 * @packageDocumentation
 */
import type { Command } from 'commander';
import { jobHistory } from '../../history/replay.js';
import { JOB_STATES, type JobState } from '../../core/keys.js';
import type { Job } from '../../projections/job.js';
import type { StoredJobEvent } from '../../events/types.js';
import { payloadToJson } from '../../app/context.js';
import type { PayloadValue } from '../../payloads/store.js';
import { JobNotFoundError, ValidationError } from '../../core/errors.js';
import { keyValues, printJson, table, time, type Io } from '../output.js';
import { addConfigOptions, jsonOutput, positiveInt, withContext } from '../shared.js';

/** One line of detail for an event (human output). */
export function eventDetail(event: StoredJobEvent): string {
  const d = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'created':
      return `name=${String(d.name)} priority=${String(d.priority)} attempts=${String(d.maxAttempts)}`;
    case 'claimed':
      return `attempt=${String(d.attempt)} worker=${String((d.worker as { id?: string } | undefined)?.id)}`;
    case 'failed':
      return `attempt=${String(d.attempt)} final=${String(d.final)} error=${JSON.stringify((d.error as { message?: string } | undefined)?.message ?? '')}`;
    case 'scheduled':
      return `reason=${String(d.reason)} runAt=${time(d.runAt as number)}`;
    default:
      return Object.entries(d)
        .filter(([, v]) => typeof v !== 'object')
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
  }
}

function jobRows(jobs: readonly Job[]): (string | number | undefined)[][] {
  return jobs.map((j) => [j.id, j.name, j.state, `${j.attempt}/${j.maxAttempts}`, j.priority, time(j.createdAt), time(j.updatedAt)]);
}

/** Prints a page of jobs as a table (or JSON). */
export function printJobPage(io: Io, json: boolean, page: { jobs: Job[]; nextCursor?: string }): void {
  if (json) return printJson(io, page);
  io.out.write(table(['id', 'name', 'state', 'attempt', 'prio', 'created', 'updated'], jobRows(page.jobs)));
  if (page.nextCursor !== undefined) io.out.write(`next page: --cursor ${page.nextCursor}\n`);
}

function toState(value: string): JobState {
  if (!(JOB_STATES as readonly string[]).includes(value)) throw new ValidationError('--state', `must be one of ${JOB_STATES.join(', ')}, got ${JSON.stringify(value)}`);
  return value as JobState;
}

/** The rows of the feature fields a job has (dedupe, group, repeat, dependencies). */
function featureRows(job: Job): [string, string | number][] {
  const rows: [string, string | number | undefined][] = [
    ['dedupe key', job.dedupeKey === undefined ? undefined : `${job.dedupeKey}${job.dedupeTtlMs ? ` (window ${job.dedupeTtlMs} ms)` : ''}`],
    ['group', job.group],
    ['repeat key', job.repeatKey],
    ['depends on', job.dependsOn?.length ? job.dependsOn.map((d) => (d.queue === job.queue ? d.jobId : `${d.queue}/${d.jobId}`)).join(', ') : undefined],
    ['pending deps', job.dependsOn?.length ? (job.pendingDependencies ?? 0) : undefined],
    ['on dep failure', job.dependsOn?.length ? (job.onDependencyFailure ?? 'fail') : undefined],
  ];
  return rows.filter((row): row is [string, string | number] => row[1] !== undefined);
}

/** Registers the read-only commands. */
export function registerInspectCommands(program: Command, io: Io): void {
  addConfigOptions(program.command('queues').description('List the queues that exist (published to or configured)')).action(async (_opts, command: Command) => {
    await withContext(command, async (context) => {
      const queues = await context.queueNames();
      if (jsonOutput(command)) printJson(io, { queues });
      else io.out.write(queues.length === 0 ? 'no queues\n' : `${queues.join('\n')}\n`);
    });
  });

  addConfigOptions(
    program
      .command('stats')
      .description('Jobs per state, pause flag, live workers and event stream extent (events appended, trimmed after archiving, first id still in the stream) of one queue, or of every queue')
      .argument('[queue]', 'queue name (default: every queue)'),
  ).action(async (queueName: string | undefined, _opts, command: Command) => {
    await withContext(command, async (context) => {
      const names = queueName === undefined ? await context.queueNames() : [queueName];
      const stats = await Promise.all(
        names.map(async (name) => {
          const queue = queueName === undefined ? context.queue(name) : await context.existingQueue(name);
          const [s, workers] = await Promise.all([queue.stats(), queue.workers()]);
          return { ...s, workers };
        }),
      );
      if (jsonOutput(command)) return printJson(io, queueName === undefined ? { queues: stats } : stats[0]);
      io.out.write(
        table(
          ['queue', 'paused', ...JOB_STATES, 'workers', 'events', 'trimmed', 'stream from'],
          stats.map((s) => [
            s.queue,
            s.paused ? 'yes' : 'no',
            ...JOB_STATES.map((state) => s.counts[state]),
            s.workers.length,
            s.stream.appended,
            s.stream.trimmed,
            s.stream.firstId ?? '-',
          ]),
        ),
      );
    });
  });

  addConfigOptions(
    program
      .command('jobs')
      .description('List the jobs of a queue in one state, oldest first (waiting: highest priority first, then arrival)')
      .argument('<queue>', 'queue name')
      .option('--state <state>', `one of ${JOB_STATES.join(', ')}`, 'waiting')
      .option('--limit <n>', 'jobs per page (1-1000)', '50')
      .option('--cursor <cursor>', 'next page cursor printed by the previous call'),
  ).action(async (queueName: string, opts: { state: string; limit: string; cursor?: string }, command: Command) => {
    const state = toState(opts.state);
    const limit = positiveInt(opts.limit, '--limit', 1000);
    await withContext(command, async (context) => {
      const page = await (await context.existingQueue(queueName)).list(state, { limit, ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) });
      printJobPage(io, jsonOutput(command), page);
    });
  });

  addConfigOptions(
    program
      .command('show')
      .description('Show one job (its read model), optionally with its payload and result')
      .argument('<queue>', 'queue name')
      .argument('<id>', 'job id')
      .option('--payload', 'also print the payload')
      .option('--result', 'also print the result'),
  ).action(async (queueName: string, id: string, opts: { payload?: boolean; result?: boolean }, command: Command) => {
    await withContext(command, async (context) => {
      const queue = await context.existingQueue(queueName);
      const job: Job & { payloadValue?: unknown; resultValue?: unknown } = await queue.getOrThrow(id);
      if (opts.payload && job.payload) job.payloadValue = payloadToJson((await queue.getPayload(job)) as PayloadValue);
      if (opts.result && job.result) job.resultValue = payloadToJson((await queue.getResult(job)) as PayloadValue);
      if (jsonOutput(command)) return printJson(io, job);
      io.out.write(
        keyValues([
          ['id', job.id],
          ['queue', job.queue],
          ['name', job.name],
          ['state', job.state],
          ['priority', job.priority],
          ['attempt', `${job.attempt}/${job.maxAttempts}`],
          ['backoff', JSON.stringify(job.backoff)],
          ['timeout', job.timeoutMs === undefined ? undefined : `${job.timeoutMs} ms`],
          ['created', time(job.createdAt)],
          ['updated', time(job.updatedAt)],
          ['run at', time(job.runAt)],
          ['claimed', time(job.claimedAt)],
          ['finished', time(job.finishedAt)],
          ['worker', job.worker],
          ['last error', job.lastError ? `${job.lastError.name}: ${job.lastError.message}` : undefined],
          ['progress', job.progress === undefined ? undefined : JSON.stringify(job.progress)],
          ['dead reason', job.deadReason],
          ['cancel reason', job.cancelReason],
          ['traceparent', job.traceparent],
          ...featureRows(job),
          ['events', job.seq],
          ...(opts.payload ? ([['payload', JSON.stringify(job.payloadValue)]] as const) : []),
          ...(opts.result ? ([['result', JSON.stringify(job.resultValue)]] as const) : []),
        ]),
      );
    });
  });

  addConfigOptions(
    program
      .command('flow')
      .description('The flow ending in a job: it and, transitively across queues, its prerequisites, with their states')
      .argument('<queue>', 'queue name')
      .argument('<id>', 'job id'),
  ).action(async (queueName: string, id: string, _opts, command: Command) => {
    await withContext(command, async (context) => {
      const queue = await context.existingQueue(queueName);
      await queue.getOrThrow(id);
      const flow = await queue.flow(id);
      if (jsonOutput(command)) return printJson(io, flow);
      const counts = Object.entries(flow.counts).map(([state, n]) => `${state} ${n}`).join(', ');
      io.out.write(`flow ${flow.state}: ${flow.total} job(s) (${counts})\n`);
      io.out.write(table(['queue', 'id', 'state', 'pending deps'], flow.jobs.map((j) => [j.queue, j.jobId, j.state, j.pendingDependencies])));
    });
  });

  addConfigOptions(
    program
      .command('history')
      .description("A job's audit history: every event in order, from the archive and the live stream")
      .argument('<queue>', 'queue name')
      .argument('<id>', 'job id'),
  ).action(async (queueName: string, id: string, _opts, command: Command) => {
    await withContext(command, async (context) => {
      await context.existingQueue(queueName);
      const events = await jobHistory(context.replaySource(queueName), id);
      if (events.length === 0) throw new JobNotFoundError(queueName, id);
      if (jsonOutput(command)) return printJson(io, { events });
      io.out.write(table(['time', 'seq', 'type', 'details'], events.map((e) => [time(e.metadata.time), e.metadata.seq, e.type, eventDetail(e)])));
    });
  });
}
