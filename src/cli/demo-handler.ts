/**
 * The handler of the quick start's demo worker (`sluice worker dist/cli/demo-handler.js`):
 * "doubles" a number after a short pause, records progress, fails one attempt in five (the job is
 * retried with backoff), and always fails jobs whose payload says `poison` (they end in the
 * dead-letter queue).
 *
 * @packageDocumentation
 */
import type { ActiveJob } from '../consumers/worker.js';

/** The queue the demo uses. */
export const queue = 'demo';

/** Payload of a demo job. */
export interface DemoPayload {
  n: number;
  /** Fail every attempt. */
  poison?: boolean;
}

/** Doubles `n`; fails sometimes. */
export default async function handler(job: ActiveJob<DemoPayload>): Promise<{ doubled: number }> {
  await job.progress({ step: 'working' });
  await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
  if (job.payload.poison) throw new Error(`job ${job.payload.n} is poison (attempt ${job.attempt} of ${job.maxAttempts})`);
  if (Math.random() < 0.2) throw new Error(`demo failure of job ${job.payload.n} (attempt ${job.attempt})`);
  return { doubled: job.payload.n * 2 };
}
