/**
 * Scripts of the background tasks and the read-model tools: reap.lua, loseEntries.lua, promote.lua,
 * applyRetention.lua, trimEvents.lua, applyEvents.lua, swapProjection.lua and verifyProjection.lua.
 */
import type { ScriptTime } from '../../core/clock.js';
import type { QueueName, ScriptKeyMap } from '../../core/keys.js';
import type { RedisClient } from '../../redis/connection.js';
import { runScript } from '../scripts.js';
import type { EventType } from '../types.js';
import { array, badReply, integer, text } from './reply.js';

/** Input of {@link reapLeases}. */
export interface ReapInput {
  /** Consumer name of the reaper. */
  consumer: string;
  /** Lease: the idle time (ms) after which an attempt is taken back. */
  leaseMs: number;
  /** Most entries to take per lane. */
  count: number;
  /** Idle time (ms) after which a consumer with nothing pending is deleted (undefined: never). */
  pruneConsumersAfterMs?: number | undefined;
}

/** What {@link reapLeases} did. */
export interface ReapResult {
  requeued: number;
  deadLettered: number;
  staleEntries: number;
  prunedConsumers: number;
  /**
   * Attempt tokens of lane entries deleted while pending (found by this call or an earlier one)
   * whose jobs are not settled yet: settle them with src/consumers/lost-entries.ts. Empty unless
   * something XDEL'd or trimmed a lane.
   */
  lostTokens: string[];
}

/**
 * reap.lua: takes back attempts whose lease expired (appends `timed-out` or `dead-lettered`) and
 * reports the tokens of entries deleted while pending (see {@link ReapResult.lostTokens}).
 */
export async function reapLeases(redis: RedisClient, queue: QueueName, now: ScriptTime, input: ReapInput): Promise<ReapResult> {
  const reply = array('reap', await runScript(redis, 'reap', queue, now, [input.consumer, input.leaseMs, input.count, input.pruneConsumersAfterMs ?? '']));
  if (reply.length < 4) throw badReply('reap', '4 counts and the lost tokens', reply);
  const [requeued, deadLettered, staleEntries, prunedConsumers] = reply.slice(0, 4).map((n) => integer('reap', n)) as [number, number, number, number];
  return { requeued, deadLettered, staleEntries, prunedConsumers, lostTokens: reply.slice(4).map((t) => text('reap', t)) };
}

/**
 * loseEntries.lua: appends `lost` and `dead-lettered` for each job of `found` still active with
 * its token, then forgets `searched` (every token looked for) as unsettled. Returns the jobs settled.
 */
export async function loseEntries(
  redis: RedisClient,
  queue: QueueName,
  now: ScriptTime,
  searched: readonly string[],
  found: readonly { jobId: string; token: string }[],
): Promise<number> {
  const args: (string | number)[] = [searched.length, ...searched];
  for (const f of found) args.push(f.jobId, f.token);
  return integer('loseEntries', await runScript(redis, 'loseEntries', queue, now, args));
}

/** promote.lua: promotes up to `limit` due delayed jobs; `nextDueMs` is the earliest still delayed, or -1. */
export async function promoteDue(redis: RedisClient, queue: QueueName, now: ScriptTime, limit: number): Promise<{ promoted: number; nextDueMs: number }> {
  const reply = array('promote', await runScript(redis, 'promote', queue, now, [limit]));
  if (reply.length !== 2) throw badReply('promote', '{ promoted, nextDueMs }', reply);
  return { promoted: integer('promote', reply[0]), nextDueMs: integer('promote', reply[1]) };
}

/** Default age and count limits of one finished state (a queue's own policy in its meta hash wins). */
export interface RetentionLimits {
  maxAgeMs: number;
  maxCount: number;
}

/** applyRetention.lua: removes up to `limit` finished jobs beyond the retention policy (appends `removed`). */
export async function removeExpired(
  redis: RedisClient,
  queue: QueueName,
  now: ScriptTime,
  limit: number,
  defaults: { completed: RetentionLimits; dead: RetentionLimits; cancelled: RetentionLimits },
): Promise<{ completed: number; dead: number; cancelled: number }> {
  const { completed: c, dead: d, cancelled: x } = defaults;
  const reply = array('applyRetention', await runScript(redis, 'applyRetention', queue, now, [limit, c.maxAgeMs, c.maxCount, d.maxAgeMs, d.maxCount, x.maxAgeMs, x.maxCount]));
  if (reply.length !== 3) throw badReply('applyRetention', '3 counts', reply);
  return { completed: integer('applyRetention', reply[0]), dead: integer('applyRetention', reply[1]), cancelled: integer('applyRetention', reply[2]) };
}

/** trimEvents.lua: trims the event stream below `lastArchivedId` (held back during a replay); returns entries removed. */
export async function trimEvents(redis: RedisClient, queue: QueueName, now: ScriptTime, lastArchivedId: string): Promise<number> {
  return integer('trimEvents', await runScript(redis, 'trimEvents', queue, now, [lastArchivedId]));
}

/** One event to fold, as it was appended. */
export interface FoldEvent {
  type: EventType;
  data: unknown;
  metadata: unknown;
}

/**
 * applyEvents.lua: folds `events` into the read model `keys` names (a shadow or time-travel
 * read model, see src/core/keys.ts); appends nothing.
 */
export async function applyEvents(redis: RedisClient, queue: QueueName, now: ScriptTime, keys: ScriptKeyMap, events: readonly FoldEvent[]): Promise<number> {
  const args: (string | number)[] = [events.length];
  for (const e of events) args.push(e.type, JSON.stringify(e.data), JSON.stringify(e.metadata));
  return integer('applyEvents', await runScript(redis, 'applyEvents', queue, now, args, [keys]));
}

/** How a replay's final step ended: done, or nothing changed because the history did not add up. */
export type ReplayFinish<T> =
  | ({ status: 'ok' } & T)
  /** Entries after the replay's last id were trimmed (archived) since it read them: replay more. */
  | { status: 'behind'; firstId: string }
  /** The history replayed is not the stream's (a gap or a foreign archive). */
  | { status: 'mismatch'; folded: number; appended: number };

function replayFinish<T>(name: 'swapProjection' | 'verifyProjection', reply: unknown[], ok: () => T): ReplayFinish<T> {
  switch (reply[0]) {
    case 'ok':
      return { status: 'ok', ...ok() };
    case 'behind':
      return { status: 'behind', firstId: text(name, reply[1]) };
    case 'mismatch':
      return { status: 'mismatch', folded: integer(name, reply[1]), appended: integer(name, reply[2]) };
    default:
      throw badReply(name, "'ok' | 'behind' | 'mismatch'", reply);
  }
}

/** The replay a final step completes: the id of the last entry folded ('0-0' for none) and how many. */
export interface ReplayPoint {
  lastId: string;
  replayed: number;
}

/**
 * swapProjection.lua: folds the entries appended since the replay into the shadow read model,
 * then swaps it in for the live one, atomically.
 */
export async function swapProjection(
  redis: RedisClient,
  queue: QueueName,
  now: ScriptTime,
  keys: { live: ScriptKeyMap; shadow: ScriptKeyMap },
  point: ReplayPoint,
): Promise<ReplayFinish<{ caughtUp: number; jobs: number }>> {
  const reply = array('swapProjection', await runScript(redis, 'swapProjection', queue, now, [point.lastId, point.replayed], [keys.live, keys.shadow]));
  return replayFinish('swapProjection', reply, () => ({ caughtUp: integer('swapProjection', reply[1]), jobs: integer('swapProjection', reply[2]) }));
}

/**
 * verifyProjection.lua: folds the entries appended since the replay into the shadow read model,
 * then compares it with the live one; reports at most `maxDifferences` differences.
 */
export async function verifyProjection(
  redis: RedisClient,
  queue: QueueName,
  now: ScriptTime,
  keys: { live: ScriptKeyMap; shadow: ScriptKeyMap },
  point: ReplayPoint & { maxDifferences: number },
): Promise<ReplayFinish<{ caughtUp: number; jobsCompared: number; differences: string[] }>> {
  const reply = array(
    'verifyProjection',
    await runScript(redis, 'verifyProjection', queue, now, [point.lastId, point.maxDifferences, point.replayed], [keys.live, keys.shadow]),
  );
  return replayFinish('verifyProjection', reply, () => ({
    caughtUp: integer('verifyProjection', reply[1]),
    jobsCompared: integer('verifyProjection', reply[2]),
    differences: reply.slice(3).map((d) => text('verifyProjection', d)),
  }));
}
