/**
 * Prometheus for tests: finds (or installs Debian's package of) `prometheus` and `promtool`,
 * runs a private Prometheus on a free port with a temporary storage directory, queries its
 * HTTP API, and reads the PromQL of Grafana dashboards. Also a parser of the Prometheus text
 * exposition format, for checking what `/metrics` serves.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ManagedProcess, sleep } from '../../src/services/process.js';
import { which } from '../../src/services/redis-server.js';

/** One sample of the text exposition format. */
export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (samples only; `# HELP` / `# TYPE` go to `types`). */
export function parseExposition(text: string): { samples: ExpositionSample[]; types: Map<string, string> } {
  const samples: ExpositionSample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (name && type) types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** Paths of the Prometheus binaries. */
export interface PrometheusBinaries {
  prometheus: string;
  promtool: string;
}

/**
 * Returns the paths of `prometheus` and `promtool`, installing Debian's `prometheus` package
 * when they are missing. The package's service is never started: a policy-rc.d that refuses
 * service starts is put in place for the install when the machine has none.
 */
export function ensurePrometheus(): PrometheusBinaries {
  const found = (): PrometheusBinaries | undefined => {
    const prometheus = which('prometheus');
    const promtool = which('promtool');
    return prometheus && promtool ? { prometheus, promtool } : undefined;
  };
  const present = found();
  if (present) return present;
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\n# Written by the Sluice dashboard test: no service starts during apt-get install.\nexit 101\n', { mode: 0o755 });
  try {
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } finally {
    if (ownPolicy) unlinkSync(policy);
  }
  const installed = found();
  if (!installed) throw new Error('prometheus / promtool are still missing after apt-get install prometheus');
  return installed;
}

/** Reply of `/api/v1/query` (instant vector, scalar, ...). */
export interface QueryResult {
  resultType: string;
  result: unknown[];
}

/** A private Prometheus server. */
export class PrometheusServer {
  private constructor(
    private readonly process: ManagedProcess,
    private readonly dir: string,
    /** `http://127.0.0.1:<port>` */
    readonly url: string,
  ) {}

  /**
   * Starts Prometheus scraping `targets` (host:port) every `scrapeIntervalSeconds`, with
   * `ruleFiles` loaded, and resolves once it reports ready.
   */
  static async start(options: {
    binary: string;
    targets: string[];
    ruleFiles?: string[];
    scrapeIntervalSeconds?: number;
  }): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
    const port = await freePort();
    const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
    const config = [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      ...(options.ruleFiles && options.ruleFiles.length > 0 ? ['rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
      'scrape_configs:',
      '  - job_name: sluice',
      '    static_configs:',
      `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const process = new ManagedProcess(`prometheus:${port}`, options.binary, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ]);
    const server = new PrometheusServer(process, dir, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!process.running) throw new Error(`prometheus exited before it was ready: ${process.recentOutput}`);
      try {
        const response = await fetch(`${server.url}/-/ready`);
        if (response.ok) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus not ready within 30 s: ${process.recentOutput}`);
      }
      await sleep(100);
    }
  }

  /** GET `/api/v1/<path>` and return `data`; throws on an API error. */
  async api<T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) search.append(key, v);
    const response = await fetch(`${this.url}/api/v1/${path}?${search.toString()}`);
    const body = (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** Evaluates a PromQL expression at the current time. */
  query(expr: string): Promise<QueryResult> {
    return this.api<QueryResult>('query', { query: expr });
  }

  /** Stops the server and removes its storage. */
  async stop(): Promise<void> {
    await this.process.stop('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One PromQL expression of a dashboard panel. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface PanelLike {
  title?: unknown;
  type?: unknown;
  targets?: unknown;
  panels?: unknown;
}

/** Every `targets[].expr` of every panel (rows included) of a dashboard JSON. */
export function dashboardQueries(dashboard: { title?: unknown; panels?: unknown }): PanelQuery[] {
  const out: PanelQuery[] = [];
  const visit = (panels: unknown): void => {
    if (!Array.isArray(panels)) return;
    for (const panel of panels as PanelLike[]) {
      if (Array.isArray(panel.targets)) {
        for (const target of panel.targets as { expr?: unknown; refId?: unknown }[]) {
          if (typeof target.expr === 'string') {
            out.push({ dashboard: String(dashboard.title), panel: String(panel.title), refId: String(target.refId), expr: target.expr });
          }
        }
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

/**
 * Replaces Grafana template variables (`$name`, `${name}`, `${name:format}`, `[[name]]`) with
 * concrete values; throws on a variable with no value so no query is evaluated half-substituted.
 */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c) as string;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole} in ${expr}`);
    return value;
  });
}
