/**
 * The one module that owns every Redis key name.
 *
 * Every key of a queue starts with `sluice:{<queue>}:`. The `{<queue>}` hash tag puts a whole
 * queue in one Redis Cluster slot, so every Lua script touches one slot. Nothing else in the code
 * base concatenates key strings: scripts receive the keys they declare through KEYS.
 *
 * Queue names and job ids are validated here, at the boundary, before any key is built.
 *
 * @packageDocumentation
 */
import { ValidationError } from './errors.js';

/** The prefix of every Sluice key. */
export const KEY_PREFIX = 'sluice';

/** Longest accepted queue name. */
export const MAX_QUEUE_NAME_LENGTH = 100;
/** Longest accepted job id. */
export const MAX_JOB_ID_LENGTH = 200;

/** Number of priority lanes; lane 0 is the lowest priority, lane `PRIORITY_LEVELS - 1` the highest. */
export const PRIORITY_LEVELS = 5;

/**
 * Job states of the life cycle. `blocked` (waiting for prerequisite jobs) is last.
 */
export const JOB_STATES = ['delayed', 'waiting', 'active', 'completed', 'failed', 'dead', 'cancelled', 'blocked'] as const;
/** A job state. */
export type JobState = (typeof JOB_STATES)[number];

/**
/**
 * The states whose jobs the live (and shadow) read model lists in a state index of their own
 * ({@link stateKey}), in {@link JOB_STATES} order: every state but `waiting` and `active`.
 * Waiting jobs are exactly the members of the priority set ({@link priorityKey}), in dispatch
 * order. Active jobs are the pending entries of the lanes' consumer group, which Redis already
 * holds (read by src/queue/active.ts), so the fold writes no index for them.
 */
export const INDEXED_STATES = ['delayed', 'completed', 'failed', 'dead', 'cancelled', 'blocked'] as const;
/** A state with its own state index in the live read model (every state but `waiting` and `active`). */
export type IndexedState = (typeof INDEXED_STATES)[number];

/**
 * The states a time-travel read model ({@link asOfScriptKeyMap}) keeps a state index of: every
 * state but `waiting` (its priority set is the index of waiting jobs), `active` included: time
 * travel lists the jobs active at a past moment, which the lanes' pending entries cannot tell.
 */
export const AS_OF_INDEXED_STATES = ['delayed', 'active', 'completed', 'failed', 'dead', 'cancelled', 'blocked'] as const;

/** Most partitions of one partitioned queue (see `PartitionedQueue`); partition indexes are 0..MAX_PARTITIONS-1. */
export const MAX_PARTITIONS = 1024;

/**
 * The characters of a queue name, as a JSON-schema pattern (the HTTP schemas use it too): letters,
 * digits, `.`, `_`, `-`, starting with a letter or digit, and optionally one partition suffix
 * `#<n>` (a decimal index without leading zeros, at most 4 digits) naming partition `n` of a
 * partitioned queue. Whether `n` is below the queue's partition count is `PartitionedQueue`'s business.
 */
export const QUEUE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*(?:#(?:0|[1-9][0-9]{0,3}))?$';
const queueNamePattern = new RegExp(QUEUE_NAME_PATTERN);
// Job ids may contain ':' (e.g. `invoice:2024:17`); key parsing splits on the first delimiter only.
/** The characters of a job id, as a JSON-schema pattern (the HTTP schemas use it too). */
export const JOB_ID_PATTERN = '^[A-Za-z0-9._:@/+=-]+$';
const jobIdPattern = new RegExp(JOB_ID_PATTERN);

/** A validated queue name (letters, digits, `.`, `_`, `-`; starts with a letter or digit; may end with `#<partition>`). */
export type QueueName = string & { readonly __brand: 'QueueName' };
/** A validated job id (letters, digits and `._:@/+=-`). */
export type JobId = string & { readonly __brand: 'JobId' };

/**
 * Validates a queue name and returns it branded.
 * @throws {@link ValidationError} naming `field` when the name is empty, too long or has other characters.
 */
export function toQueueName(value: unknown, field = 'queue'): QueueName {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got ${typeName(value)}`);
  if (value.length === 0) throw new ValidationError(field, 'must not be empty');
  if (value.length > MAX_QUEUE_NAME_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_QUEUE_NAME_LENGTH} characters, got ${value.length}`);
  }
  if (!queueNamePattern.test(value)) {
    throw new ValidationError(
      field,
      `${JSON.stringify(clip(value))} may contain only letters, digits, '.', '_' and '-', must start with a letter or digit, ` +
        `and may end with one partition suffix '#<n>' (n a decimal index from 0 to ${MAX_PARTITIONS - 1}, no leading zeros)`,
    );
  }
  return value as QueueName;
}

/**
 * Validates a job id and returns it branded.
 * @throws {@link ValidationError} naming `field` when the id is empty, too long or has other characters.
 */
export function toJobId(value: unknown, field = 'jobId'): JobId {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got ${typeName(value)}`);
  if (value.length === 0) throw new ValidationError(field, 'must not be empty');
  if (value.length > MAX_JOB_ID_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_JOB_ID_LENGTH} characters, got ${value.length}`);
  }
  if (!jobIdPattern.test(value)) {
    throw new ValidationError(
      field,
      `${JSON.stringify(clip(value))} may contain only letters, digits and the characters ._:@/+=-`,
    );
  }
  return value as JobId;
}

/**
 * The physical queue name of partition `partition` of the partitioned queue `queue`: `<queue>#<partition>`.
 * @throws {@link ValidationError} when `queue` already carries a partition suffix or `partition` is out of range.
 */
export function partitionQueueName(queue: QueueName, partition: number): QueueName {
  if (queue.includes('#')) throw new ValidationError('queue', `${JSON.stringify(queue)} is already a partition; name the logical queue`);
  if (!Number.isInteger(partition) || partition < 0 || partition >= MAX_PARTITIONS) {
    throw new ValidationError('partition', `must be an integer from 0 to ${MAX_PARTITIONS - 1}, got ${String(partition)}`);
  }
  return toQueueName(`${queue}#${partition}`);
}

/** Splits `<queue>#<n>` into the logical queue and the partition index; `undefined` for an unpartitioned name. */
export function parsePartition(queue: QueueName): { queue: QueueName; partition: number } | undefined {
  const hash = queue.indexOf('#');
  if (hash < 0) return undefined;
  return { queue: queue.slice(0, hash) as QueueName, partition: Number(queue.slice(hash + 1)) };
}

/** Validates a priority lane number. */
export function toLane(value: unknown, field = 'priority'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= PRIORITY_LEVELS) {
    throw new ValidationError(field, `must be an integer from 0 to ${PRIORITY_LEVELS - 1}, got ${String(value)}`);
  }
  return value;
}

/** `sluice:{<queue>}:` — the prefix every key of the queue shares. */
export type QueuePrefix<Q extends string = string> = `${typeof KEY_PREFIX}:{${Q}}:`;

/** The prefix of every key of `queue`. */
export function queuePrefix(queue: QueueName): QueuePrefix {
  return `${KEY_PREFIX}:{${queue}}:`;
}

/** STREAM — the event log: every job transition, append-only, trimmed only below the archived point. */
export function eventsKey(queue: QueueName): string {
  return `${queuePrefix(queue)}events`;
}

/** STREAM — dispatch stream of one priority lane, consumer group {@link CONSUMER_GROUP}. */
export function laneKey(queue: QueueName, lane: number): string {
  return `${queuePrefix(queue)}lane:${toLane(lane, 'lane')}`;
}

/** Every lane key of the queue, highest priority first (the order workers read them in). */
export function laneKeys(queue: QueueName): string[] {
  const keys: string[] = [];
  for (let lane = PRIORITY_LEVELS - 1; lane >= 0; lane--) keys.push(laneKey(queue, lane));
  return keys;
}

/** ZSET — job id → due time in ms (delays, retry backoff, schedules). */
export function delayedKey(queue: QueueName): string {
  return `${queuePrefix(queue)}delayed`;
}

/** HASH — projection: the job's current state. */
export function jobKey(queue: QueueName, jobId: JobId): `${QueuePrefix}job:${string}` {
  return `${queuePrefix(queue)}job:${jobId}`;
}

/**
/**
 * ZSET — projection: job ids in one state, scored by the time they entered it (ms). Kept for the
 * {@link INDEXED_STATES} only: waiting jobs are the members of {@link priorityKey}, active jobs
 * the lanes' pending entries (src/queue/active.ts).
 */
export function stateKey(queue: QueueName, state: IndexedState): string {
  return `${queuePrefix(queue)}state:${state}`;
}

/**
 * ZSET — projection: the waiting jobs (the index of state `waiting`), scored by
 * {@link priorityScore}: highest priority first, then arrival.
 */
export function priorityKey(queue: QueueName): string {
  return `${queuePrefix(queue)}priority`;
}

/**
 * The score span of one priority lane in {@link priorityKey}: lane `p` holds scores
 * `(PRIORITY_LEVELS - 1 - p) * PRIORITY_BAND + time`.
 */
export const PRIORITY_BAND = 1e13;

/** The score of a job of priority `priority` that entered `waiting` at `time` (ms) in {@link priorityKey}. */
export function priorityScore(priority: number, time: number): number {
  return (PRIORITY_LEVELS - 1 - priority) * PRIORITY_BAND + time;
}

/**
 * ZSET — the index of the jobs in `state`: {@link stateKey}, or {@link priorityKey} for `waiting`.
 * Ascending order is oldest first, except for `waiting`: dispatch order (highest priority first,
 * then arrival), and its scores are {@link priorityScore}s, not times. `active` has no index
 * (its jobs are the lanes' pending entries, src/queue/active.ts).
 */
export function stateIndexKey(queue: QueueName, state: Exclude<JobState, 'active'>): string {
  return state === 'waiting' ? priorityKey(queue) : stateKey(queue, state);
}

/**
 * ZSET — the index of state `waiting` written by versions before the priority set served it.
 * Nothing reads it; `rebuild` deletes it. Named here only so that it can be deleted.
 */
export function legacyWaitingStateKey(queue: QueueName): string {
  return `${queuePrefix(queue)}state:waiting`;
}

/**
 * ZSET — the index of state `active` written by versions before the active jobs were read from
 * the lanes' pending entries (src/queue/active.ts). Nothing reads it; `rebuild` deletes it.
 * Named here only so that it can be deleted.
 */
export function legacyActiveStateKey(queue: QueueName): string {
  return `${queuePrefix(queue)}state:active`;
}

/** HASH — projection: number of jobs per state, plus totals per event type. */
export function countsKey(queue: QueueName): string {
  return `${queuePrefix(queue)}counts`;
}

/** HASH — queue configuration and the pause flag. */
export function metaKey(queue: QueueName): string {
  return `${queuePrefix(queue)}meta`;
}

/**
 * STRING — the partition count N of the partitioned queue `queue` (whose partitions are the queues
 * `<queue>#0` … `<queue>#N-1`). Written once by the first `PartitionedQueue` or `PartitionedWorker`;
 * later opens with another N are refused.
 */
export function partitionsKey(queue: QueueName): string {
  return `${queuePrefix(queue)}partitions`;
}

/**
 * STRING — lease of the payload sweep: the id of the worker running it, with a TTL of the sweep
 * interval, so one worker per interval sweeps the queue's payloads (src/payloads/sweep.ts).
 */
export function payloadSweepKey(queue: QueueName): string {
  return `${queuePrefix(queue)}payloads:sweep`;
}

/** ZSET — worker id → last time (ms) the worker was seen alive. */
export function workersKey(queue: QueueName): string {
  return `${queuePrefix(queue)}workers`;
}

/** Prefix of every job hash of the queue; scripts that discover job ids build job keys from it. */
export function jobKeyPrefix(queue: QueueName): `${QueuePrefix}job:` {
  return `${queuePrefix(queue)}job:`;
}

/** Prefix of the dedupe keys: STRING `dedupe:<key>` → id of the job holding the key (dispatch state). */
export function dedupePrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}dedupe:`;
}

/** ZSET — the queue's rate-limit log: attempt token → claim time (ms); holds at most the limit's N entries. */
export function limiterKey(queue: QueueName): string {
  return `${queuePrefix(queue)}limiter`;
}

/** ZSET — groups that have waiting jobs and may run one now, scored by their virtual pass (fair dispatch). */
export function groupsKey(queue: QueueName): string {
  return `${queuePrefix(queue)}groups`;
}

/** HASH — per-group dispatch counters: `active:<group>`, `pass:<group>`, and the virtual time `vt`. */
export function groupStateKey(queue: QueueName): string {
  return `${queuePrefix(queue)}groups:state`;
}

/** ZSET — groups held back by their rate limit → the time (ms) they may run again. */
export function groupsParkedKey(queue: QueueName): string {
  return `${queuePrefix(queue)}groups:parked`;
}

/** Prefix of the per-group wait lists: LIST `gwait:<group>` of waiting job ids, in arrival order. */
export function groupWaitPrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}gwait:`;
}

/** Prefix of the per-group rate-limit logs: ZSET `glimit:<group>` of attempt token → claim time. */
export function groupLimitPrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}glimit:`;
}

/**
 * STREAM — dispatch stream of grouped jobs (consumer group {@link CONSUMER_GROUP}). Claim adds an
 * entry and reads it in the same script, so the entry only exists to hold the attempt's lease in
 * the pending list.
 */
export function groupLaneKey(queue: QueueName): string {
  return `${queuePrefix(queue)}lane:g`;
}

/** Prefix of the SETs `deps:<jobId>`: the job's unresolved prerequisites, as `<queue>|<jobId>`. */
export function depsPrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}deps:`;
}

/** Prefix of the SETs `dependents:<jobId>`: jobs waiting for this one, as `<queue>|<jobId>`. */
export function dependentsPrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}dependents:`;
}

/** STREAM — outcomes of this queue's jobs owed to dependants in other queues (relayed by workers). */
export function flowOutboxKey(queue: QueueName): string {
  return `${queuePrefix(queue)}flow:outbox`;
}

/** ZSET — repeatable job key → next due time (ms). */
export function repeatKey(queue: QueueName): string {
  return `${queuePrefix(queue)}repeat`;
}

/** Prefix of the HASHes `repeat:<key>`: one repeatable job's schedule and template. */
export function repeatPrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}repeat:`;
}

/** STREAM (capped at one entry) — wakes blocked workers when work appears outside the lanes (grouped jobs). */
export function wakeKey(queue: QueueName): string {
  return `${queuePrefix(queue)}wake`;
}

/**
 * SET — attempt tokens of lane entries that were deleted while pending (a fault: something
 * XDEL'd or trimmed a lane), found by the reaper and not yet settled: src/consumers/loops/reaper.ts
 * finds the active jobs holding them and settles them `lost` (src/events/lua/loseEntries.lua).
 * Empty, hence absent, in normal operation.
 */
export function lostEntriesKey(queue: QueueName): string {
  return `${queuePrefix(queue)}lost`;
}

/**
 * The keys a Sluice Lua script may name, by the field of the scripts' `K` table they fill
 * (src/events/lua/includes/keys.lua). `lanes` stands for the {@link PRIORITY_LEVELS} lane
 * streams (lane 0 first) and `states` for the state indexes of the read model, in
 * {@link JOB_STATES} order (the live and shadow read models: {@link INDEXED_STATES}, no `waiting`
 * (its jobs are the members of `priority`) and no `active`; a time-travel one:
 * {@link AS_OF_INDEXED_STATES}). `states` is last, so its keys end each block of KEYS; the
 * scripts tell which states they index by their number (STATE_LAYOUTS, scripts/gen-lua.ts).
 * Each script declares the names it touches in a `--- @keys` header line; the gateway
 * (src/events/scripts.ts) passes exactly those keys, in the order of this list.
 */
export const SCRIPT_KEY_NAMES = [
  'events',
  'meta',
  'counts',
  'priority',
  'delayed',
  'jobPrefix',
  'workers',
  'dedupePrefix',
  'limiter',
  'groups',
  'groupState',
  'groupsParked',
  'groupWaitPrefix',
  'groupLimitPrefix',
  'groupLane',
  'depsPrefix',
  'dependentsPrefix',
  'outbox',
  'repeatIndex',
  'repeatPrefix',
  'wake',
  'lostEntries',
  'lanes',
  'states',
] as const;
/** A name of {@link SCRIPT_KEY_NAMES}. */
export type ScriptKeyName = (typeof SCRIPT_KEY_NAMES)[number];

/**
 * Every key a script of `queue` may receive, by name (see {@link SCRIPT_KEY_NAMES}). The
 * prefixes (`jobPrefix`, `dedupePrefix`, …) are not keys: scripts build key names from them and
 * ids they read; they carry the queue's hash tag, so cluster routing still sees the right slot.
 */
export type ScriptKeyMap = { readonly [N in Exclude<ScriptKeyName, 'lanes' | 'states'>]: string } & {
  readonly lanes: readonly string[];
  readonly states: readonly string[];
};

/** The keys of `queue` its scripts may receive, the read models being the live ones. */
export function scriptKeyMap(queue: QueueName): ScriptKeyMap {
  return {
    events: eventsKey(queue),
    meta: metaKey(queue),
    counts: countsKey(queue),
    priority: priorityKey(queue),
    delayed: delayedKey(queue),
    jobPrefix: jobKeyPrefix(queue),
    workers: workersKey(queue),
    dedupePrefix: dedupePrefix(queue),
    limiter: limiterKey(queue),
    groups: groupsKey(queue),
    groupState: groupStateKey(queue),
    groupsParked: groupsParkedKey(queue),
    groupWaitPrefix: groupWaitPrefix(queue),
    groupLimitPrefix: groupLimitPrefix(queue),
    groupLane: groupLaneKey(queue),
    depsPrefix: depsPrefix(queue),
    dependentsPrefix: dependentsPrefix(queue),
    outbox: flowOutboxKey(queue),
    repeatIndex: repeatKey(queue),
    repeatPrefix: repeatPrefix(queue),
    wake: wakeKey(queue),
    lostEntries: lostEntriesKey(queue),
    lanes: Array.from({ length: PRIORITY_LEVELS }, (_, lane) => laneKey(queue, lane)),
    states: INDEXED_STATES.map((state) => stateKey(queue, state)),
  };
}

/** Every key of {@link scriptKeyMap}, flattened in {@link SCRIPT_KEY_NAMES} order. */
export function scriptKeys(queue: QueueName): string[] {
  return flattenScriptKeys(scriptKeyMap(queue), SCRIPT_KEY_NAMES);
}

/** The keys of `map` named by `names`, in that order (`lanes` and `states` expand to their lists). */
export function flattenScriptKeys(map: ScriptKeyMap, names: readonly ScriptKeyName[]): string[] {
  const keys: string[] = [];
  for (const name of names) {
    const value = map[name];
    if (typeof value === 'string') keys.push(value);
    else keys.push(...value);
  }
  return keys;
}

/**
 * How many keys `names` stand for in a live or shadow key map (`lanes` and `states` expand to
 * their lists; a time-travel map has one more state index).
 */
export function scriptKeyCount(names: readonly ScriptKeyName[]): number {
  let n = 0;
  for (const name of names) n += name === 'lanes' ? PRIORITY_LEVELS : name === 'states' ? INDEXED_STATES.length : 1;
  return n;
}

/**
 * `map` with its read-model keys (counts, priority, job hashes, the indexes of `states`) under
 * `prefix`.
 */
function readModelAt(map: ScriptKeyMap, prefix: string, states: readonly Exclude<JobState, 'waiting'>[]): ScriptKeyMap {
  return {
    ...map,
    counts: `${prefix}counts`,
    priority: `${prefix}priority`,
    jobPrefix: `${prefix}job:`,
    states: states.map((state) => `${prefix}state:${state}`),
  };
}

/**
 * The script keys pointed at the shadow read model that `rebuild` and `verify` replay the log
 * into: the projection keys (counts, priority, job hashes, state indexes) live under
 * `sluice:{<queue>}:shadow:`; the log, meta, delayed set, workers, lanes and every other
 * dispatch key are the live ones (the fold never writes them).
 */
export function shadowScriptKeyMap(queue: QueueName): ScriptKeyMap {
  return readModelAt(scriptKeyMap(queue), shadowPrefix(queue), INDEXED_STATES);
}

/**
 * The script keys pointed at a private read model of one time-travel run
 * (`sluice:{<queue>}:asof:<run>:`): like {@link shadowScriptKeyMap}, only the projection keys
 * move, and it indexes the {@link AS_OF_INDEXED_STATES}, `active` too: time travel lists the
 * jobs active at a past moment, which the lanes' pending entries cannot tell.
 */
export function asOfScriptKeyMap(queue: QueueName, run: string): ScriptKeyMap {
  return readModelAt(scriptKeyMap(queue), asOfPrefix(queue, run), AS_OF_INDEXED_STATES);
}

/** Prefix of the keys of one time-travel run (see {@link asOfScriptKeyMap}). */
export function asOfPrefix(queue: QueueName, run: string): string {
  return `${queuePrefix(queue)}asof:${run}:`;
}

/** Prefix of every shadow read-model key (see {@link shadowScriptKeyMap}). */
export function shadowPrefix(queue: QueueName): string {
  return `${queuePrefix(queue)}shadow:`;
}

/** STRING — lock held while a rebuild or verify uses the shadow read model. */
export function shadowLockKey(queue: QueueName): string {
  return `${shadowPrefix(queue)}lock`;
}

/**
 * HASH — a user projection's durable checkpoint: `id` (last stream id folded) and `version`.
 * The name is validated like a queue name.
 */
export function checkpointKey(queue: QueueName, projection: string): string {
  return `${queuePrefix(queue)}checkpoint:${toQueueName(projection, 'projection')}`;
}

/** SET — every queue name that has been published to (global key, no hash tag: never used inside a script). */
export const QUEUES_KEY = `${KEY_PREFIX}:queues`;

/** Name of the consumer group on every lane stream. */
export const CONSUMER_GROUP = 'workers';

/**
 * Parses a job key back into its queue and job id. Splits on the first `}:job:` only, so job
 * ids that contain `:` survive the round trip.
 * @returns `undefined` when `key` is not a Sluice job key.
 */
export function fromJobKey(key: string): { queue: QueueName; jobId: JobId } | undefined {
  const open = `${KEY_PREFIX}:{`;
  if (!key.startsWith(open)) return undefined;
  const close = key.indexOf('}:job:', open.length);
  if (close < 0) return undefined;
  try {
    return {
      queue: toQueueName(key.slice(open.length, close)),
      jobId: toJobId(key.slice(close + '}:job:'.length)),
    };
  } catch {
    return undefined;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
