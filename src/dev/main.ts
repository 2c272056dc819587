/**
 * The quick-start main job (`bash scripts/start.sh`): starts a private Redis and a MongoDB
 * wire-protocol server (or uses REDIS_URL / MONGO_URL), the Sluice HTTP service and a demo
 * worker as child processes (`sluice serve`, `sluice worker src/cli/demo-handler.ts`), publishes
 * demo jobs over the HTTP API (some fail and are retried, a few end in the dead-letter queue),
 * prints the URLs of the API, /metrics and the OpenAPI document with a demo token, and reports
 * the queue's figures every few seconds. Ctrl-C stops the publisher, then the worker (running jobs
 * finish), the service, and the servers, and exits 0; during start-up it stops what was started
 * so far and exits 130.
 *
 * The service runs with authentication on: a random admin token is made for each run and
 * printed. `/metrics` is public in the demo (SLUICE_METRICS_PUBLIC) so it can be opened in a browser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrubSecrets } from '../app/config.js';
import { describe } from '../core/errors.js';
import { MongoServer } from '../services/mongo-server.js';
import { freePort } from '../services/process.js';
import { RedisServer } from '../services/redis-server.js';

const QUEUE = 'demo';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Prints a line; URL credentials in it (e.g. of a `MONGO_URL` quoted by an error) are masked. */
function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${scrubSecrets(line)}\n`);
}

const children = new Set<ChildProcess>();
// If this script dies without stopping them, its children (in their own process groups) go too.
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A `sluice` CLI child process whose JSON log lines are followed. */
class SluiceChild {
  readonly process: ChildProcess;
  private readonly waiters: { test: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  readonly exited: Promise<number | null>;
  /** Messages logged so far (a waiter may come after the line). */
  private readonly seen = new Map<string, Record<string, unknown>>();

  constructor(
    readonly label: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.process = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'index.ts'), ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: Ctrl-C reaches only this script, which stops the children in order.
      detached: true,
    });
    children.add(this.process);
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
    let buffer = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const text of lines) this.line(text);
    });
    this.process.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${label}] ${scrubSecrets(chunk.toString('utf8'))}`));
  }

  private line(text: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(text) as Record<string, unknown>;
    } catch {
      log(`[${this.label}] ${text}`);
      return;
    }
    if (typeof entry.level === 'number' && entry.level >= 40) {
      log(`[${this.label}] ${typeof entry.msg === 'string' ? entry.msg : ''}${typeof entry.error === 'string' ? `: ${entry.error}` : ''}`);
    }
    if (typeof entry.msg === 'string') this.seen.set(entry.msg, entry);
    for (const waiter of [...this.waiters]) {
      if (waiter.test(entry)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    }
  }

  /** Resolves with the first log line whose `msg` is `msg`; rejects if the process exits first. */
  waitFor(msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const seen = this.seen.get(msg);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label} did not log "${msg}" within ${timeoutMs} ms`)), timeoutMs);
      void this.exited.then((code) => reject(new Error(`${this.label} exited with code ${code} before "${msg}"`)));
      this.waiters.push({ test: (line) => line.msg === msg, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  async stop(graceMs: number): Promise<number | null> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return this.process.exitCode;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

const bootAt = Date.now();

/**
 * Ctrl-C (SIGINT) or SIGTERM at any moment. Once the demo runs, `running` stops it in order.
 * Before that (a server or the service still starting), what was started so far is stopped,
 * newest first, and the script exits 130: nothing is left running, and no start-up error is
 * reported for what the signal interrupted. A second signal exits at once (the exit hooks kill
 * every child with SIGKILL).
 */
const startedSoFar: (() => Promise<unknown>)[] = [];
let running: (() => Promise<void>) | undefined;
let signalled = false;
function onSignal(): void {
  if (signalled) {
    log('sluice: second signal: stopping now');
    process.exit(130);
  }
  signalled = true;
  if (running) {
    void running();
    return;
  }
  log('sluice: interrupted during start-up: stopping what was started...');
  void (async () => {
    for (const stop of startedSoFar.reverse()) await stop().catch(() => undefined);
    log('sluice: stopped');
    process.exit(130);
  })();
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** `1.2 s` */
function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Runs one start-up step and prints one line for it when done: `[n/4] what: result (time)`. */
async function step<T>(n: number, what: string, work: () => Promise<T>, result: (value: T) => string): Promise<T> {
  const startedAt = Date.now();
  const value = await work();
  log(`sluice: [${n}/4] ${what}: ${result(value)} (${elapsed(startedAt)})`);
  return value;
}

async function main(): Promise<void> {
  const redisServer = process.env.REDIS_URL
    ? undefined
    : await step(1, 'Redis', () => RedisServer.start(), (server) => `private redis-server at ${server.url}`);
  if (redisServer) startedSoFar.push(() => redisServer.stop());
  else log('sluice: [1/4] Redis: from REDIS_URL');
  // After a signal, start nothing more (the handler stops what was started; the exit hooks
  // kill what a step left half-started).
  if (signalled) return;
  const redisUrl = process.env.REDIS_URL ?? (redisServer as RedisServer).url;
  // A first run builds FerretDB (a few minutes; scripts/ensure-ferretdb.sh prints its progress).
  const mongo = await step(2, 'MongoDB wire protocol', () => MongoServer.start(), (m) => (m.kind === 'external' ? 'from MONGO_URL' : `private ${m.kind} at ${m.url}`));
  startedSoFar.push(() => mongo.stop());
  if (signalled) return;

  const wanted = process.env.SLUICE_PORT ?? '8080';
  const port = wanted === '8080' && !(await portFree(8080)) ? await freePort() : Number(wanted);
  const token = `demo_${randomBytes(18).toString('base64url')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl,
    MONGO_URL: mongo.url,
    SLUICE_MONGO_DATABASE: process.env.SLUICE_MONGO_DATABASE ?? 'sluice_demo',
    SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'info',
  };
  const service = new SluiceChild('service', ['serve', '--host', '127.0.0.1', '--port', String(port)], {
    ...env,
    SLUICE_TOKENS: JSON.stringify([{ name: 'demo', token, scopes: ['admin'], queues: ['*'] }]),
    SLUICE_METRICS_PUBLIC: 'true',
  });
  // The worker serves its own /metrics (wait and run time histograms) on a free port.
  const worker = new SluiceChild(
    'worker',
    ['worker', join('src', 'cli', 'demo-handler.ts'), '--queue', QUEUE, '--concurrency', '5', '--lease', '10s', '--grace', '5s', '--host', '127.0.0.1', '--worker-metrics-port', '0'],
    env,
  );
  startedSoFar.push(() => service.stop(10_000), () => worker.stop(10_000));
  const serviceAt = Date.now();
  let stopping = false;
  const servers = async (): Promise<void> => {
    await mongo.stop();
    await redisServer?.stop();
  };
  const listening = await service.waitFor('listening').catch(async (error: unknown) => {
    // A signal meanwhile: the signal handler stops everything.
    if (signalled) return new Promise<never>(() => undefined);
    await worker.stop(2000);
    await servers();
    throw error;
  });
  if (signalled) return;
  const url = String(listening.url);
  log(`sluice: [3/4] service: sluice serve at ${url} (${elapsed(serviceAt)})`);
  const auth = { authorization: `Bearer ${token}` };

  let n = 0;
  let publishErrors = 0;
  const publisher = setInterval(() => {
    n++;
    const poison = n % 25 === 0;
    fetch(`${url}/v1/queues/${QUEUE}/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'double', payload: { n, ...(poison ? { poison } : {}) }, opts: { attempts: 3, backoff: { type: 'exponential', delayMs: 500, jitter: 0.2 } } }),
    }).then(
      async (response) => {
        if (!response.ok && !stopping) log(`publish failed: ${response.status} ${await response.text()}`);
      },
      (error: unknown) => {
        if (!stopping && publishErrors++ < 3) log(`publish failed: ${describe(error)}`);
      },
    );
  }, 200);
  const reporter = setInterval(() => {
    fetch(`${url}/v1/queues/${QUEUE}/stats`, { headers: auth })
      .then(async (response) => (await response.json()) as { counts: Record<string, number>; workers: unknown[] })
      .then(({ counts, workers }) =>
        log(
          `queue ${QUEUE}: waiting ${counts.waiting}, active ${counts.active}, delayed ${counts.delayed} (retrying), ` +
            `completed ${counts.completed}, dead ${counts.dead}; workers ${workers.length}`,
        ),
      )
      .catch((error: unknown) => {
        if (!stopping) log(`stats failed: ${describe(error)}`);
      });
  }, 3000);

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('sluice: shutting down: publisher, then the worker (running jobs finish), the service, the servers...');
    clearInterval(publisher);
    clearInterval(reporter);
    const workerCode = await worker.stop(10_000);
    const serviceCode = await service.stop(10_000);
    await servers();
    const clean = workerCode === 0 && serviceCode === 0;
    log(clean ? 'sluice: stopped cleanly' : `sluice: stopped (worker exit ${workerCode}, service exit ${serviceCode})`);
    process.exit(clean ? 0 : 1);
  };
  running = stop;
  if (signalled) {
    // The signal came while the service was starting: the handler is stopping what was started.
    return;
  }
  void worker.exited.then((code) => {
    if (!stopping) {
      log(`worker exited unexpectedly (code ${code})`);
      void stop();
    }
  });
  void service.exited.then((code) => {
    if (!stopping) {
      log(`service exited unexpectedly (code ${code})`);
      void stop();
    }
  });

  const workerStarted = await worker.waitFor('worker started').catch(() => undefined);
  if (stopping) return;
  const workerMetrics = typeof workerStarted?.metrics === 'string' ? workerStarted.metrics : undefined;
  log(`sluice: [4/4] worker: sluice worker on queue ${QUEUE}${workerMetrics ? `, metrics at ${workerMetrics}` : ''} (${elapsed(serviceAt)}); ready in ${elapsed(bootAt)}`);
  const observe = writeObserveConfig(token, new URL(url).host, workerMetrics === undefined ? undefined : new URL(workerMetrics).host);
  // `npm ci` builds dist/ (the prepare script); without it, run the sources.
  // `npm run -s sluice --` runs dist/cli/index.js at once (npx would first install the clone into its cache).
  const cli = existsSync(join(root, 'dist', 'cli', 'index.js')) ? 'npm run -s sluice --' : 'npx tsx src/cli/index.ts';
  const privateData = redisServer !== undefined || mongo.kind !== 'external';
  process.stdout.write(
    [
      '',
      'Sluice quick start is running: publishing 5 demo jobs a second to queue "demo"',
      '(1 attempt in 5 fails and is retried with backoff; every 25th job always fails and is dead-lettered).',
      '',
      `  Console      ${url}/ui/   (the web console: sign in with the demo token)`,
      `  API          ${url}/v1/queues/${QUEUE}/stats   (needs the token)`,
      `  Live events  ${url}/v1/queues/${QUEUE}/events   (Server-Sent Events; needs the token)`,
      `  OpenAPI      ${url}/openapi.json   (open)`,
      `  Metrics      ${url}/metrics   (open in the demo: SLUICE_METRICS_PUBLIC=true)`,
      ...(workerMetrics ? [`  Worker       ${workerMetrics}   (the worker's wait and run time histograms; open)`] : []),
      `  Demo token   ${token}   (admin on every queue; a new one each run)`,
      '',
      'URLs that need the token take it as a header: Authorization: Bearer <token> (browsers cannot add it).',
      `Prometheus + the Grafana dashboards on this demo: bash scripts/observe.sh (reads ${observe}).`,
      ...(privateData
        ? ['The demo keeps its data in private servers in a temporary folder: everything is thrown away at Ctrl-C.']
        : ['REDIS_URL / MONGO_URL were given: the demo queue stays in those servers after Ctrl-C.']),
      '',
      'Try:',
      `  curl -H 'Authorization: Bearer ${token}' ${url}/v1/queues/${QUEUE}/dlq`,
      `  curl -N -H 'Authorization: Bearer ${token}' ${url}/v1/queues/${QUEUE}/events`,
      // URLs taken from the environment are left out: they may hold passwords, and are set already.
      `  ${redisServer ? `REDIS_URL=${redisUrl} ` : ''}${mongo.kind === 'external' ? '' : `MONGO_URL=${mongo.url} `}SLUICE_MONGO_DATABASE=${String(env.SLUICE_MONGO_DATABASE)} ${cli} stats`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

/**
 * Writes what `scripts/observe.sh` needs to scrape this run: a Prometheus configuration (the
 * service's /metrics with the demo token, the worker's /metrics, Sluice's alert rules) and the
 * token file it points at, under .sluice/demo/. Returns the configuration's path.
 */
function writeObserveConfig(token: string, service: string, worker: string | undefined): string {
  const dir = join(root, '.sluice', 'demo');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  const config = [
    '# Written by the quick start (src/dev/main.ts) for scripts/observe.sh; rewritten on every run.',
    'global:',
    '  scrape_interval: 5s',
    '  evaluation_interval: 5s',
    'rule_files:',
    `  - ${join(root, 'grafana', 'alerts', 'sluice-rules.yml')}`,
    'scrape_configs:',
    '  - job_name: sluice',
    '    authorization:',
    `      credentials_file: ${join(dir, 'token')}`,
    '    static_configs:',
    `      - targets: ['${service}']`,
    '        labels: { role: service }',
    ...(worker ? ['  - job_name: sluice-worker', '    static_configs:', `      - targets: ['${worker}']`, '        labels: { role: worker }'] : []),
    '',
  ].join('\n');
  const path = join(dir, 'prometheus.yml');
  writeFileSync(path, config);
  return relative(root, path);
}

async function portFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

main().catch(async (error: unknown) => {
  // A Ctrl-C also reaches the processes of a start-up step in the foreground (the FerretDB build),
  // which then fail: that is the signal's doing, not an error to report. The signal handler runs
  // on the next turns of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 100));
  if (signalled) return;
  process.stderr.write(`sluice: ${scrubSecrets(describe(error))}\n`);
  process.exit(1);
});
