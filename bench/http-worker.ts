/**
 * The "HTTP worker" row: what the HTTP consume API costs against a library worker. The Sluice
 * service runs in this process on the bench's Redis, the Python client (clients/python, urllib,
 * one connection per request) runs in a child process with 50 threads, each keeping one claim
 * in flight (concurrency 50, like the library drain). Measured like scenario 2: jobs/s from the
 * first publish (the worker waits, long-polling, before it) to the last completion acknowledged.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/app/config.js';
import { buildApp } from '../src/server/app.js';
import { SluiceContext } from '../src/app/context.js';
import { now } from './lib/clock.js';
import { summarize, type Summary } from './lib/stats.js';
import type { Ratio, ScenarioResult } from './scenarios.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const BATCH = 1000;
const CONCURRENCY = 50;

/** Options of {@link runHttpWorker}. */
export interface HttpWorkerOptions {
  redisUrl: string;
  jobs: number;
  reps: number;
  log: (line: string) => void;
  /** jobs/s of the library drain (scenario 2) in this run, for the ratio. */
  libraryDrain?: readonly number[];
}

/** One repetition: jobs/s of the Python client draining `jobs` jobs. */
async function drainOnce(url: string, context: SluiceContext, queue: string, jobs: number): Promise<number> {
  const child = spawn('python3', [join(benchDir, 'http_worker.py')], {
    env: { ...process.env, SLUICE_URL: url, SLUICE_QUEUE: queue, SLUICE_BENCH_JOBS: String(jobs), SLUICE_CONCURRENCY: String(CONCURRENCY) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const line = (pattern: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(out)) resolve();
      };
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        check();
      });
      child.once('exit', (code) => reject(new Error(`python worker exited (${String(code)}) before ${String(pattern)}`)));
      check();
    });
  const ready = line(/"ready"/);
  const done = line(/"done"/);
  try {
    await ready;
    await new Promise((resolve) => setTimeout(resolve, 500)); // every thread's claim is waiting
    const q = context.queue(queue);
    const started = now();
    for (let i = 0; i < jobs; i += BATCH) {
      await q.publishMany(Array.from({ length: Math.min(BATCH, jobs - i) }, () => ({ name: 'noop' })));
    }
    await done;
    return jobs / ((now() - started) / 1000);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
  }
}

/** Runs the HTTP worker scenario. */
export async function runHttpWorker(o: HttpWorkerOptions): Promise<ScenarioResult> {
  // No payloads or results: MongoDB is never used (the URL only has to parse).
  const config = loadConfig({ env: { REDIS_URL: o.redisUrl, MONGO_URL: 'mongodb://127.0.0.1:9/unused', SLUICE_LOCAL_NO_AUTH: 'true' } });
  const context = new SluiceContext(config);
  const app = await buildApp({ context, auth: 'disabled-local' });
  const rates: number[] = [];
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await drainOnce(url, context, 'bench-http-warmup', Math.min(o.jobs, 1000));
    for (let rep = 1; rep <= o.reps; rep++) {
      const rate = await drainOnce(url, context, `bench-http-${rep}`, o.jobs);
      rates.push(rate);
      o.log(`  http worker rep ${rep}/${o.reps}: ${Math.round(rate).toLocaleString('en-US')} jobs/s`);
    }
  } finally {
    await app.close();
    await context.close();
  }
  const ratios: Ratio[] = [];
  const library = o.libraryDrain ?? [];
  if (library.length > 0) {
    const paired = rates.slice(0, library.length).map((r, i) => r / (library[i] as number));
    const ofMedians = summarize(rates).median / summarize(library).median;
    ratios.push({ name: 'HTTP worker / library worker', metric: 'jobsPerSec', numerator: 'Sluice HTTP worker (Python)', denominator: 'Sluice library worker (scenario 2)', ofMedians, perRepetition: summarize(paired) });
  }
  const jobsPerSec: Summary = summarize(rates);
  return {
    id: 'http-worker',
    title: `HTTP worker (${o.jobs.toLocaleString('en-US')} jobs, Python client in 1 process, ${CONCURRENCY} claims in flight, ${o.reps} repetitions)`,
    measures: 'jobs/s from the first publish to the last completion acknowledged to the Python worker; the service runs in the bench process, the worker long-polls before the first publish',
    rows: [{ system: 'sluice', label: 'Sluice HTTP worker (Python client)', where: 'no payload', payload: 'none', jobs: o.jobs, metrics: { jobsPerSec } }],
    ratios,
    notes: [
      'Per job: one claim (POST …/claims, max 1) and one complete (POST …/claims/{token}/complete), each a new TCP connection (urllib); the same Lua scripts and events as the library worker.',
      'The library row of scenario 2 runs its handlers in the worker process and group-commits completions; the HTTP path pays two HTTP round trips and two script calls per job.',
    ],
  };
}
