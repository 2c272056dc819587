/**
 * Runs one {@link Archiver} per queue in the service process: discovers queues from the
 * `sluice:queues` set and starts an archiver for each new one. Archivers are safe to run in
 * several processes at once (see src/audit/archive.ts), so several service replicas may run them.
 *
 * @packageDocumentation
 */
import { Archiver, type EventArchive } from '../audit/archive.js';
import { PeriodicTask } from '../consumers/periodic.js';
import type { RedisClient } from '../redis/connection.js';
import { QUEUES_KEY } from '../keys.js';

/** Options of {@link ArchiverPool}. */
export interface ArchiverPoolOptions {
  redis: RedisClient;
  archive: EventArchive;
  /** Pause between archive runs of one queue when it is caught up. */
  intervalMs: number;
  /** Trim archived events from the stream. */
  trim: boolean;
  /**
   * How often new queues are looked for.
   * @default 10000
   */
  discoverMs?: number;
  /** Background error sink (errors are retried on the next run). */
  onError: (error: unknown, queue?: string) => void;
}

/** Archivers for every queue, started and stopped together. */
export class ArchiverPool {
  private readonly archivers = new Map<string, Archiver>();
  private readonly discovery: PeriodicTask;
  private stopped = false;

  constructor(private readonly options: ArchiverPoolOptions) {
    this.discovery = new PeriodicTask(
      async () => {
        await this.discover();
        return undefined;
      },
      () => options.discoverMs ?? 10_000,
      (error) => options.onError(error),
    );
  }

  /** Discovers the queues now, then every `discoverMs`. */
  async start(): Promise<void> {
    await this.discover().catch((error: unknown) => this.options.onError(error));
    this.discovery.start();
  }

  private async discover(): Promise<void> {
    const queues = await this.options.redis.smembers(QUEUES_KEY);
    for (const queue of queues) {
      if (this.stopped || this.archivers.has(queue)) continue;
      let archiver: Archiver;
      try {
        archiver = new Archiver({
          redis: this.options.redis,
          archive: this.options.archive,
          queue,
          trim: this.options.trim,
          intervalMs: this.options.intervalMs,
          onError: (error) => this.options.onError(error, queue),
        });
      } catch (error) {
        this.options.onError(error, queue); // a name in the set that is not a valid queue name
        continue;
      }
      this.archivers.set(queue, archiver);
      archiver.start();
    }
  }

  /** Queues being archived. */
  get queues(): string[] {
    return [...this.archivers.keys()];
  }

  /** Stops discovery and every archiver (waits for batches in progress). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.discovery.stop();
    await Promise.all([...this.archivers.values()].map((a) => a.stop()));
  }
}
