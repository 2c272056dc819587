/**
 * Queue configuration commands of the dispatch features: `repeat list|set|remove` (repeatable
 * jobs) and `limits show|set` (queue rate limit, group limits). Configuration appends no event.
 *
 * @packageDocumentation
 */
import type { Command } from 'commander';
import { parseDuration } from '../../app/config.js';
import { ValidationError } from '../../core/errors.js';
import type { GroupLimits, RateLimit } from '../../queue/limits.js';
import type { Queue } from '../../queue/queue.js';
import type { RepeatableJob, RepeatSchedule, RepeatTemplate } from '../../queue/repeat.js';
import { keyValues, printJson, table, time, type Io } from '../output.js';
import { addJobOptionFlags, parseTime } from '../job-flags.js';
import { addConfigOptions, jsonOutput, positiveInt, withContext } from '../shared.js';

/** Parses `N/<duration>` (e.g. `100/1s`, `10/250ms`, `5/1000`) or `none` (null). */
export function parseRate(text: string, field: string): RateLimit | null {
  if (text.trim() === 'none') return null;
  const match = /^(\d+)\s*\/\s*(.+)$/.exec(text.trim());
  if (!match) throw new ValidationError(field, `must be N/<duration> such as 100/1s or 10/250ms, or none, got ${JSON.stringify(text)}`);
  const max = Number(match[1]);
  const durationMs = parseDuration(match[2] as string, field);
  if (max < 1 || durationMs < 1) throw new ValidationError(field, `needs at least 1 job per at least 1 ms, got ${JSON.stringify(text)}`);
  return { max, durationMs };
}

/** Parses a positive integer option, or `none` (null). */
function intOrNone(text: string, field: string, max: number): number | null {
  if (text.trim() === 'none') return null;
  const n = positiveInt(text, field, max);
  if (n < 1) throw new ValidationError(field, `must be at least 1 (or none), got ${JSON.stringify(text)}`);
  return n;
}

function rateText(rate: RateLimit | null | undefined): string {
  return rate ? `${rate.max}/${rate.durationMs}ms` : 'none';
}

function scheduleText(r: RepeatableJob): string {
  const s = r.schedule;
  if (s.cron !== undefined) return `cron ${s.cron}${s.tz ? ` (${s.tz})` : ''}`;
  return `every ${s.everyMs ?? '?'}ms`;
}

/** What `limits show` prints. */
export interface LimitsReport {
  queue: string;
  rate: RateLimit | null;
  group?: string;
  groupLimits: GroupLimits;
}

async function limitsOf(queue: Queue, group: string | undefined): Promise<LimitsReport> {
  const [rate, groupLimits] = await Promise.all([queue.getRateLimit(), queue.getGroupLimits(group)]);
  return { queue: queue.name, rate, ...(group === undefined ? {} : { group }), groupLimits };
}

function printLimits(io: Io, json: boolean, report: LimitsReport): void {
  if (json) return printJson(io, report);
  io.out.write(
    keyValues([
      ['queue', report.queue],
      ['rate limit', rateText(report.rate)],
      [report.group === undefined ? 'group defaults' : `group ${report.group}`, ''],
      ['  concurrency', report.groupLimits.concurrency ?? 'none'],
      ['  rate limit', rateText(report.groupLimits.rate)],
      ['  weight', report.groupLimits.weight ?? 1],
    ]),
  );
}

/** Registers `repeat` and `limits`. */
export function registerScheduleCommands(program: Command, io: Io): void {
  const repeat = program.command('repeat').description('Repeatable jobs (cron or fixed interval): list, set, remove');
  addConfigOptions(repeat.command('list').description('List repeatable jobs, soonest first').argument('<queue>', 'queue name')).action(
    async (queueName: string, _opts, command: Command) => {
      await withContext(command, async (context) => {
        const repeatables = await (await context.existingQueue(queueName)).listRepeatables();
        if (jsonOutput(command)) return printJson(io, { repeatables });
        io.out.write(
          table(
            ['key', 'schedule', 'job', 'next run', 'runs', 'last run', 'last job'],
            repeatables.map((r) => [r.key, scheduleText(r), r.template.name, time(r.nextRunAt), r.runs, time(r.lastRunAt), r.lastJobId]),
          ),
        );
      });
    },
  );

  const repeatSet = repeat
    .command('set')
    .description('Create or replace a repeatable job: each occurrence publishes job repeat:<key>:<occurrence ms>')
    .argument('<queue>', 'queue name')
    .argument('<key>', 'repeatable job key')
    .requiredOption('--name <name>', 'job name of each occurrence')
    .option('--cron <expr>', 'cron expression (5 fields, or 6 with seconds first)')
    .option('--tz <zone>', 'IANA time zone of --cron (default UTC)')
    .option('--every <duration>', 'fixed interval instead of --cron (at least 1s), e.g. 15m')
    .option('--payload <json>', 'JSON payload of each occurrence (at most 64 KiB)')
    .option('--start-at <time>', 'no run before this time (ISO 8601 or ms)')
    .option('--end-at <time>', 'no run after this time (ISO 8601 or ms)')
    .option('--missed <policy>', 'after downtime: run-once (default) or skip')
    .option('--late-grace <duration>', 'how late an occurrence may still fire with --missed skip (default 60s)');
  // The options of each occurrence, from the job options schema: --job-priority, --job-attempts,
  // --job-backoff, --job-timeout and --group.
  const templateFlags = addJobOptionFlags(repeatSet, { only: ['priority', 'attempts', 'backoff', 'timeoutMs', 'group'], rename: (flag) => (flag === 'group' ? flag : `job-${flag}`) });
  addConfigOptions(
    repeatSet,
  ).action(
    async (
      queueName: string,
      key: string,
      opts: { name: string; cron?: string; tz?: string; every?: string; payload?: string; startAt?: string; endAt?: string; missed?: string; lateGrace?: string },
      command: Command,
    ) => {
      if ((opts.cron === undefined) === (opts.every === undefined)) throw new ValidationError('--cron', 'give exactly one of --cron and --every');
      if (opts.missed !== undefined && opts.missed !== 'run-once' && opts.missed !== 'skip') throw new ValidationError('--missed', `must be run-once or skip, got ${JSON.stringify(opts.missed)}`);
      const schedule: RepeatSchedule = {
        ...(opts.cron === undefined ? {} : { cron: opts.cron }),
        ...(opts.tz === undefined ? {} : { tz: opts.tz }),
        ...(opts.every === undefined ? {} : { everyMs: parseDuration(opts.every, '--every') }),
        ...(opts.startAt === undefined ? {} : { startAt: parseTime(opts.startAt, '--start-at') }),
        ...(opts.endAt === undefined ? {} : { endAt: parseTime(opts.endAt, '--end-at') }),
        ...(opts.missed === undefined ? {} : { missed: opts.missed }),
        ...(opts.lateGrace === undefined ? {} : { graceMs: parseDuration(opts.lateGrace, '--late-grace') }),
      };
      let payload: unknown;
      if (opts.payload !== undefined) {
        try {
          payload = JSON.parse(opts.payload);
        } catch {
          throw new ValidationError('--payload', 'is not valid JSON');
        }
      }
      const jobOpts: NonNullable<RepeatTemplate['opts']> = templateFlags.read(opts);
      const template: RepeatTemplate = { name: opts.name, ...(payload === undefined ? {} : { payload }), ...(Object.keys(jobOpts).length > 0 ? { opts: jobOpts } : {}) };
      await withContext(command, async (context) => {
        const stored = await context.queue(queueName).upsertRepeatable(key, schedule, template);
        if (jsonOutput(command)) return printJson(io, stored);
        io.out.write(`repeatable ${stored.key} set: ${scheduleText(stored)}, next run ${time(stored.nextRunAt)}\n`);
      });
    },
  );

  addConfigOptions(
    repeat
      .command('remove')
      .alias('rm')
      .description('Remove a repeatable job (occurrences already published stay); exit 1 when there is none')
      .argument('<queue>', 'queue name')
      .argument('<key>', 'repeatable job key'),
  ).action(async (queueName: string, key: string, _opts, command: Command) => {
    await withContext(command, async (context) => {
      const removed = await (await context.existingQueue(queueName)).removeRepeatable(key);
      if (jsonOutput(command)) printJson(io, { key, removed });
      else io.out.write(removed ? `repeatable ${key} removed\n` : `no repeatable job ${key}\n`);
      if (!removed) process.exitCode = 1;
    });
  });

  const limits = program.command('limits').description('Queue rate limit and group limits: show, set');
  addConfigOptions(
    limits
      .command('show')
      .description("Show the queue's rate limit and the group limits (the defaults, or one group's effective limits)")
      .argument('<queue>', 'queue name')
      .option('--group <group>', 'one group (falling back to the defaults)'),
  ).action(async (queueName: string, opts: { group?: string }, command: Command) => {
    await withContext(command, async (context) => {
      printLimits(io, jsonOutput(command), await limitsOf(await context.existingQueue(queueName), opts.group));
    });
  });

  addConfigOptions(
    limits
      .command('set')
      .description('Set the queue rate limit and/or group limits (of --group, or the defaults of every group); none removes a value')
      .argument('<queue>', 'queue name')
      .option('--rate <N/duration>', 'queue rate limit, e.g. 100/1s (none removes it)')
      .option('--group <group>', 'set the limits of this group (default: the defaults of every group)')
      .option('--group-concurrency <n>', 'most jobs of a group active at once (none removes it)')
      .option('--group-rate <N/duration>', 'rate limit of a group, e.g. 10/1s (none removes it)')
      .option('--group-weight <n>', 'share of the workers when groups compete (none resets it to 1)'),
  ).action(async (queueName: string, opts: { rate?: string; group?: string; groupConcurrency?: string; groupRate?: string; groupWeight?: string }, command: Command) => {
    const rate = opts.rate === undefined ? undefined : parseRate(opts.rate, '--rate');
    const groupLimits: GroupLimits = {
      ...(opts.groupConcurrency === undefined ? {} : { concurrency: intOrNone(opts.groupConcurrency, '--group-concurrency', 1_000_000_000) }),
      ...(opts.groupRate === undefined ? {} : { rate: parseRate(opts.groupRate, '--group-rate') }),
      ...(opts.groupWeight === undefined ? {} : { weight: intOrNone(opts.groupWeight, '--group-weight', 1_000_000) }),
    };
    const groupChanged = Object.keys(groupLimits).length > 0;
    if (rate === undefined && !groupChanged) throw new ValidationError('--rate', 'give --rate, --group-concurrency, --group-rate or --group-weight');
    await withContext(command, async (context) => {
      const queue = context.queue(queueName);
      if (rate !== undefined) await queue.setRateLimit(rate);
      if (groupChanged) await queue.setGroupLimits(groupLimits, opts.group);
      printLimits(io, jsonOutput(command), await limitsOf(queue, opts.group));
    });
  });
}
