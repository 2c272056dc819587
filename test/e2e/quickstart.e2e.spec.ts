/**
 * The quick start as a new user runs it: `bash scripts/start.sh` in the repository, read the
 * URLs it prints, open /metrics and the API, watch jobs complete, press Ctrl-C (SIGINT), and see
 * it stop cleanly: exit code 0, "stopped cleanly", the port closed. It starts its own Redis and
 * MongoDB wire-protocol server (MONGO_URL is passed through when the run uses an external one).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/dispatch.js';
import { ROOT } from '../helpers/service.js';

describe('quick start (scripts/start.sh)', () => {
  it('starts, publishes, serves metrics and the API, and stops cleanly on Ctrl-C', async () => {
    const env: Record<string, string | undefined> = { ...process.env, SLUICE_PORT: '0' };
    delete env.REDIS_URL;
    const child = spawn('bash', ['scripts/start.sh'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('Press Ctrl-C to stop.') || child.exitCode !== null, 90_000, 'the quick start banner');
      expect(out).toContain('Press Ctrl-C to stop.');
      const metricsUrl = /Metrics\s+(http:\/\/\S+)/.exec(out)?.[1] as string;
      const apiUrl = /API\s+(http:\/\/\S+)/.exec(out)?.[1] as string;
      const openapiUrl = /OpenAPI\s+(http:\/\/\S+)/.exec(out)?.[1] as string;
      const token = /Demo token\s+(\S+)/.exec(out)?.[1] as string;
      expect((await fetch(openapiUrl)).status).toBe(200);
      const completed = await waitFor(
        async () => {
          const text = await (await fetch(metricsUrl)).text();
          const value = Number(/sluice_jobs_completed_total\{queue="demo"\} (\d+)/.exec(text)?.[1] ?? '0');
          return value > 0 ? value : undefined;
        },
        30_000,
        'demo jobs completed in /metrics',
      );
      expect(completed).toBeGreaterThan(0);
      const stats = (await (await fetch(apiUrl, { headers: { authorization: `Bearer ${token}` } })).json()) as { counts: { completed: number } };
      expect(stats.counts.completed).toBeGreaterThan(0);
      expect((await fetch(apiUrl)).status).toBe(401);

      // First-hour output: one line per start-up step with its time, which URLs need the token,
      // the data's fate, no npm engine warnings or Go download lines.
      for (const n of [1, 2, 3, 4]) expect(out).toMatch(new RegExp(`\\[${n}/4\\] .*\\(\\d+\\.\\d s\\)`));
      expect(out).toMatch(/ready in \d+\.\d s/);
      expect(out).toMatch(/API\s+\S+\s+\(needs the token\)/);
      expect(out).toMatch(/Live events\s+\S+\s+\(Server-Sent Events; needs the token\)/);
      expect(out).toContain('everything is thrown away at Ctrl-C');
      expect(out).not.toMatch(/EBADENGINE|go: downloading/);
      // No npm lifecycle banners ("> sluice@0.1.0 prepare"), no spinner glyph (braille), no
      // terminal control sequence: the output is plain lines.
      expect(out).not.toMatch(/^> /m);
      expect(out).not.toMatch(/[\u2800-\u28ff]/);
      expect(out.includes('\u001b')).toBe(false);
      // The demo worker serves its own histograms, and the observe configuration names both ports and the token.
      const workerMetricsUrl = /Worker\s+(http:\/\/\S+)/.exec(out)?.[1] as string;
      const workerText = await waitFor(
        async () => {
          const text = await (await fetch(workerMetricsUrl)).text();
          return text.includes('sluice_job_run_duration_seconds_count') ? text : undefined;
        },
        30_000,
        'run-time histogram on the worker metrics port',
      );
      expect(workerText).toMatch(/sluice_job_wait_duration_seconds_count\{queue="demo"\} [1-9]/);
      const observe = readFileSync(join(ROOT, '.sluice', 'demo', 'prometheus.yml'), 'utf8');
      expect(observe).toContain(`'${new URL(metricsUrl).host}'`);
      expect(observe).toContain(`'${new URL(workerMetricsUrl).host}'`);
      expect(readFileSync(join(ROOT, '.sluice', 'demo', 'token'), 'utf8')).toBe(token);

      // Ctrl-C while jobs are being published (five a second) and run.
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toContain('stopped cleanly');
      expect(out).not.toMatch(/MongoClientClosedError|request failed/);
      await expect(fetch(metricsUrl)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
