/**
 * Scrape-time collection of the queue-wide figures: per queue, one pipelined round trip reads
 * the counts hash (jobs per state, events per type), the pause flag, the event log's XINFO
 * STREAM, the live workers (ZCOUNT), the oldest waiting job (the first entry of each priority
 * band of the priority set, ZRANGEBYSCORE … LIMIT 0 1, against Redis's TIME) and, per lane, the
 * consumer group's XINFO GROUPS and XLEN.
 *
 * Cost is bounded however many queues exist: at most `maxQueues` queues per collection (sorted
 * by name, the rest counted as omitted), at most `concurrency` pipelines in flight, each queue
 * bounded by `timeoutMs`, concurrent scrapes share one collection, and a collection younger than
 * `maxAgeMs` is reused. A failing queue is left out of that scrape and counted; a collection never
 * rejects, so `/metrics` keeps serving the in-process metrics while Redis is down.
 *
 * @packageDocumentation
 */
import { systemClock, type Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { RedisClient } from '../redis/connection.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import {
  countsKey,
  eventsKey,
  JOB_STATES,
  laneKey,
  metaKey,
  PRIORITY_BAND,
  PRIORITY_LEVELS,
  priorityKey,
  priorityScore,
  QUEUES_KEY,
  toQueueName,
  workersKey,
  CONSUMER_GROUP,
  type JobState,
  type QueueName,
} from '../core/keys.js';

/** Consumer-group figures of one priority lane. */
export interface LaneSnapshot {
  /** Lane number, 0 (lowest priority) .. 4. */
  readonly lane: number;
  /** Entries not yet delivered to the group. */
  readonly lag: number;
  /** Entries delivered and not yet acknowledged (attempts in flight). */
  readonly pending: number;
}

/** The queue-wide figures of one queue at one moment. */
export interface QueueSnapshot {
  readonly queue: QueueName;
  readonly paused: boolean;
  /** Jobs per state, from the counts hash. */
  readonly states: Readonly<Record<JobState, number>>;
  /** Events appended per type since the queue was created, from the counts hash. */
  readonly events: Readonly<Record<EventType, number>>;
  /** Lanes 0..4. */
  readonly lanes: readonly LaneSnapshot[];
  /** Entries in the live event log stream. */
  readonly eventLogEntries: number;
  /** Events ever appended to the stream (XINFO STREAM entries-added; survives trimming). */
  readonly eventsAdded: number;
  /** Events the archiver reports as archived (0 without an archiver). */
  readonly archivedEvents: number;
  /** Workers seen within the live window. */
  readonly workersLive: number;
  /**
   * Seconds since the oldest waiting job entered the waiting state (the least time across the
   * priority bands of the priority set), measured on Redis's clock; 0 when no job waits.
   */
  readonly oldestWaitingAgeSeconds: number;
}

/** The result of one collection. */
export interface CollectionSnapshot {
  /** When the collection started (ms, collector clock). */
  readonly at: number;
  readonly queues: readonly QueueSnapshot[];
  /** Queues left out because of `maxQueues`. */
  readonly omitted: number;
  /** Wall time the collection took, in seconds. */
  readonly durationSeconds: number;
}

/**
 * Progress of an archiver, for the archive lag gauge. Called once per queue per collection;
 * keep it cheap (a cached value or one Redis read).
 */
export interface ArchiveProgress {
  /** Number of the queue's events archived so far (counted like XINFO STREAM entries-added). */
  archivedEvents(queue: QueueName): Promise<number> | number;
}

/** Options of {@link QueueStatsCollector}. */
export interface QueueStatsCollectorOptions {
  /** Connection the figures are read through. The caller owns it and closes it. */
  redis: RedisClient;
  /**
   * Queues to report.
   * @default every queue in the `sluice:queues` set, discovered at each collection
   */
  queues?: readonly string[];
  /**
   * Most queues per collection; the others (by name order) are omitted and counted.
   * @default 100
   */
  maxQueues?: number;
  /**
   * Pipelines (one per queue) in flight at once.
   * @default 8
   */
  concurrency?: number;
  /**
   * A collection younger than this is reused by the next scrape (concurrent scrapes always
   * share the collection in flight).
   * @default 1000
   */
  maxAgeMs?: number;
  /**
   * How long one queue's round trip may take before that queue is left out of the scrape.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * A worker counts as live when it claimed or sent a heartbeat within this window.
   * @default 60000
   */
  liveWorkerWindowMs?: number;
  /**
   * Archiver progress for the archive lag gauge.
   * @default none: nothing is archived yet, so the lag is every event ever appended
   */
  archive?: ArchiveProgress;
  /** @default the system clock */
  clock?: Clock;
}

const COMMANDS_PER_QUEUE = 5 + 3 * PRIORITY_LEVELS;

/** Reads the queue-wide figures from Redis at scrape time (see the module comment for the bounds). */
export class QueueStatsCollector {
  private readonly redis: RedisClient;
  private readonly queues: readonly QueueName[] | undefined;
  private readonly maxQueues: number;
  private readonly concurrency: number;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;
  private readonly liveWorkerWindowMs: number;
  private readonly archive: ArchiveProgress | undefined;
  private readonly clock: Clock;
  private last: CollectionSnapshot | undefined;
  private inflight: Promise<CollectionSnapshot> | undefined;
  private errors = 0;

  constructor(options: QueueStatsCollectorOptions) {
    this.redis = options.redis;
    this.queues = options.queues?.map((q, i) => toQueueName(q, `queues[${i}]`));
    this.maxQueues = positiveInteger('maxQueues', options.maxQueues ?? 100);
    this.concurrency = positiveInteger('concurrency', options.concurrency ?? 8);
    this.maxAgeMs = nonNegative('maxAgeMs', options.maxAgeMs ?? 1000);
    this.timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 5000);
    this.liveWorkerWindowMs = positiveInteger('liveWorkerWindowMs', options.liveWorkerWindowMs ?? 60_000);
    this.archive = options.archive;
    this.clock = options.clock ?? systemClock;
  }

  /** Queue collections that failed since this collector was created. */
  get errorCount(): number {
    return this.errors;
  }

  /** The last finished collection, if any. */
  get lastSnapshot(): CollectionSnapshot | undefined {
    return this.last;
  }

  /** A fresh enough collection: the one in flight, the last one when younger than `maxAgeMs`, or a new one. Never rejects. */
  snapshot(): Promise<CollectionSnapshot> {
    const last = this.last;
    if (last && this.clock.now() - last.at < this.maxAgeMs) return Promise.resolve(last);
    this.inflight ??= this.collect().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async collect(): Promise<CollectionSnapshot> {
    const at = this.clock.now();
    const started = performance.now();
    let names: QueueName[];
    try {
      names = this.queues ? [...this.queues] : await this.discover();
    } catch {
      this.errors++;
      names = [];
    }
    names.sort();
    const omitted = Math.max(0, names.length - this.maxQueues);
    const selected = names.slice(0, this.maxQueues);
    const results: (QueueSnapshot | undefined)[] = new Array<QueueSnapshot | undefined>(selected.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < selected.length) {
        const i = next++;
        try {
          results[i] = await withTimeout(this.readQueue(selected[i] as QueueName, at), this.timeoutMs);
        } catch {
          this.errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, selected.length) }, lane));
    const snapshot: CollectionSnapshot = {
      at,
      queues: results.filter((r): r is QueueSnapshot => r !== undefined),
      omitted,
      durationSeconds: (performance.now() - started) / 1000,
    };
    this.last = snapshot;
    return snapshot;
  }

  private async discover(): Promise<QueueName[]> {
    const members = await this.redis.smembers(QUEUES_KEY);
    const out: QueueName[] = [];
    for (const member of members) {
      try {
        out.push(toQueueName(member));
      } catch {
        // Not a valid queue name: not written by Sluice; skip it.
      }
    }
    return out;
  }

  /** One pipelined round trip for one queue. */
  private async readQueue(queue: QueueName, now: number): Promise<QueueSnapshot> {
    const pipeline = this.redis.pipeline();
    pipeline.hgetall(countsKey(queue));
    pipeline.hget(metaKey(queue), 'paused');
    pipeline.xinfo('STREAM', eventsKey(queue));
    pipeline.zcount(workersKey(queue), String(now - this.liveWorkerWindowMs), '+inf');
    for (let lane = 0; lane < PRIORITY_LEVELS; lane++) {
      pipeline.xinfo('GROUPS', laneKey(queue, lane));
      pipeline.xlen(laneKey(queue, lane));
    }
    // The oldest job of each priority band (lane 0 first); a band's scores are base + time.
    const oldest = 4 + 2 * PRIORITY_LEVELS;
    for (let lane = 0; lane < PRIORITY_LEVELS; lane++) {
      const base = priorityScore(lane, 0);
      pipeline.zrangebyscore(priorityKey(queue), String(base), String(base + PRIORITY_BAND - 1), 'WITHSCORES', 'LIMIT', 0, 1);
    }
    pipeline.time();
    const replies = await pipeline.exec();
    if (!replies || replies.length !== COMMANDS_PER_QUEUE) throw new Error(`metrics: pipeline for queue ${queue} was aborted`);
    const value = (i: number, missingKeyOk = false): unknown => {
      const [error, result] = replies[i] as [Error | null, unknown];
      if (error) {
        // XINFO on a stream that does not exist yet (a queue nobody published to) is empty.
        if (missingKeyOk && /no such key/i.test(error.message)) return undefined;
        throw error;
      }
      return result;
    };
    const counts = (value(0) ?? {}) as Record<string, string>;
    const states = Object.fromEntries(JOB_STATES.map((s) => [s, toCount(counts[s])])) as Record<JobState, number>;
    const events = Object.fromEntries(EVENT_TYPES.map((t) => [t, toCount(counts[`events:${t}`])])) as Record<EventType, number>;
    const stream = fieldMap(value(2, true));
    const lanes: LaneSnapshot[] = [];
    for (let lane = 0; lane < PRIORITY_LEVELS; lane++) {
      const groups = value(4 + lane * 2, true);
      const length = toCount(value(5 + lane * 2));
      const group = findGroup(groups);
      const pending = toCount(group.pending);
      // XINFO GROUPS reports lag as nil when Redis cannot compute it (e.g. an undelivered entry
      // was deleted; Sluice deletes only delivered ones). The fallback, length - pending, is an
      // upper bound: acknowledged entries of completed jobs stay at the head of the lane until
      // the next claim trims them (claim.lua).
      const lag = typeof group.lag === 'number' || (typeof group.lag === 'string' && group.lag !== '') ? toCount(group.lag) : Math.max(0, length - pending);
      lanes.push({ lane, lag, pending });
    }
    const archivedEvents = this.archive ? toCount(await this.archive.archivedEvents(queue)) : 0;
    return {
      queue,
      paused: value(1) === '1',
      states,
      events,
      lanes,
      eventLogEntries: toCount(stream.length),
      eventsAdded: toCount(stream['entries-added'] ?? stream.length),
      archivedEvents,
      workersLive: toCount(value(3)),
      oldestWaitingAgeSeconds: oldestAge(
        Array.from({ length: PRIORITY_LEVELS }, (_, lane) => [value(oldest + lane), priorityScore(lane, 0)] as const),
        value(oldest + PRIORITY_LEVELS),
      ),
    };
  }
}

/**
 * Seconds from the least entry time of the bands (each a ZRANGEBYSCORE … WITHSCORES LIMIT 0 1
 * reply and the band's base score: time = score - base) to Redis's TIME; 0 when no band has one.
 */
function oldestAge(bands: readonly (readonly [unknown, number])[], time: unknown): number {
  if (!Array.isArray(time)) return 0;
  let enteredMs = Infinity;
  for (const [range, base] of bands) {
    if (Array.isArray(range) && range.length >= 2) enteredMs = Math.min(enteredMs, Number(range[1]) - base);
  }
  const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  return Number.isFinite(enteredMs) && Number.isFinite(nowMs) ? Math.max(0, (nowMs - enteredMs) / 1000) : 0;
}

function findGroup(reply: unknown): Record<string, unknown> {
  if (!Array.isArray(reply)) return {};
  for (const item of reply as unknown[]) {
    const group = fieldMap(item);
    if (group.name === CONSUMER_GROUP) return group;
  }
  return {};
}

/** A RESP map reply as an object: flat `[k, v, ...]` arrays (RESP2, RESP3 legacy mapping) or plain objects (RESP3 maps). */
function fieldMap(reply: unknown): Record<string, unknown> {
  if (Array.isArray(reply)) {
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
    return out;
  }
  if (reply !== null && typeof reply === 'object') return reply as Record<string, unknown>;
  return {};
}

function toCount(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`metrics: collection timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new ValidationError(field, `must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new ValidationError(field, `must be a number >= 0, got ${value}`);
  return value;
}
