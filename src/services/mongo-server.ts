/**
 * A MongoDB wire-protocol server for tests and the quick start, chosen in this order:
 * 1. `MONGO_URL` when set: an external server, used as is (cannot be killed by tests);
 * 2. a `mongod` on PATH, started privately on a free port;
 * 3. the embedded server: FerretDB v1.24.2, built once through the Go module proxy by
 *    `scripts/ensure-ferretdb.sh` into a cache folder outside the repository, with its PostgreSQL
 *    backend on a private PostgreSQL cluster ({@link PostgresServer}: `initdb` in the server's
 *    temporary folder, Debian's `postgresql` installed with apt when missing). That cluster is set
 *    up so FerretDB's pushed-down equality filters on `_id` use an index (see
 *    `src/services/postgres-server.ts`); this set-up is embedded-only. The SQLite backend
 *    (`ferretdbBackend: 'sqlite'`) uses no index for any Sluice query and is kept for comparison.
 *
 * {@link MongoServer.kill}, {@link MongoServer.pause} and {@link MongoServer.restart} act on the
 * MongoDB-wire process (FerretDB or mongod); the PostgreSQL cluster behind FerretDB keeps running
 * and keeps the data, as a database behind a crashed front-end would.
 *
 * With `tls` or `auth` the server is always a private FerretDB (what this machine has; `MONGO_URL`
 * and `mongod` are not configured by Sluice): TLS only (`--listen-tls`, no plain-text listener),
 * optionally requiring client certificates, and SCRAM-SHA-256/SCRAM-SHA-1 authentication against
 * one user created at start-up. FerretDB v1.24.2 does SCRAM only in its "new authentication" mode
 * (`--test-enable-new-auth`, experimental in that version, backend-independent: users live in
 * `admin.system.users`); without it, it accepts only `PLAIN`, which the SQLite backend ignores and
 * the PostgreSQL backend checks against PostgreSQL roles.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceStartError } from '../core/errors.js';
import { PostgresServer } from './postgres-server.js';
import { freePort, ManagedProcess, waitForPort } from './process.js';
import { which } from './redis-server.js';

/** Which kind of server a {@link MongoServer} is. */
export type MongoServerKind = 'external' | 'mongod' | 'ferretdb';

/** Options of {@link MongoServer.start}. */
export interface MongoServerOptions {
  /**
   * Use this URL instead of starting a server.
   * @default process.env.MONGO_URL
   */
  url?: string;
  /** Force a kind of local server (ignores `MONGO_URL`). */
  kind?: 'mongod' | 'ferretdb';
  /**
   * FerretDB's storage: a private PostgreSQL cluster with equality indexes, or SQLite files
   * (no index serves Sluice's queries there; for comparison only).
   * @default 'postgresql'
   */
  ferretdbBackend?: 'postgresql' | 'sqlite';
  /**
   * How long to wait for the port to open.
   * @default 30000
   */
  startTimeoutMs?: number;
  /**
   * Serve TLS only, with this certificate (implies a private FerretDB).
   * @default plain TCP
   */
  tls?: MongoServerTlsOptions;
  /**
   * Require SCRAM authentication as this user (implies a private FerretDB).
   * @default no authentication
   */
  auth?: MongoServerAuthOptions;
}

/** TLS of a private server: PEM files. */
export interface MongoServerTlsOptions {
  /** Server certificate (its names must match the host clients dial: `127.0.0.1`). */
  certFile: string;
  /** Private key of `certFile`. */
  keyFile: string;
  /**
   * CA of the client certificates: when set, every client must present a certificate it signed
   * (mutual TLS).
   * @default client certificates not asked for
   */
  clientCaFile?: string;
}

/** The one user of a private server with authentication. */
export interface MongoServerAuthOptions {
  username: string;
  /** Given to FerretDB through its environment, never on its command line. */
  password: string;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds FerretDB once (cached) and returns the binary path. Prints progress on stderr. */
export function ensureFerretDbBinary(): string {
  const script = join(packageRoot, 'scripts', 'ensure-ferretdb.sh');
  try {
    return execFileSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] }).toString('utf8').trim();
  } catch (error) {
    throw new ServiceStartError('could not build FerretDB (see the output above); or set MONGO_URL', { cause: error });
  }
}

/** A MongoDB wire-protocol server: external, or a private process that tests can kill and restart. */
export class MongoServer {
  private process: ManagedProcess | undefined;

  private constructor(
    /** What serves the protocol. */
    readonly kind: MongoServerKind,
    /**
     * Connection URL (no database in the path). For a server started with `tls` or `auth` it
     * carries neither credentials nor TLS options: add `user:password@` and
     * `?tls=true&tlsCAFile=…` (see docs/PAYLOADS.md).
     */
    readonly url: string,
    readonly port: number | undefined,
    private readonly command: { binary: string; args: string[]; dir: string; env?: NodeJS.ProcessEnv } | undefined,
    private readonly startTimeoutMs: number,
    /** The cluster behind an embedded FerretDB with the PostgreSQL backend. */
    readonly postgres?: PostgresServer,
  ) {
    if (command) this.process = new ManagedProcess(`${kind}:${port}`, command.binary, command.args, { cwd: command.dir, env: command.env });
  }

  /** Process id of a private server. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** True when this is a private process that {@link MongoServer.kill} and {@link MongoServer.restart} can act on. */
  get controllable(): boolean {
    return this.command !== undefined;
  }

  /** Picks and starts a server as described in the module comment. */
  static async start(options: MongoServerOptions = {}): Promise<MongoServer> {
    const timeout = options.startTimeoutMs ?? 30_000;
    const secured = options.tls !== undefined || options.auth !== undefined;
    if (secured && options.kind === 'mongod') {
      throw new ServiceStartError('MongoServer: tls and auth options are implemented for a private FerretDB only');
    }
    const url = options.kind || secured ? undefined : (options.url ?? process.env.MONGO_URL);
    if (url) return new MongoServer('external', url, undefined, undefined, timeout);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-mongo-'));
    const mongod = options.kind === 'ferretdb' || secured ? undefined : which('mongod');
    let server: MongoServer;
    if (mongod) {
      const args = ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dir, '--quiet'];
      server = new MongoServer('mongod', `mongodb://127.0.0.1:${port}`, port, { binary: mongod, args, dir }, timeout);
    } else {
      const binary = ensureFerretDbBinary();
      const { tls, auth } = options;
      const sqlite = options.ferretdbBackend === 'sqlite';
      let postgres: PostgresServer | undefined;
      try {
        postgres = sqlite ? undefined : await PostgresServer.start(dir, { startTimeoutMs: timeout });
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      const args = [
        ...(postgres ? ['--handler=postgresql'] : ['--handler=sqlite', `--sqlite-url=file:${dir}/`]),
        ...(tls
          ? [
              // An empty TCP address turns the plain-text listener off.
              '--listen-addr=',
              `--listen-tls=127.0.0.1:${port}`,
              `--listen-tls-cert-file=${tls.certFile}`,
              `--listen-tls-key-file=${tls.keyFile}`,
              ...(tls.clientCaFile === undefined ? [] : [`--listen-tls-ca-file=${tls.clientCaFile}`]),
            ]
          : [`--listen-addr=127.0.0.1:${port}`]),
        `--state-dir=${dir}`,
        '--telemetry=disable',
        '--debug-addr=-',
        '--log-level=WARN',
        // The user is created on the first start only (setup is skipped once `admin` exists).
        ...(auth ? ['--test-enable-new-auth', '--setup-database=admin', `--setup-username=${auth.username}`] : []),
      ];
      const env = {
        ...process.env,
        // Secrets through the environment, never on a command line.
        ...(postgres ? { FERRETDB_POSTGRESQL_URL: postgres.url } : {}),
        ...(auth ? { FERRETDB_SETUP_PASSWORD: auth.password } : {}),
      };
      server = new MongoServer('ferretdb', `mongodb://127.0.0.1:${port}`, port, { binary, args, dir, env }, timeout, postgres);
    }
    try {
      await server.waitReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async waitReady(): Promise<void> {
    if (!this.process || this.port === undefined) return;
    try {
      await waitForPort(this.port, this.startTimeoutMs, this.process.child);
    } catch (error) {
      throw new ServiceStartError(`${this.kind} on port ${this.port} did not start: ${this.process.recentOutput}`, {
        cause: error,
      });
    }
  }

  private requireControl(action: string): ManagedProcess {
    if (!this.process) throw new ServiceStartError(`cannot ${action} an external MongoDB (MONGO_URL)`);
    return this.process;
  }

  /** SIGKILL the private server. */
  async kill(): Promise<void> {
    await this.requireControl('kill').stop('SIGKILL');
  }

  /** SIGSTOP the private server. */
  pause(): void {
    this.requireControl('pause').signal('SIGSTOP');
  }

  /** SIGCONT after {@link MongoServer.pause}. */
  resume(): void {
    this.requireControl('resume').signal('SIGCONT');
  }

  /** Starts the private server again on the same port and data directory. */
  async restart(): Promise<void> {
    const current = this.requireControl('restart');
    const command = this.command;
    if (!command) return;
    if (current.running) await current.stop('SIGKILL');
    if (this.postgres && !this.postgres.running) await this.postgres.restart();
    this.process = new ManagedProcess(`${this.kind}:${this.port}`, command.binary, command.args, { cwd: command.dir, env: command.env });
    await this.waitReady();
  }

  /** Stops a private server and removes its data; does nothing for an external one. */
  async stop(): Promise<void> {
    if (!this.process || !this.command) return;
    this.process.signal('SIGCONT');
    await this.process.stop('SIGTERM');
    await this.postgres?.stop();
    rmSync(this.command.dir, { recursive: true, force: true });
  }
}
