/**
 * Tamper evidence: recomputes a queue's archive hash chain and per-job sequence numbers and
 * reports the first record that is altered, missing or out of order.
 *
 * @packageDocumentation
 */
import { ValidationError } from '../errors.js';
import { toQueueName } from '../keys.js';
import { GENESIS_HASH, recordHash, type EventArchive } from './archive.js';

/** Options of {@link verifyAudit}. */
export interface VerifyAuditOptions {
  /** First record number to check (1 = the start of the chain). @default 1 */
  fromN?: number;
  /** Last record number to check. @default the last record */
  toN?: number;
  /** Records per cursor batch. @default 5000 */
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
  const batchSize = options.batchSize ?? 5000;
  if (!Number.isInteger(fromN) || fromN < 1) throw new ValidationError('fromN', 'must be an integer >= 1');
  const toN = options.toN ?? Number.MAX_SAFE_INTEGER;
  let expectedN = fromN;
  let prevHash: string | undefined;
  if (fromN === 1) prevHash = GENESIS_HASH;
  else {
    const before = await archive.collection.findOne({ queue, n: fromN - 1 });
    if (!before) return { queue, checked: 0, ok: false, broken: { n: fromN - 1, reason: 'record missing' } };
    prevHash = before.hash;
  }
  const jobSeq = new Map<string, number>();
  let checked = 0;
  const cursor = archive.collection
    .find({ queue, n: { $gte: expectedN, $lte: toN } })
    .sort({ n: 1 })
    .batchSize(batchSize);
  try {
    for await (const r of cursor) {
      const fail = (reason: string): AuditReport => ({ queue, checked, ok: false, broken: { n: r.n, id: r.id, reason } });
      if (r.n !== expectedN) {
        return { queue, checked, ok: false, broken: { n: expectedN, reason: `record missing (next present record is ${r.n})` } };
      }
      if (r.prev !== prevHash) return fail('prev does not match the hash of the previous record (reordered, inserted or replaced)');
      if (recordHash(r) !== r.hash) return fail('content does not match its hash (altered)');
      // A job id published again after its job was removed starts a new sequence.
      const seen = r.type === 'created' && r.seq === 1 ? undefined : jobSeq.get(r.jobId);
      if (seen !== undefined && r.seq !== seen + 1) return fail(`job ${r.jobId} sequence jumps from ${seen} to ${r.seq}`);
      if (seen === undefined && fromN === 1 && r.seq !== 1) return fail(`job ${r.jobId} starts at sequence ${r.seq}, not 1`);
      jobSeq.set(r.jobId, r.seq);
      prevHash = r.hash;
      expectedN += 1;
      checked += 1;
    }
  } finally {
    await cursor.close();
  }
  if (options.toN !== undefined && expectedN <= options.toN) {
    return { queue, checked, ok: false, broken: { n: expectedN, reason: 'record missing' } };
  }
  return { queue, checked, ok: true };
}
