/**
 * `sluice publish`: one job from flags, or many from an NDJSON file (one `{name, payload?, opts?}`
 * per line, the shape of the library's `NewJob` and of the HTTP bulk publish), in batches of
 * 1,000 — each batch one `publishMany`, all-or-nothing.
 *
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { parseDuration } from '../../app/config.js';
import { ValidationError } from '../../core/errors.js';
import type { JobOptions, NewJob } from '../../jobs/options.js';
import type { PublishResult } from '../../queue/queue.js';
import { printJson, table, type Io } from '../output.js';
import { addConfigOptions, jsonOutput, positiveInt, withContext } from '../shared.js';

/** Jobs per `publishMany` call when publishing a file. */
const FILE_BATCH = 1000;

interface PublishFlags {
  payload?: string;
  jobId?: string;
  priority?: string;
  delay?: string;
  attempts?: string;
  timeout?: string;
  dedupe?: string;
  group?: string;
  dependsOn?: string;
  correlationId?: string;
  file?: string;
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError(field, 'is not valid JSON');
  }
}

/** The job the flags describe. Validation of names, ids and options is the library's. */
function jobFromFlags(name: string, flags: PublishFlags): NewJob {
  const opts: JobOptions = {
    ...(flags.jobId === undefined ? {} : { jobId: flags.jobId }),
    ...(flags.priority === undefined ? {} : { priority: positiveInt(flags.priority, '--priority', 4) }),
    ...(flags.delay === undefined ? {} : { delayMs: parseDuration(flags.delay, '--delay') }),
    ...(flags.attempts === undefined ? {} : { attempts: positiveInt(flags.attempts, '--attempts', 1000) }),
    ...(flags.timeout === undefined ? {} : { timeoutMs: parseDuration(flags.timeout, '--timeout') }),
    ...(flags.dedupe === undefined ? {} : { dedupe: { key: flags.dedupe } }),
    ...(flags.group === undefined ? {} : { group: flags.group }),
    ...(flags.dependsOn === undefined ? {} : { dependsOn: flags.dependsOn.split(',').map((ref) => dependencyRef(ref.trim())) }),
    ...(flags.correlationId === undefined ? {} : { correlationId: flags.correlationId }),
  };
  return {
    name,
    ...(flags.payload === undefined ? {} : { payload: parseJson(flags.payload, '--payload') }),
    ...(Object.keys(opts).length > 0 ? { opts } : {}),
  };
}

/** `<job id>` (this queue) or `<queue>/<job id>`. */
function dependencyRef(ref: string): string | { queue: string; jobId: string } {
  const slash = ref.indexOf('/');
  if (ref === '') throw new ValidationError('--depends-on', 'holds an empty job reference');
  return slash <= 0 ? ref : { queue: ref.slice(0, slash), jobId: ref.slice(slash + 1) };
}

/** Reads an NDJSON file (or standard input for `-`) in batches; each line is one {@link NewJob}. */
async function* jobBatches(path: string): AsyncGenerator<NewJob[]> {
  const input = path === '-' ? process.stdin : createReadStream(path);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let batch: NewJob[] = [];
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    const job = parseJson(line, `${path}:${lineNo}`);
    if (typeof job !== 'object' || job === null || Array.isArray(job)) throw new ValidationError(`${path}:${lineNo}`, 'must be a JSON object {name, payload?, opts?}');
    batch.push(job as NewJob);
    if (batch.length === FILE_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Registers `publish`. */
export function registerPublishCommand(program: Command, io: Io): void {
  addConfigOptions(
    program
      .command('publish')
      .description('Publish a job (payloads go to the payload store), or every job of an NDJSON file with --file')
      .argument('<queue>', 'queue name')
      .argument('[name]', 'job name (not with --file)')
      .option('--payload <json>', 'JSON payload')
      .option('--job-id <id>', 'job id (idempotent publish: an existing id creates nothing)')
      .option('--priority <n>', 'priority lane, 0 (lowest) to 4')
      .option('--delay <duration>', 'run no earlier than this from now, e.g. 30s')
      .option('--attempts <n>', 'attempts before the job is dead-lettered')
      .option('--timeout <duration>', 'per-attempt timeout, e.g. 5m')
      .option('--dedupe <key>', 'ignore this publish while a job with the same dedupe key is live')
      .option('--group <group>', 'group key (fair scheduling across groups)')
      .option('--depends-on <refs>', 'comma-separated prerequisites: <job id> or <queue>/<job id>')
      .option('--correlation-id <id>', 'correlation id carried by every event of the job')
      .option('--file <path>', "NDJSON file, one {name, payload?, opts?} per line ('-' for standard input); batches of 1,000, each all-or-nothing"),
  ).action(async (queueName: string, name: string | undefined, flags: PublishFlags, command: Command) => {
    if ((flags.file === undefined) === (name === undefined)) throw new ValidationError('name', 'give a job name, or --file (not both)');
    await withContext(command, async (context) => {
      const queue = context.queue(queueName);
      const results: PublishResult[] = [];
      if (flags.file !== undefined) {
        const jobFlags = Object.keys(flags).filter((k) => k !== 'file' && flags[k as keyof PublishFlags] !== undefined);
        if (jobFlags.length > 0) throw new ValidationError('--file', `job options come from the file's lines, not from flags (got ${jobFlags.join(', ')})`);
        for await (const batch of jobBatches(flags.file)) results.push(...(await queue.publishMany(batch)));
      } else {
        results.push(...(await queue.publishMany([jobFromFlags(name as string, flags)])));
      }
      if (jsonOutput(command)) return printJson(io, flags.file === undefined ? results[0] : { queue: queueName, published: results.length, created: results.filter((r) => r.created).length, jobs: results });
      if (flags.file !== undefined) {
        const created = results.filter((r) => r.created).length;
        io.out.write(`${results.length} jobs published to ${queueName}: ${created} created, ${results.length - created} existing or deduplicated\n`);
        return;
      }
      io.out.write(table(['JOB', 'CREATED', 'NOTE'], results.map((r) => [r.id, r.created ? 'yes' : 'no', r.deduplicated ? 'deduplicated (job holding the key)' : r.created ? '' : 'a job with this id exists'])));
    });
  });
}
