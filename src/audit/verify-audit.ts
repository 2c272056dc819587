/**
 * Tamper evidence: recomputes a queue's archive hash chain and per-job sequence numbers and
 * reports the first record that is altered, missing or out of order.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../core/errors.js';
import { toQueueName } from '../core/keys.js';
import { chunkRecords, GENESIS_HASH, recordHash, type EventArchive } from '../history/archive.js';

/** Options of {@link verifyAudit}. */
export interface VerifyAuditOptions {
  /** First record number to check (1 = the start of the chain). @default 1 */
  fromN?: number;
  /** Last record number to check. @default the last record */
  toN?: number;
  /** Accepted for compatibility; records are read a chunk at a time. */
  batchSize?: number;
}

/** Result of {@link verifyAudit}. */
export interface AuditReport {
  queue: string;
  /** Records checked. */
  checked: number;
  /** True when every checked record is intact and in place. */
  ok: boolean;
  /** The first problem found. */
  broken?: {
    /** Record number where the chain breaks. */
    n: number;
    /** Stream id of the record, when there is one at that number. */
    id?: string;
    reason: string;
  };
}

/**
 * Walks the queue's archive from `fromN` in record order and checks, for each record: that its
 * number follows the previous one (nothing deleted), that `prev` is the previous record's hash
 * (nothing reordered or removed), that `hash` matches its content (nothing altered), and that its
 * job's sequence number follows that job's previous event (nothing lost per job).
 */
export async function verifyAudit(archive: EventArchive, queueName: string, options: VerifyAuditOptions = {}): Promise<AuditReport> {
  const queue = toQueueName(queueName);
  const fromN = options.fromN ?? 1;
  if (!Number.isInteger(fromN) || fromN < 1) throw new ValidationError('fromN', 'must be an integer >= 1');
  const toN = options.toN ?? Number.MAX_SAFE_INTEGER;
  let expectedN = fromN;
  let prevHash: string | undefined = fromN === 1 ? GENESIS_HASH : undefined;
  const jobSeq = new Map<string, number>();
  let checked = 0;
  const tail = await archive.tail(queue);
  const missing = (n: number, detail = ''): AuditReport => ({ queue, checked, ok: false, broken: { n, reason: `record missing${detail}` } });
  let k: number | undefined = 1;
  if (fromN > 1) {
    k = tail && fromN - 1 <= tail.record.n ? await archive.chunkOf(queue, fromN - 1, tail) : undefined;
    if (k === undefined) return missing(fromN - 1);
  }
  let next = archive.chunk(queue, k);
  for (; expectedN <= toN; k += 1) {
    const chunk = await next;
    if (!chunk) {
      if (tail && k <= tail.k) return missing(expectedN, ` (chunk ${k} is missing)`);
      break;
    }
    next = archive.chunk(queue, k + 1);
    next.catch(() => undefined); // awaited on the next turn, or dropped on return
    if (chunk.first > expectedN) return missing(expectedN, ` (chunk ${k} starts at record ${chunk.first})`);
    for (const r of chunkRecords(chunk)) {
      if (prevHash === undefined) {
        // Starting inside the chain: the record before fromN gives the hash to chain from.
        if (r.n < fromN - 1) continue;
        if (r.n !== fromN - 1) return missing(fromN - 1);
        prevHash = r.hash;
        continue;
      }
      if (r.n > toN) break;
      const fail = (reason: string): AuditReport => ({ queue, checked, ok: false, broken: { n: r.n, id: r.id, reason } });
      if (r.n !== expectedN) return missing(expectedN, ` (next present record is ${r.n})`);
      if (r.prev !== prevHash) return fail('prev does not match the hash of the previous record (reordered, inserted or replaced)');
      if (recordHash(r) !== r.hash) return fail('content does not match its hash (altered, or a record before it was reordered or replaced)');
      // A job id published again after its job was removed starts a new sequence.
      const seen = r.type === 'created' && r.seq === 1 ? undefined : jobSeq.get(r.jobId);
      if (seen !== undefined && r.seq !== seen + 1) return fail(`job ${r.jobId} sequence jumps from ${seen} to ${r.seq}`);
      if (seen === undefined && fromN === 1 && r.seq !== 1) return fail(`job ${r.jobId} starts at sequence ${r.seq}, not 1`);
      jobSeq.set(r.jobId, r.seq);
      prevHash = r.hash;
      expectedN += 1;
      checked += 1;
    }
  }
  if (prevHash === undefined) return missing(fromN - 1);
  if (options.toN !== undefined && expectedN <= options.toN) return missing(expectedN);
  return { queue, checked, ok: true };
}
