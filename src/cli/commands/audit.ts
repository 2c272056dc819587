/**
 * Audit and repair commands: `replay`, `export`, `rebuild`, `verify`.
 *
 * @packageDocumentation
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { replay$, replayBatches, type ReplayQuery } from '../../history/replay.js';
import { verifyAudit } from '../../audit/verify-audit.js';
import { eventsKey, toQueueName } from '../../core/keys.js';
import { rebuild, verify } from '../../projections/rebuild.js';
import type { SluiceContext } from '../../app/context.js';
import { parseTime, parseTypes } from '../../history/filters.js';
import { keyValues, printJson, Progress, time, type Io } from '../output.js';
import { addConfigOptions, EXIT, jsonOutput, withContext } from '../shared.js';
import { eventDetail } from './inspect.js';
import type { StoredJobEvent } from '../../events/types.js';

interface FilterOptions {
  from?: string;
  to?: string;
  after?: string;
  job?: string;
  types?: string;
}

function withFilters(command: Command): Command {
  return command
    .option('--from <time>', 'events at or after this time (ISO 8601 or ms since the epoch)')
    .option('--to <time>', 'events at or before this time (ISO 8601, ms, or a stream id)')
    .option('--after <id>', 'events strictly after this stream id (a checkpoint)')
    .option('--job <id>', "only this job's events")
    .option('--types <list>', 'only these event types, comma-separated');
}

function toQuery(opts: FilterOptions): ReplayQuery {
  const types = parseTypes(opts.types, '--types');
  return {
    ...(opts.after === undefined ? {} : { after: opts.after }),
    ...(opts.from === undefined ? {} : { from: parseTime(opts.from, '--from') }),
    ...(opts.to === undefined ? {} : { to: /^\d+-\d+$/.test(opts.to) ? opts.to : parseTime(opts.to, '--to') }),
    ...(opts.job === undefined ? {} : { jobId: opts.job }),
    ...(types === undefined ? {} : { types }),
  };
}

/** Events the queue's history holds (archive plus stream), for progress bars. An estimate. */
async function historySize(context: SluiceContext, queue: string): Promise<number> {
  const name = toQueueName(queue);
  const [archived, streamed] = await Promise.all([context.archive.count(name).catch(() => 0), context.redis.xlen(eventsKey(name))]);
  // The last archived entry stays in the stream as the seam: counted once.
  return archived + streamed - (archived > 0 && streamed > 0 ? 1 : 0);
}

function humanLine(event: StoredJobEvent): string {
  return `${time(event.metadata.time)}  ${event.id}  ${event.type.padEnd(13)}  ${event.metadata.jobId}  ${eventDetail(event)}\n`;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Registers the audit commands. */
export function registerAuditCommands(program: Command, io: Io): void {
  addConfigOptions(
    withFilters(
      program
        .command('replay')
        .description("Print a queue's events in order (archive, then live stream); --json prints NDJSON; --follow keeps printing new ones")
        .argument('<queue>', 'queue name')
        .option('--follow', 'after the history, print new events until Ctrl-C'),
    ),
  ).action(async (queueName: string, opts: FilterOptions & { follow?: boolean }, command: Command) => {
    const query = toQuery(opts);
    const json = jsonOutput(command);
    await withContext(command, async (context) => {
      await context.existingQueue(queueName);
      const source = context.replaySource(queueName);
      const format = (e: StoredJobEvent): string => (json ? `${JSON.stringify(e)}\n` : humanLine(e));
      if (opts.follow) {
        await new Promise<void>((resolve, reject) => {
          const subscription = replay$(source, { ...query, follow: true }).subscribe({
            next: (e) => io.out.write(format(e)),
            error: reject,
            complete: resolve,
          });
          const stop = (): void => {
            subscription.unsubscribe();
            resolve();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return;
      }
      // A bar only when the events go somewhere else than the terminal the bar is drawn on.
      const progress = new Progress(io, 'replay', await historySize(context, queueName), io.err.isTTY === true && (io.out as { isTTY?: boolean }).isTTY !== true);
      let read = 0;
      for await (const batch of replayBatches(source, query)) {
        read += batch.length;
        await write(io.out, batch.map(format).join(''));
        progress.update(read);
      }
      progress.done();
    });
  });

  addConfigOptions(
    withFilters(
      program
        .command('export')
        .description("Export a queue's events as NDJSON (one event per line) to a file or stdout")
        .argument('<queue>', 'queue name')
        .option('--out <file>', 'write to this file instead of stdout'),
    ),
  ).action(async (queueName: string, opts: FilterOptions & { out?: string }, command: Command) => {
    const query = toQuery(opts);
    await withContext(command, async (context) => {
      await context.existingQueue(queueName);
      const out = opts.out === undefined ? io.out : createWriteStream(opts.out);
      const progress = new Progress(io, 'export', await historySize(context, queueName), io.err.isTTY === true && (opts.out !== undefined || (io.out as { isTTY?: boolean }).isTTY !== true));
      let exported = 0;
      let read = 0;
      try {
        for await (const batch of replayBatches(context.replaySource(queueName), query)) {
          read += batch.length;
          exported += batch.length;
          if (batch.length > 0) await write(out, batch.map((e) => `${JSON.stringify(e)}\n`).join(''));
          progress.update(read);
        }
      } finally {
        if (out !== io.out) await new Promise<void>((resolve, reject) => (out as NodeJS.WritableStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
      }
      progress.done();
      const summary = { queue: queueName, exported, ...(opts.out === undefined ? {} : { file: opts.out }) };
      if (jsonOutput(command) && opts.out !== undefined) printJson(io, summary);
      else io.err.write(`exported ${exported} event(s)${opts.out === undefined ? '' : ` to ${opts.out}`}\n`);
    });
  });

  addConfigOptions(
    program
      .command('rebuild')
      .description("Rebuild a queue's read models from its whole history (archive, then stream) and swap them in atomically")
      .argument('<queue>', 'queue name'),
  ).action(async (queueName: string, _opts, command: Command) => {
    await withContext(command, async (context) => {
      await context.existingQueue(queueName);
      const progress = new Progress(io, 'rebuild', await historySize(context, queueName));
      const report = await rebuild(context.redis, queueName, { archive: context.archive, onProgress: (n) => progress.update(n) });
      progress.done();
      if (jsonOutput(command)) return printJson(io, { queue: queueName, ...report });
      io.out.write(keyValues([['queue', queueName], ['events replayed', report.replayed], ['caught up', report.caughtUp], ['jobs', report.jobs]]));
    });
  });

  addConfigOptions(
    program
      .command('verify')
      .description("Check a queue: its read models against a replay of its history, and its archive's hash chain and sequence numbers. Exit 1 when anything differs.")
      .argument('<queue>', 'queue name')
      .option('--skip-projections', 'do not compare the read models')
      .option('--skip-audit', "do not check the archive's hash chain"),
  ).action(async (queueName: string, opts: { skipProjections?: boolean; skipAudit?: boolean }, command: Command) => {
    await withContext(command, async (context) => {
      await context.existingQueue(queueName);
      const progress = new Progress(io, 'verify', await historySize(context, queueName));
      const projections = opts.skipProjections ? undefined : await verify(context.redis, queueName, { archive: context.archive, onProgress: (n) => progress.update(n) });
      progress.done();
      const audit = opts.skipAudit ? undefined : await verifyAudit(context.archive, queueName);
      const ok = (projections?.clean ?? true) && (audit?.ok ?? true);
      if (jsonOutput(command)) printJson(io, { queue: queueName, ok, projections, audit });
      else {
        if (projections) {
          io.out.write(`read models: ${projections.clean ? 'clean' : `${projections.differences.length} difference(s)`} (${projections.replayed + projections.caughtUp} events, ${projections.jobsCompared} jobs)\n`);
          for (const d of projections.differences) io.out.write(`  ${d}\n`);
        }
        if (audit) {
          io.out.write(`archive: ${audit.ok ? 'intact' : 'BROKEN'} (${audit.checked} records checked)\n`);
          if (audit.broken) io.out.write(`  record ${audit.broken.n}${audit.broken.id ? ` (${audit.broken.id})` : ''}: ${audit.broken.reason}\n`);
        }
      }
      if (!ok) process.exitCode = EXIT.failed;
    });
  });
}
