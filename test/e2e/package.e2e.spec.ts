/**
 * The npm package as a user installs it: `npm pack` in the repository (the `prepare` script
 * builds), then the tarball installed with `npm install` into a fresh project in the temp folder
 * (its dependencies come from the registry; the repository's node_modules are out of reach:
 * module resolution walks up from the temp folder, not from here). In that project:
 * - the tarball holds the built code, the LICENSE, and source maps whose sources are inline;
 * - `tsc --noEmit` type-checks a consumer that imports every entry point, including a typed
 *   Queue refusing a wrong payload (`@ts-expect-error`);
 * - ESM: `import('sluice')` publishes and works a job on the run's Redis, and loads neither
 *   fastify nor any OpenTelemetry SDK package (recorded by a module resolve hook);
 * - CommonJS: `require('sluice')` (Node's require(esm));
 * - `npx sluice --help` answers.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../helpers/service.js';

const run = promisify(execFile);
// Node 24 and its npm (the repository's `node` devDependency) first on PATH, in the project too.
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

async function sh(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { cwd, env: { ...process.env, PATH, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  }
}

describe('npm package (pack, install into a fresh project, use)', () => {
  let work: string;
  let app: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
    const packed = await sh('npm', ['pack', '--json', '--pack-destination', work], ROOT);
    // `prepare` (the build) logs to stdout before the JSON report.
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('\n[') + 1)) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, (report[0] as { filename: string }).filename);
    files = (report[0] as { files: { path: string }[] }).files.map((f) => f.path);
    app = join(work, 'app');
    await sh('mkdir', ['-p', app], work);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // prom-client comes as sluice's peer dependency; the OpenTelemetry SDK (optional peer) does not.
    await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'typescript@~5.9.3', '@types/node@^24'], app);
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the built code, the LICENSE, the CLI, and source maps that resolve', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/index.js', 'dist/server/index.js', 'dist/metrics/index.js', 'dist/otel.js', 'dist/testing.js']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
    expect(files).not.toContain('dist/dev/main.js');
    expect(readFileSync(join(app, 'node_modules/sluice/LICENSE'), 'utf8')).toContain('Apache License');
    for (const map of files.filter((f) => f.endsWith('.js.map'))) {
      const parsed = JSON.parse(readFileSync(join(app, 'node_modules/sluice', map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
      expect(parsed.sourcesContent?.every((s) => typeof s === 'string' && s.length > 0), map).toBe(true);
    }
    expect(existsSync(join(app, 'node_modules/@opentelemetry/sdk-node'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/prom-client'))).toBe(true);
  });

  it('type-checks a TypeScript consumer of every entry point (tsc --noEmit)', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2023', lib: ['ES2023', 'ESNext.Disposable'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'], skipLibCheck: true },
        files: ['consumer.mts'],
      }),
    );
    writeFileSync(
      join(app, 'consumer.mts'),
      [
        "import { Queue, Worker, type ActiveJob } from 'sluice';",
        "import { SluiceMetrics } from 'sluice/metrics';",
        "import { buildApp, loadConfig } from 'sluice/server';",
        "import { MemoryPayloadStore, RedisServer } from 'sluice/testing';",
        "import type { TelemetryOptions } from 'sluice/otel';",
        "import { Registry } from 'prom-client';",
        'interface Mail { to: string }',
        "export async function main(): Promise<void> {",
        "  await using queue = new Queue<Mail, string, 'send'>('mail', { connection: 'redis://127.0.0.1:6379', payloads: new MemoryPayloadStore() });",
        "  await queue.publish('send', { to: 'a@example.com' });",
        '  // @ts-expect-error the payload must be a Mail',
        "  await queue.publish('send', { to: 42 });",
        '  // @ts-expect-error the queue accepts only `send` jobs',
        "  await queue.publish('delete', { to: 'a@example.com' });",
        "  await using worker = new Worker<Mail, string>('mail', async (job: ActiveJob<Mail>) => job.payload.to, { connection: 'redis://127.0.0.1:6379' });",
        '  const metrics = new SluiceMetrics({ registry: new Registry() });',
        '  const options: TelemetryOptions = { serviceName: "x" };',
        '  void [worker, metrics, options, buildApp, loadConfig, RedisServer];',
        '}',
      ].join('\n'),
    );
    await sh(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app);
  });

  it('imports as ESM, works a job, and loads neither fastify nor the OpenTelemetry SDK', async () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
const { Queue, Worker, MemoryPayloadStore } = await import('sluice');
const payloads = new MemoryPayloadStore();
const name = 'pkg-' + process.pid + '-' + Date.now();
const queue = new Queue(name, { connection: process.env.REDIS_URL, payloads });
const done = new Promise((resolve, reject) => {
  const worker = new Worker(name, async (job) => job.payload.n * 2, { connection: process.env.REDIS_URL, payloads });
  worker.on('completed', (job, result) => worker.close().then(() => resolve(result), reject));
  worker.on('error', reject);
});
await queue.publish('double', { n: 21 });
const result = await done;
await queue.redis.del(...(await queue.redis.keys('*' + name + '*')));
await queue.close();
const pkg = (name) => loaded.filter((u) => u.includes('/node_modules/' + name));
const core = loaded.filter((u) => u.includes('/node_modules/sluice/dist/'));
const devTooling = core.filter((u) => ['/dist/services/', '/dist/dev/', '/dist/cli/', '/dist/server/', '/dist/otel.js'].some((part) => u.includes(part))).length;
console.log(JSON.stringify({ result, fastify: pkg('fastify/').length, sdk: pkg('@opentelemetry/sdk-').length + pkg('@opentelemetry/exporter-').length, pino: pkg('pino/').length, api: pkg('@opentelemetry/api/').length, core: core.length, devTooling, total: loaded.length }));
`,
    );
    const { stdout } = await sh(process.execPath, ['esm.mjs'], app, { REDIS_URL: inject('redisUrl') });
    const report = JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, number>;
    expect(report.result).toBe(42);
    expect(report.api).toBeGreaterThan(0); // the hook does see packages
    expect(report.fastify).toBe(0);
    expect(report.sdk).toBe(0);
    expect(report.pino).toBe(0);
    // Nothing of the service, the CLI, the OTel set-up or the local test servers.
    expect(report.core).toBeGreaterThan(10);
    expect(report.devTooling).toBe(0);
  });

  it('requires from CommonJS (require(esm)), every entry point', async () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const core = require('sluice');
const metrics = require('sluice/metrics');
const server = require('sluice/server');
const testing = require('sluice/testing');
console.log(JSON.stringify([typeof core.Queue, typeof core.Worker, typeof metrics.SluiceMetrics, typeof server.buildApp, typeof testing.MemoryPayloadStore]));
`,
    );
    const { stdout } = await sh(process.execPath, ['cjs.cjs'], app);
    expect(JSON.parse(stdout.trim())).toEqual(['function', 'function', 'function', 'function', 'function']);
  });

  it('runs the CLI: npx sluice --help', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'sluice', '--help'], app);
    expect(stdout).toContain('Usage: sluice');
    expect(stdout).toContain('serve');
  });

  it('runs the CLI in the clone too once built (npm ci runs the build): npx sluice --help', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'sluice', '--help'], ROOT);
    expect(stdout).toContain('Usage: sluice');
  });

  it('without the optional OpenTelemetry SDK, SLUICE_OTEL=on says how to install it', async () => {
    writeFileSync(join(app, 'handler.mjs'), "export const queue = 'pkg-otel';\nexport default async () => 1;\n");
    const failed = await sh('npx', ['--no-install', 'sluice', 'worker', './handler.mjs'], app, { SLUICE_OTEL: 'on', REDIS_URL: inject('redisUrl') }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failed).toContain('npm install @opentelemetry/sdk-node');
  });
});
