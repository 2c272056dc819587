/** Sizes of a full and of a quick run. */

/** How much work each scenario does. */
export interface Sizes {
  /** Repetitions of every measurement (the table shows median, min and max). */
  reps: number;
  /** Jobs drained by every system on every agent before measuring (JIT warm-up, not reported). */
  warmupJobs: number;
  /** Scenario 1 and 5 (waiting): jobs enqueued per repetition. */
  enqueueJobs: number;
  /** Scenario 2, 7 and 5 (completed): jobs drained per repetition. */
  drainJobs: number;
  /** Scenario 3: fixed publish rate (jobs/s) and duration (s). */
  latencyRate: number;
  latencySeconds: number;
  /** Scenario 4: jobs per repetition and worker-process counts. */
  scalingJobs: number;
  scalingWorkers: number[];
  /**
   * Scenario 6: jobs per repetition with payloads in the MongoDB-compatible server.
   */
  payloadJobs: number;
  /** Scenario 6: payloads stored before the "pre-loaded" rows (bulk, 1 KiB each). */
  payloadPreload: number;
  /** Profile: jobs drained by the profiled worker. */
  profileJobs: number;
}

/** `npm run bench`: the sizes the issue asks for. */
export const FULL: Sizes = {
  reps: 3,
  warmupJobs: 5000,
  enqueueJobs: 100_000,
  drainJobs: 50_000,
  latencyRate: 2000,
  latencySeconds: 10,
  scalingJobs: 50_000,
  scalingWorkers: [1, 2, 4],
  payloadJobs: 5000,
  payloadPreload: 300_000,
  profileJobs: 50_000,
};

/** `npm run bench -- --quick`: every scenario, scaled down to finish in under 3 minutes on 2 cores. */
export const QUICK: Sizes = {
  reps: 3,
  warmupJobs: 2000,
  enqueueJobs: 20_000,
  drainJobs: 10_000,
  latencyRate: 2000,
  latencySeconds: 3,
  scalingJobs: 10_000,
  scalingWorkers: [1, 2, 4],
  payloadJobs: 1000,
  payloadPreload: 300_000,
  profileJobs: 10_000,
};
