/**
 * What the HTTP service keeps for its HTTP consumers (docs/HTTP-WORKERS.md):
 *
 * - claim tokens: an opaque, URL-safe encoding of (queue, job id, attempt token, consumer,
 *   claim time). The attempt token inside is the fencing token of the Lua scripts, so a token
 *   outlives nothing: once the attempt loses its job every call with it answers 409;
 * - long-poll waits: one blocking XREAD per queue at a time, shared by every claim waiting on
 *   that queue, on a connection of its own (at most {@link MAX_BLOCKING_QUEUES});
 * - housekeeping: with only HTTP consumers, no library worker runs the reaper, the promoter,
 *   retention and the other queue tasks, so the service runs them (src/consumers/loops/housekeeping.ts)
 *   for every queue an HTTP consumer has used recently.
 *
 * @packageDocumentation
 */
import { hostname } from 'node:os';
import { waitForWork } from '../consumers/attempts.js';
import { queueHousekeeping } from '../consumers/loops/housekeeping.js';
import type { Loop } from '../consumers/loops/loop.js';
import { ForeignClaimError, SluiceError } from '../core/errors.js';
import { toQueueName, type QueueName } from '../core/keys.js';
import { DEFAULT_ORPHAN_GRACE_MS } from '../payloads/store.js';
import { ensureGroups } from '../redis/open.js';
import { duplicateClient, type RedisClient } from '../redis/connection.js';
import { systemClock } from '../core/clock.js';
import type { SluiceContext } from '../app/context.js';

/** Longest long-poll of one claim. */
export const MAX_WAIT_MS = 30_000;
/** Most jobs one claim may take. */
export const MAX_CLAIM = 100;
/** Claims waiting at once (503 beyond). */
export const MAX_WAITING_CLAIMS = 1000;
/** Queues with a blocking read at once; claims on further queues poll every {@link POLL_MS}. */
export const MAX_BLOCKING_QUEUES = 64;
const POLL_MS = 200;
/** One shared blocking read lasts this long at most. */
const ROUND_MS = 2000;

/** The attempt a claim token stands for. */
export interface ClaimToken {
  queue: QueueName;
  jobId: string;
  /** The attempt's fencing token (its lane entry id). */
  token: string;
  consumer: string;
  /** When the job was claimed (ms). */
  claimedAt: number;
}

/** The opaque token of a claimed attempt. */
export function encodeClaimToken(claim: ClaimToken): string {
  return Buffer.from(JSON.stringify([claim.queue, claim.jobId, claim.token, claim.consumer, claim.claimedAt]), 'utf8').toString('base64url');
}

/**
 * The attempt behind `text`.
 * @throws {@link ForeignClaimError} when `text` is not a claim token issued for `queue`.
 */
export function decodeClaimToken(queue: string, text: string): ClaimToken {
  let parts: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new ForeignClaimError(queue, 'malformed token');
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 5 ||
    !parts.slice(0, 4).every((p) => typeof p === 'string' && p !== '') ||
    typeof parts[4] !== 'number' ||
    !Number.isSafeInteger(parts[4])
  ) {
    throw new ForeignClaimError(queue, 'malformed token');
  }
  const [tokenQueue, jobId, token, consumer, claimedAt] = parts as [string, string, string, string, number];
  if (tokenQueue !== queue) throw new ForeignClaimError(queue, 'issued for another queue');
  return { queue: toQueueName(queue), jobId, token, consumer, claimedAt };
}

interface QueueState {
  loops: Loop;
  lastSeen: number;
  blocker?: RedisClient;
  round?: Promise<void>;
}

/** Per-service state of the HTTP consume API. */
export class HttpConsumers {
  /** Lease of HTTP attempts (`SLUICE_LEASE`): the reaper takes back attempts without a heartbeat for this long. */
  readonly leaseMs: number;
  private readonly queues = new Map<QueueName, QueueState>();
  private blockingQueues = 0;
  private waiting = 0;
  private readonly idleMs: number;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly name = `sluice-http:${hostname()}:${process.pid}`;
  private closed = false;
  /** Fires when the service starts closing: waiting claims answer at once. */
  private readonly closing = new AbortController();

  /** `onError`: housekeeping failures (transient Redis or MongoDB trouble; the next run retries). */
  constructor(
    private readonly context: SluiceContext,
    private readonly onError: (error: unknown, queue: QueueName) => void = () => undefined,
  ) {
    this.leaseMs = context.config.lease;
    // Housekeeping of a queue stops when no HTTP consumer called for this long (its jobs were
    // reaped long before).
    this.idleMs = Math.max(10 * this.leaseMs, 600_000);
    this.idleTimer = setInterval(() => void this.stopIdle(), Math.min(this.idleMs, 60_000));
    this.idleTimer.unref();
  }

  /** Records that an HTTP consumer used `queue`, starting its housekeeping (and consumer groups) on first use. */
  async touch(queue: QueueName): Promise<void> {
    const known = this.queues.get(queue);
    if (known) {
      known.lastSeen = Date.now();
      return;
    }
    await ensureGroups(this.context.redis, queue);
    if (this.closed || this.queues.has(queue)) return;
    const lease = this.leaseMs;
    const state: QueueState = {
      lastSeen: Date.now(),
      loops: queueHousekeeping({
        redis: this.context.redis,
        queue,
        consumer: this.name,
        clock: systemClock,
        random: Math.random,
        payloads: this.context.payloads,
        leaseMs: lease,
        reapIntervalMs: Math.max(1, Math.floor(lease / 2)),
        pruneConsumersAfterMs: Math.max(10 * lease, 600_000),
        promoteIntervalMs: 1000,
        retentionIntervalMs: 5000,
        payloadSweepIntervalMs: 3_600_000,
        payloadSweepGraceMs: DEFAULT_ORPHAN_GRACE_MS,
        repeatIntervalMs: 1000,
        flowRelayIntervalMs: 500,
        onError: (error) => this.onError(error, queue),
      }),
    };
    this.queues.set(queue, state);
    state.loops.start();
  }

  /** Recreates the queue's consumer groups (after the queue's keys were deleted under a running service). */
  async recreateGroups(queue: QueueName): Promise<void> {
    await ensureGroups(this.context.redis, queue);
  }

  /**
   * Counts one waiting claim for its duration.
   * @throws {@link SluiceError} `SLUICE_ERR_OVERLOADED` beyond {@link MAX_WAITING_CLAIMS}.
   */
  async countWaiting<T>(work: () => Promise<T>): Promise<T> {
    if (this.waiting >= MAX_WAITING_CLAIMS) {
      throw new SluiceError('SLUICE_ERR_OVERLOADED', `${MAX_WAITING_CLAIMS} claims are waiting for jobs already; retry later or claim with waitMs 0`);
    }
    this.waiting++;
    try {
      return await work();
    } finally {
      this.waiting--;
    }
  }

  /**
   * Waits up to `ms` for new work on `queue` after an empty claim that answered `cursor`. Claims
   * waiting on one queue share one blocking read.
   */
  async waitForWork(queue: QueueName, cursor: readonly string[], ms: number): Promise<void> {
    const state = this.queues.get(queue);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const sleep = (delay: number): Promise<void> =>
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(1, delay));
        onAbort = () => resolve();
        this.closing.signal.addEventListener('abort', onAbort, { once: true });
      });
    try {
      if (this.closing.signal.aborted) return;
      if (!state || this.closed) return await sleep(Math.min(ms, POLL_MS));
      if (!state.blocker) {
        if (this.blockingQueues >= MAX_BLOCKING_QUEUES) return await sleep(Math.min(ms, POLL_MS));
        this.blockingQueues++;
        state.blocker = duplicateClient(this.context.redis, { connectionName: `${this.name}:block` });
        state.blocker.on('error', () => undefined); // reported through the failing XREAD
      }
      const blocker = state.blocker;
      state.round ??= waitForWork(blocker, queue, cursor, ROUND_MS)
        .catch((error: unknown) => {
          if (!this.closed) throw error;
        })
        .finally(() => {
          state.round = undefined;
        });
      await Promise.race([state.round, sleep(ms)]);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.closing.signal.removeEventListener('abort', onAbort);
    }
  }

  /** True once the service is closing: claims stop waiting. */
  get stopping(): boolean {
    return this.closing.signal.aborted;
  }

  /** Makes every waiting claim answer now (call when the service starts closing). */
  stopWaiting(): void {
    this.closing.abort();
  }

  private async stopIdle(): Promise<void> {
    const now = Date.now();
    for (const [queue, state] of this.queues) {
      if (now - state.lastSeen < this.idleMs || state.round) continue;
      this.queues.delete(queue);
      await this.stopQueue(state);
    }
  }

  private async stopQueue(state: QueueState): Promise<void> {
    if (state.blocker) {
      state.blocker.disconnect();
      this.blockingQueues--;
    }
    await state.loops.stop();
  }

  /** Stops every queue's housekeeping and closes the blocking connections. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    const states = [...this.queues.values()];
    this.queues.clear();
    await Promise.all(states.map((state) => this.stopQueue(state)));
  }
}
