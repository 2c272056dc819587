/**
 * `sluice search` (jobs by id, prefix, name, state, time range, error text, payload field — the
 * query of `GET /v1/queues/{q}/jobs/search`) and `sluice as-of` (the queue at a past moment, by
 * replaying its history — `GET /v1/queues/{q}/as-of`).
 *
 * @packageDocumentation
 */
import type { Command } from 'commander';
import { queueAsOf } from '../../audit/as-of.js';
import { ValidationError } from '../../core/errors.js';
import { JOB_STATES, type JobState } from '../../core/keys.js';
import { searchJobs, type JobSearch } from '../../queue/search.js';
import { parseTime } from '../../history/filters.js';
import { keyValues, printJson, table, time, type Io } from '../output.js';
import { addConfigOptions, jsonOutput, positiveInt, withContext } from '../shared.js';
import { printJobPage } from './inspect.js';

interface SearchOptions {
  id?: string;
  prefix?: string;
  name?: string;
  state?: string;
  from?: string;
  to?: string;
  error?: string;
  payload?: string;
  limit: string;
  cursor?: string;
}

/** The library search of the command's options. */
export function toSearch(opts: SearchOptions): JobSearch {
  if (opts.state !== undefined && !(JOB_STATES as readonly string[]).includes(opts.state)) {
    throw new ValidationError('--state', `must be one of ${JOB_STATES.join(', ')}, got ${JSON.stringify(opts.state)}`);
  }
  let payload: JobSearch['payload'];
  if (opts.payload !== undefined) {
    const eq = opts.payload.indexOf('=');
    if (eq < 1) throw new ValidationError('--payload', 'must be path=value, e.g. customer.id=acme');
    payload = { path: opts.payload.slice(0, eq), value: opts.payload.slice(eq + 1) };
  }
  return {
    ...(opts.id === undefined ? {} : { id: opts.id }),
    ...(opts.prefix === undefined ? {} : { idPrefix: opts.prefix }),
    ...(opts.name === undefined ? {} : { name: opts.name }),
    ...(opts.state === undefined ? {} : { state: opts.state as JobState }),
    ...(opts.from === undefined ? {} : { from: parseTime(opts.from, '--from') }),
    ...(opts.to === undefined ? {} : { to: parseTime(opts.to, '--to') }),
    ...(opts.error === undefined ? {} : { error: opts.error }),
    ...(payload === undefined ? {} : { payload }),
    limit: positiveInt(opts.limit, '--limit', 500),
    ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
  };
}

/** Registers `search` and `as-of`. */
export function registerSearchCommands(program: Command, io: Io): void {
  addConfigOptions(
    program
      .command('search')
      .description('Find jobs by id (exact or prefix), name, state, time range, error text or a payload field')
      .argument('<queue>', 'queue name')
      .option('--id <id>', 'exactly this job id')
      .option('--prefix <text>', 'job ids starting with this')
      .option('--name <name>', 'exactly this job name')
      .option('--state <state>', `one of ${JOB_STATES.join(', ')}`)
      .option('--from <time>', 'entered its current state at or after (ISO 8601 or ms)')
      .option('--to <time>', 'entered its current state at or before (ISO 8601 or ms)')
      .option('--error <text>', "text in the last error's name, message or stack (case-insensitive)")
      .option('--payload <path=value>', 'a payload field equal to a value (index terms_1 of the payload collection)')
      .option('--limit <n>', 'most jobs shown (1-500)', '50')
      .option('--cursor <cursor>', 'next cursor printed by the previous call'),
  ).action(async (queueName: string, opts: SearchOptions, command: Command) => {
    const search = toSearch(opts);
    await withContext(command, async (context) => {
      const result = await searchJobs(context.redis, queueName, search, context.payloads);
      if (jsonOutput(command)) return printJson(io, result);
      printJobPage(io, false, { jobs: result.jobs });
      io.out.write(`${result.jobs.length} found, ${result.scanned} read (via ${result.via})\n`);
      if (result.nextCursor !== undefined) io.out.write(`more may match: --cursor ${result.nextCursor}\n`);
    });
  });

  addConfigOptions(
    program
      .command('as-of')
      .description('The queue at a past moment: jobs per state, waiting and active jobs (replays the history up to it)')
      .argument('<queue>', 'queue name')
      .argument('<time>', 'the moment (ISO 8601 or ms since the epoch)')
      .option('--limit <n>', 'most waiting and active jobs listed (1-1000)', '20')
      .option('--max-events <n>', 'refuse a moment that needs more events replayed', '250000'),
  ).action(async (queueName: string, at: string, opts: { limit: string; maxEvents: string }, command: Command) => {
    const moment = parseTime(at, '<time>');
    const listLimit = positiveInt(opts.limit, '--limit', 1000);
    const maxEvents = positiveInt(opts.maxEvents, '--max-events');
    await withContext(command, async (context) => {
      const result = await queueAsOf(context.replaySource(queueName), moment, { listLimit, maxEvents });
      if (jsonOutput(command)) return printJson(io, result);
      io.out.write(keyValues([['as of', time(result.at)], ['events replayed', result.events], ['took', `${result.tookMs} ms`]]));
      io.out.write(table([...JOB_STATES], [JOB_STATES.map((s) => result.counts[s])]));
      for (const [title, jobs] of [['waiting', result.waiting], ['active', result.active]] as const) {
        io.out.write(`${title} then:\n`);
        io.out.write(table(['id', 'name', 'priority', 'since'], jobs.map((j) => [j.id, j.name, j.priority, time(j.updatedAt)])));
      }
    });
  });
}
