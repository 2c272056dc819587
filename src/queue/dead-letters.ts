/**
 * Dead-letter operations shared by the HTTP service (`POST /v1/queues/:queue/dlq/requeue`) and
 * the CLI (`sluice dlq requeue`).
 *
 * @packageDocumentation
 */
import { isSluiceError, ValidationError } from '../core/errors.js';
import type { Queue } from './queue.js';

/** What a dead-letter requeue did. */
export interface RequeueReport {
  requeued: string[];
  errors: { id: string; code: string; message: string }[];
}

/**
 * Retries dead jobs: the given ids, or (with `all`) every dead job up to `limit`, oldest first.
 * A job that cannot be retried is reported in `errors`; the others go on.
 */
export async function requeueDead(queue: Queue, request: { ids?: readonly string[]; all?: boolean; limit?: number }, by: string): Promise<RequeueReport> {
  if ((request.ids === undefined) === (request.all !== true)) throw new ValidationError('ids', 'give either ids or all: true');
  const report: RequeueReport = { requeued: [], errors: [] };
  const retry = async (id: string): Promise<void> => {
    try {
      await queue.retry(id, by);
      report.requeued.push(id);
    } catch (error) {
      if (!isSluiceError(error)) throw error;
      report.errors.push({ id, code: error.code, message: error.message });
    }
  };
  if (request.ids) {
    for (const id of request.ids) await retry(id);
    return report;
  }
  const limit = request.limit ?? 10_000;
  // Requeued jobs leave the dead index, so each round reads from the start again; jobs that
  // failed to requeue stay and are skipped by offset.
  while (report.requeued.length + report.errors.length < limit) {
    const page = await queue.list('dead', { cursor: String(report.errors.length), limit: Math.min(500, limit - report.requeued.length - report.errors.length) });
    if (page.jobs.length === 0) break;
    for (const job of page.jobs) await retry(job.id);
  }
  return report;
}
