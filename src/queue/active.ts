/**
 * The active jobs of a queue, read from what Redis already holds instead of a state index: the
 * pending entries (PEL) of the lanes' consumer group `workers` — the five priority lanes and the
 * group lane, whose attempt tokens are `g<entry id>`. An attempt's token is its lane entry's id
 * and the entry's field `j` names the job, so the active jobs are the jobs those entries name
 * whose hash says `active` with that token (an entry of an attempt that ended an instant ago and
 * is not yet acknowledged is skipped). The fold keeps no `state:active` index (see
 * src/projections/lua/fold.lua): claiming and finishing a job write one sorted set less.
 *
 * The set is read whole on each call: it is bounded by the workers' concurrency (every active
 * job holds one pending entry), so each call costs three pipelined round trips of O(active jobs)
 * commands (XPENDING per lane, XRANGE per entry, HGETALL per job).
 *
 * An active job whose pending entry was deleted (something XDEL'd or trimmed a lane: the `lost`
 * fault) is named by no entry and is not listed; the reaper settles it `lost` once its lease
 * runs out (src/consumers/lost-entries.ts).
 *
 * @packageDocumentation
 */
import { groupLaneKey, jobKey, laneKeys, toJobId, type QueueName } from '../core/keys.js';
import { parseJobHash, type Job } from '../projections/job.js';
import type { RedisClient } from '../redis/connection.js';

/** The consumer group of the lanes. */
const GROUP = 'workers';

/** One active job and when its attempt was claimed (ms since the epoch). */
export interface ActiveJob {
  job: Job;
  claimedAt: number;
}

/**
 * Every active job of `queue`, oldest claim first (ties by job id), as the state index ordered
 * them. See the module comment for how they are found and what that costs.
 */
export async function activeJobs(redis: RedisClient, queue: QueueName): Promise<ActiveJob[]> {
  const streams = [...laneKeys(queue).map((key) => ({ key, prefix: '' })), { key: groupLaneKey(queue), prefix: 'g' }];
  const pending = redis.pipeline();
  for (const { key } of streams) pending.xpending(key, GROUP, '-', '+', 1_000_000_000);
  const pendingReplies = (await pending.exec()) ?? [];
  const entries: { key: string; id: string; token: string }[] = [];
  for (const [i, [error, reply]] of pendingReplies.entries()) {
    const stream = streams[i] as { key: string; prefix: string };
    if (error) {
      // No lane stream or no group yet: nothing is pending there.
      if (/NOGROUP|no such key/i.test(error.message)) continue;
      throw error;
    }
    for (const p of reply as [string, ...unknown[]][]) entries.push({ key: stream.key, id: p[0], token: `${stream.prefix}${p[0]}` });
  }
  if (entries.length === 0) return [];
  const ranges = redis.pipeline();
  for (const e of entries) ranges.xrange(e.key, e.id, e.id);
  const rangeReplies = (await ranges.exec()) ?? [];
  const held: { jobId: string; token: string }[] = [];
  for (const [i, [error, reply]] of rangeReplies.entries()) {
    if (error) throw error;
    const entry = (reply as [string, string[]][])[0];
    const fields = entry?.[1] ?? [];
    const at = fields.indexOf('j');
    // A deleted entry (the `lost` fault) names no job.
    if (at < 0 || at % 2 !== 0 || fields[at + 1] === undefined) continue;
    held.push({ jobId: fields[at + 1] as string, token: (entries[i] as { token: string }).token });
  }
  const hashes = redis.pipeline();
  for (const h of held) hashes.hgetall(jobKey(queue, toJobId(h.jobId)));
  const hashReplies = (await hashes.exec()) ?? [];
  const out: ActiveJob[] = [];
  for (const [i, [error, reply]] of hashReplies.entries()) {
    if (error) throw error;
    const hash = reply as Record<string, string>;
    if (hash.state !== 'active' || hash.token !== (held[i] as { token: string }).token) continue;
    const job = parseJobHash(queue, hash);
    if (job) out.push({ job, claimedAt: Number(hash.claimedAt ?? 0) });
  }
  return out.sort((a, b) => a.claimedAt - b.claimedAt || (a.job.id < b.job.id ? -1 : a.job.id > b.job.id ? 1 : 0));
}
