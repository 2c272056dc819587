/**
 * A background loop with `start()`/`stop()`: runs an async task, then sleeps for a delay the
 * task (or a schedule function) chooses, never overlapping itself. Every loop of
 * src/consumers/loops/ (lease keeper, reaper, promoter, …) and the archiver is one.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly task: () => Promise<number | undefined>,
    /** Delay before the next run, given what the last run returned. */
    private readonly delay: (last: number | undefined) => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Schedules the first run after one delay. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(undefined);
  }

  private schedule(last: number | undefined): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick();
    }, this.delay(last));
  }

  private async tick(): Promise<void> {
    let last: number | undefined;
    try {
      last = await this.task();
    } catch (error) {
      if (!this.stopped) this.onError(error);
    }
    this.schedule(last);
  }

  /** Cancels the next run and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }
}
