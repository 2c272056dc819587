/**
 * One archiver loop for every queue of the service process: discovers queues from the
 * `sluice:queues` set and archives each with its own {@link Archiver}, one run at a time.
 *
 * A queue whose stream is caught up costs nothing until it changes: the loop blocks on the
 * streams of all caught-up queues with one `XREAD BLOCK` on a dedicated connection (from each
 * queue's last archived id, the seam the trim keeps), and runs a queue again when its stream grows,
 * but no sooner than `intervalMs` after its previous run, so chunks hold what arrived in that
 * time. A full chunk is followed by the next run at once. On a Redis Cluster (whose streams
 * live on several nodes) caught-up queues are instead retried with a per-queue backoff that
 * doubles up to `maxIdleMs`. Failures back off the same way. Archivers are safe to run in several
 * processes at once (see src/audit/archiver.ts), so several service replicas may run them.
 *
 * @packageDocumentation
 */
import { Archiver } from '../audit/archiver.js';
import type { EventArchive } from '../history/archive.js';
import { duplicateClient, isCluster, type RedisClient } from '../redis/connection.js';
import { eventsKey, QUEUES_KEY } from '../core/keys.js';

/** Options of {@link ArchiverPool}. */
export interface ArchiverPoolOptions {
  redis: RedisClient;
  archive: EventArchive;
  /** Least time between two runs of one queue that did not fill a chunk (events arriving in it share a chunk). */
  intervalMs: number;
  /** Trim archived events from the stream. */
  trim: boolean;
  /**
   * Archive exactly these queues instead of every queue in the `sluice:queues` set.
   * @default every queue, discovered every `discoverMs`
   */
  queues?: readonly string[];
  /**
   * How often new queues are looked for.
   * @default 10000
   */
  discoverMs?: number;
  /**
   * Longest pause between runs of a caught-up queue where streams cannot be blocked on (Redis
   * Cluster), and after failures.
   * @default 30000
   */
  maxIdleMs?: number;
  /** Background error sink (errors are retried with backoff). */
  onError: (error: unknown, queue?: string) => void;
}

interface Slot {
  archiver: Archiver;
  /** When the next run may start (ms); Infinity while caught up and blocked on. */
  due: number;
  lastRun: number;
  /** Consecutive empty or failed runs (for the backoff). */
  quiet: number;
}

/** Archivers for every queue, run by one loop, started and stopped together. */
export class ArchiverPool {
  private readonly slots = new Map<string, Slot>();
  private readonly blocking: boolean;
  private blocker: RedisClient | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastDiscovery = 0;
  private wake: (() => void) | undefined;
  /** Runs done (for tests and diagnostics). */
  runs = 0;

  constructor(private readonly options: ArchiverPoolOptions) {
    this.blocking = !isCluster(options.redis);
  }

  /** Discovers the queues now, then runs the loop until {@link ArchiverPool.stop}. */
  async start(): Promise<void> {
    await this.discover().catch((error: unknown) => this.options.onError(error));
    this.loop ??= this.run();
  }

  private async discover(): Promise<void> {
    this.lastDiscovery = Date.now();
    const queues = this.options.queues ?? (await this.options.redis.smembers(QUEUES_KEY));
    for (const queue of queues) {
      if (this.stopped || this.slots.has(queue)) continue;
      try {
        const archiver = new Archiver({ redis: this.options.redis, archive: this.options.archive, queue, trim: this.options.trim });
        this.slots.set(queue, { archiver, due: 0, lastRun: 0, quiet: 0 });
      } catch (error) {
        this.options.onError(error, queue); // a name in the set that is not a valid queue name
      }
    }
  }

  private get discoverMs(): number {
    return this.options.discoverMs ?? 10_000;
  }

  private backoff(slot: Slot): number {
    const max = Math.max(this.options.intervalMs, this.options.maxIdleMs ?? 30_000);
    return Math.min(max, this.options.intervalMs * 2 ** Math.min(slot.quiet, 20));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (Date.now() - this.lastDiscovery >= this.discoverMs) await this.discover().catch((error: unknown) => this.options.onError(error));
      for (const [queue, slot] of this.slots) {
        if (this.stopped) return;
        if (slot.due <= Date.now()) await this.runSlot(queue, slot);
      }
      await this.waitForWork().catch((error: unknown) => {
        if (!this.stopped) this.options.onError(error);
      });
    }
  }

  private async runSlot(queue: string, slot: Slot): Promise<void> {
    const started = Date.now();
    slot.lastRun = started;
    this.runs += 1;
    try {
      const { archived } = await slot.archiver.runOnce();
      if (archived >= slot.archiver.batchSize) {
        slot.quiet = 0;
        slot.due = started;
      } else if (archived > 0) {
        slot.quiet = 0;
        slot.due = started + this.options.intervalMs;
      } else {
        slot.quiet += 1;
        slot.due = this.blocking ? Infinity : started + this.backoff(slot);
      }
    } catch (error) {
      if (this.stopped) return;
      this.options.onError(error, queue);
      slot.quiet += 1;
      slot.due = Date.now() + this.backoff(slot);
    }
  }

  /** Sleeps until a queue is due or discovery is, blocking on the caught-up queues' streams meanwhile. */
  private async waitForWork(): Promise<void> {
    const now = Date.now();
    let until = this.lastDiscovery + this.discoverMs;
    for (const slot of this.slots.values()) until = Math.min(until, slot.due);
    const timeout = Math.ceil(until - now);
    if (timeout <= 0 || this.stopped) return;
    const waiting = [...this.slots.entries()].filter(([, slot]) => slot.due === Infinity);
    if (!this.blocking || waiting.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      return;
    }
    if (!this.blocker) {
      this.blocker = duplicateClient(this.options.redis, { connectionName: 'sluice:archiver:block' });
      this.blocker.on('error', () => undefined); // reported through the failing XREAD
    }
    const keys = waiting.map(([, slot]) => eventsKey(slot.archiver.queue));
    const ids = waiting.map(([, slot]) => slot.archiver.lastId ?? '0-0');
    const reply = (await this.blocker.xread('COUNT', 1, 'BLOCK', timeout, 'STREAMS', ...keys, ...ids)) as [string, unknown[]][] | null;
    const changed = new Set((reply ?? []).map(([key]) => key));
    for (const [, slot] of waiting) {
      if (changed.has(eventsKey(slot.archiver.queue))) slot.due = Math.max(Date.now(), slot.lastRun + this.options.intervalMs);
    }
  }

  /** Queues being archived. */
  get queues(): string[] {
    return [...this.slots.keys()];
  }

  /** Stops the loop (waits for a run in progress) and closes the blocking connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.blocker?.disconnect();
    await this.loop;
  }
}
