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
import { ValidationError } from '../../core/errors.js';
import type { NewJob } from '../../jobs/options.js';
import type { PublishResult } from '../../queue/queue.js';
import { printJson, table, type Io } from '../output.js';
import { addJobOptionFlags, type JobFlagsReader } from '../job-flags.js';
import { addConfigOptions, jsonOutput, withContext } from '../shared.js';

/** Jobs per `publishMany` call when publishing a file. */
const FILE_BATCH = 1000;

interface PublishFlags {
  payload?: string;
  file?: string;
  /** The job option flags (see ../job-flags.ts). */
  [flag: string]: unknown;
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError(field, 'is not valid JSON');
  }
}

/** The job the flags describe. Validation of names, ids and options is the library's. */
function jobFromFlags(name: string, flags: PublishFlags, jobOptionFlags: JobFlagsReader): NewJob {
  const opts = jobOptionFlags.read(flags);
  return {
    name,
    ...(flags.payload === undefined ? {} : { payload: parseJson(flags.payload, '--payload') }),
    ...(Object.keys(opts).length > 0 ? { opts } : {}),
  };
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
  const command = program
    .command('publish')
    .description('Publish a job (payloads go to the payload store), or every job of an NDJSON file with --file')
    .argument('<queue>', 'queue name')
    .argument('[name]', 'job name (not with --file)')
    .option('--payload <json>', 'JSON payload');
  // One flag per job option, from the schema (src/jobs/schema.ts).
  const jobOptionFlags = addJobOptionFlags(command);
  addConfigOptions(
    command.option('--file <path>', "NDJSON file, one {name, payload?, opts?} per line ('-' for standard input); batches of 1,000, each all-or-nothing"),
  ).action(async (queueName: string, name: string | undefined, flags: PublishFlags, command: Command) => {
    if ((flags.file === undefined) === (name === undefined)) throw new ValidationError('name', 'give a job name, or --file (not both)');
    await withContext(command, async (context) => {
      const queue = context.queue(queueName);
      const results: PublishResult[] = [];
      if (flags.file !== undefined) {
        const jobFlags = [...(flags.payload === undefined ? [] : ['--payload']), ...jobOptionFlags.given(flags)];
        if (jobFlags.length > 0) throw new ValidationError('--file', `job options come from the file's lines, not from flags (got ${jobFlags.join(', ')})`);
        for await (const batch of jobBatches(flags.file)) results.push(...(await queue.publishMany(batch)));
      } else {
        results.push(...(await queue.publishMany([jobFromFlags(name as string, flags, jobOptionFlags)])));
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
