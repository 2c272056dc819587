/**
 * Commands that change jobs or queues: `retry`, `pause`, `resume`, `dlq list|requeue`,
 * `cleanup` and the guarded `flush`.
 *
 * @packageDocumentation
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { describe, ValidationError } from '../../core/errors.js';
import { QUEUES_KEY, queuePrefix, toQueueName, type JobState } from '../../core/keys.js';
import type { Queue } from '../../queue/queue.js';
import { parseDuration } from '../../app/config.js';
import type { SluiceContext } from '../../app/context.js';
import { scanPrefix, unlinkKeys } from '../../redis/connection.js';
import { requeueDead } from '../../queue/dead-letters.js';
import { printJson, table, type Io } from '../output.js';
import { addConfigOptions, jsonOutput, positiveInt, withContext } from '../shared.js';
import { printJobPage } from './inspect.js';

/** What {@link cleanupJobs} removed (or would remove, in a dry run). */
export interface CleanupReport {
  queue: string;
  state: JobState | 'policy';
  removed: number;
  dryRun: boolean;
  /** With the queue's policy: per state. */
  byState?: { completed: number; dead: number; cancelled: number };
}

/**
 * Removes finished jobs of one state from the read models, oldest first: those that finished
 * more than `olderThanMs` ago, and those beyond the newest `keep`. Their events stay.
 */
export async function cleanupJobs(
  queue: Queue,
  options: { state: JobState; olderThanMs?: number; keep?: number; dryRun?: boolean; now?: number },
): Promise<CleanupReport> {
  const now = options.now ?? Date.now();
  const total = (await queue.stats()).counts[options.state];
  const overCount = options.keep === undefined ? 0 : Math.max(0, total - options.keep);
  let removed = 0;
  let skipped = 0;
  for (;;) {
    // Removed jobs leave the state index, so the next page starts after the ones kept.
    const page = await queue.list(options.state, { cursor: String(options.dryRun ? removed + skipped : skipped), limit: 500 });
    if (page.jobs.length === 0) break;
    let stop = false;
    for (const job of page.jobs) {
      const old = options.olderThanMs !== undefined && now - (job.finishedAt ?? job.updatedAt) > options.olderThanMs;
      if (!old && removed >= overCount) {
        // The index is ordered by the time jobs entered the state: every later job is newer.
        stop = true;
        break;
      }
      if (options.dryRun) {
        removed++;
        continue;
      }
      try {
        await queue.remove(job.id, 'retention');
        removed++;
      } catch {
        skipped++; // moved on (retried, removed) meanwhile
      }
    }
    if (stop) break;
  }
  return { queue: queue.name, state: options.state, removed, dryRun: options.dryRun === true };
}

/** What {@link flushQueue} deleted. */
export interface FlushReport {
  queue: string;
  redisKeys: number;
  archivedEvents: number;
  payloadCollection: string;
}

/**
 * Deletes everything of a queue: every Redis key under `sluice:{<queue>}:` (SCAN, never
 * FLUSHDB), its name in the queue set, its archived events and its payload collection.
 */
export async function flushQueue(context: SluiceContext, queueName: string): Promise<FlushReport> {
  const queue = toQueueName(queueName);
  let redisKeys = 0;
  // On a Redis Cluster only the master of the queue's slot is scanned (all its keys share the hash tag).
  for await (const keys of scanPrefix(context.redis, queuePrefix(queue))) redisKeys += await unlinkKeys(context.redis, keys);
  await context.redis.srem(QUEUES_KEY, queue);
  const { deletedCount } = await context.archive.collection.deleteMany({ queue });
  const payloadCollection = context.payloads.collectionName(queue);
  await context.mongo
    .db(context.config.mongoDatabase)
    .collection(payloadCollection)
    .drop()
    .catch((error: unknown) => {
      if (!/ns not found|not exist/i.test(describe(error))) throw error;
    });
  return { queue, redisKeys, archivedEvents: deletedCount, payloadCollection };
}

async function confirmTyped(io: Io, queue: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: io.err });
  try {
    return (await rl.question(`This deletes every job, event and payload of queue ${queue}. Type the queue name to confirm: `)).trim();
  } finally {
    rl.close();
  }
}

/** Registers the commands that change state. */
export function registerAdminCommands(program: Command, io: Io): void {
  addConfigOptions(
    program
      .command('retry')
      .description('Retry failed, dead or cancelled jobs with a fresh attempt count')
      .argument('<queue>', 'queue name')
      .argument('<ids...>', 'job ids'),
  ).action(async (queueName: string, ids: string[], _opts, command: Command) => {
    await withContext(command, async (context) => {
      const queue = await context.existingQueue(queueName);
      const results: { id: string; fromState: string }[] = [];
      for (const id of ids) results.push({ id, fromState: await queue.retry(id, 'cli') });
      if (jsonOutput(command)) printJson(io, { retried: results });
      else for (const r of results) io.out.write(`retried ${r.id} (was ${r.fromState})\n`);
    });
  });

  addConfigOptions(
    program
      .command('priority')
      .description('Change the priority lane (0 lowest .. 4 highest) of a waiting, delayed or blocked job; a waiting job runs from its new lane')
      .argument('<queue>', 'queue name')
      .argument('<id>', 'job id')
      .argument('<priority>', 'the new lane, 0..4'),
  ).action(async (queueName: string, id: string, priorityText: string, _opts, command: Command) => {
    const priority = /^\d$/.test(priorityText) ? Number(priorityText) : Number.NaN;
    if (!(priority >= 0 && priority <= 4)) throw new ValidationError('<priority>', `must be an integer from 0 to 4, got ${JSON.stringify(priorityText)}`);
    await withContext(command, async (context) => {
      const queue = await context.existingQueue(queueName);
      const change = await queue.changePriority(id, priority);
      if (jsonOutput(command)) printJson(io, { id, ...change });
      else io.out.write(change.from === change.to ? `job ${id} already has priority ${change.to} (${change.state})\n` : `job ${id} priority ${change.from} -> ${change.to} (${change.state})\n`);
    });
  });

  for (const action of ['pause', 'resume'] as const) {
    addConfigOptions(
      program
        .command(action)
        .description(action === 'pause' ? 'Pause a queue: workers take no new jobs' : 'Resume a paused queue')
        .argument('<queue>', 'queue name'),
    ).action(async (queueName: string, _opts, command: Command) => {
      await withContext(command, async (context) => {
        const queue = context.queue(queueName);
        await (action === 'pause' ? queue.pause() : queue.resume());
        if (jsonOutput(command)) printJson(io, { queue: queue.name, paused: action === 'pause' });
        else io.out.write(`queue ${queue.name} ${action === 'pause' ? 'paused' : 'resumed'}\n`);
      });
    });
  }

  const dlq = program.command('dlq').description('Dead-letter queue: list and requeue dead jobs');
  addConfigOptions(
    dlq
      .command('list')
      .description('List dead jobs, oldest first')
      .argument('<queue>', 'queue name')
      .option('--limit <n>', 'jobs per page (1-1000)', '50')
      .option('--cursor <cursor>', 'next page cursor printed by the previous call'),
  ).action(async (queueName: string, opts: { limit: string; cursor?: string }, command: Command) => {
    const limit = positiveInt(opts.limit, '--limit', 1000);
    await withContext(command, async (context) => {
      const page = await (await context.existingQueue(queueName)).list('dead', { limit, ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) });
      printJobPage(io, jsonOutput(command), page);
    });
  });
  addConfigOptions(
    dlq
      .command('requeue')
      .description('Requeue dead jobs (the given ids, or --all) with a fresh attempt count')
      .argument('<queue>', 'queue name')
      .argument('[ids...]', 'job ids')
      .option('--all', 'requeue every dead job (up to --limit)')
      .option('--limit <n>', 'most jobs requeued with --all', '10000'),
  ).action(async (queueName: string, ids: string[], opts: { all?: boolean; limit: string }, command: Command) => {
    if ((ids.length > 0) === (opts.all === true)) throw new ValidationError('ids', 'give job ids or --all');
    const limit = positiveInt(opts.limit, '--limit');
    await withContext(command, async (context) => {
      const report = await requeueDead(await context.existingQueue(queueName), opts.all ? { all: true, limit } : { ids }, 'cli');
      if (jsonOutput(command)) printJson(io, report);
      else {
        io.out.write(`requeued ${report.requeued.length} job(s)\n`);
        for (const e of report.errors) io.out.write(`not requeued ${e.id}: ${e.message}\n`);
      }
      if (report.errors.length > 0) process.exitCode = 1;
    });
  });

  addConfigOptions(
    program
      .command('cleanup')
      .description(
        "Remove finished jobs from the read models (their events stay). Without --older-than or --keep, applies the queue's retention policy now.",
      )
      .argument('<queue>', 'queue name')
      .option('--state <state>', 'completed, dead or cancelled (with --older-than / --keep)', 'completed')
      .option('--older-than <duration>', 'remove jobs that finished longer ago (e.g. 7d, 12h)')
      .option('--keep <n>', 'keep only the newest n jobs of the state')
      .option('--dry-run', 'count what would be removed, remove nothing'),
  ).action(async (queueName: string, opts: { state: string; olderThan?: string; keep?: string; dryRun?: boolean }, command: Command) => {
    if (!['completed', 'dead', 'cancelled'].includes(opts.state)) throw new ValidationError('--state', `must be completed, dead or cancelled, got ${JSON.stringify(opts.state)}`);
    const olderThanMs = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan, '--older-than');
    const keep = opts.keep === undefined ? undefined : positiveInt(opts.keep, '--keep');
    await withContext(command, async (context) => {
      const queue = await context.existingQueue(queueName);
      let report: CleanupReport;
      if (olderThanMs === undefined && keep === undefined) {
        if (opts.dryRun) throw new ValidationError('--dry-run', 'needs --older-than or --keep');
        const byState = { completed: 0, dead: 0, cancelled: 0 };
        for (;;) {
          const round = await queue.applyRetention(1000);
          byState.completed += round.completed;
          byState.dead += round.dead;
          byState.cancelled += round.cancelled;
          if (round.completed + round.dead + round.cancelled < 1000) break;
        }
        report = { queue: queue.name, state: 'policy', removed: byState.completed + byState.dead + byState.cancelled, dryRun: false, byState };
      } else {
        report = await cleanupJobs(queue, {
          state: opts.state as JobState,
          ...(olderThanMs === undefined ? {} : { olderThanMs }),
          ...(keep === undefined ? {} : { keep }),
          dryRun: opts.dryRun === true,
        });
      }
      if (jsonOutput(command)) printJson(io, report);
      else io.out.write(`${report.dryRun ? 'would remove' : 'removed'} ${report.removed} ${report.state === 'policy' ? 'finished' : report.state} job(s) from queue ${report.queue}\n`);
    });
  });

  addConfigOptions(
    program
      .command('flush')
      .description('Delete EVERYTHING of a queue: Redis keys, archived events, payloads. Needs --yes and the queue name again (--confirm, or typed at the prompt).')
      .argument('<queue>', 'queue name')
      .option('--yes', 'I mean it')
      .option('--confirm <queue>', 'the queue name, typed again'),
  ).action(async (queueName: string, opts: { yes?: boolean; confirm?: string }, command: Command) => {
    const queue = toQueueName(queueName);
    if (opts.yes !== true) throw new ValidationError('--yes', `flush deletes every job, event and payload of queue ${queue}; refusing without --yes`);
    const typed = opts.confirm ?? (await confirmTyped(io, queue));
    if (typed !== queue) {
      throw new ValidationError('--confirm', typed === undefined ? `type the queue name again: --confirm ${queue}` : `${JSON.stringify(typed)} is not ${queue}; nothing was deleted`);
    }
    await withContext(command, async (context) => {
      const workers = await context.queue(queue).workers();
      const report = await flushQueue(context, queue);
      if (jsonOutput(command)) return printJson(io, { ...report, liveWorkers: workers.length });
      io.out.write(table(['queue', 'redis keys', 'archived events', 'payload collection'], [[report.queue, report.redisKeys, report.archivedEvents, `${report.payloadCollection} (dropped)`]]));
      if (workers.length > 0) io.err.write(`warning: ${workers.length} worker(s) were live on ${queue}; stop them, they will report errors\n`);
    });
  });
}
