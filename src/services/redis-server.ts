/**
 * Private `redis-server` instances on free ports, for tests, benchmarks and the quick start.
 * Each instance can be killed (SIGKILL), paused (SIGSTOP), resumed (SIGCONT) and restarted on
 * the same port and data directory, which is what the fault tests need.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceStartError } from '../core/errors.js';
import { freePort, ManagedProcess, waitForPort } from './process.js';

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** TCP port; a free one is chosen when omitted. */
  port?: number;
  /**
   * Append-only file fsync policy; `'no-aof'` keeps nothing on disk.
   * @default 'no-aof'
   */
  persistence?: 'no-aof' | 'always' | 'everysec';
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '100mb']`. */
  extraArgs?: string[];
  /**
   * How long to wait for the port to open.
   * @default 10000
   */
  startTimeoutMs?: number;
}

/** Returns the path of `redis-server`, installing Debian's package with apt when it is missing. */
export function ensureRedisServerBinary(): string {
  const found = which('redis-server');
  if (found) return found;
  process.stderr.write('services: redis-server not found; installing Debian package redis-server with apt...\n');
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    throw new ServiceStartError('could not install redis-server with apt-get; install it and retry', { cause: error });
  }
  const installed = which('redis-server');
  if (!installed) throw new ServiceStartError('redis-server is still missing after apt-get install');
  return installed;
}

/** A running private Redis server. */
export class RedisServer {
  private process: ManagedProcess;

  private constructor(
    private readonly binary: string,
    /** TCP port on 127.0.0.1. */
    readonly port: number,
    /** Data directory (AOF files), removed by {@link RedisServer.stop}. */
    readonly dir: string,
    private readonly args: string[],
    private readonly startTimeoutMs: number,
  ) {
    this.process = new ManagedProcess(`redis-server:${port}`, binary, args, { cwd: dir });
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Process id of the current server process. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** True while the server process is alive (also while paused). */
  get running(): boolean {
    return this.process.running;
  }

  /** Starts a server; resolves when it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const binary = ensureRedisServerBinary();
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
    const persistence = options.persistence ?? 'no-aof';
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--dir', dir,
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--logfile', '',
      ...(persistence === 'no-aof' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', persistence]),
      ...(options.extraArgs ?? []),
    ];
    const server = new RedisServer(binary, port, dir, args, options.startTimeoutMs ?? 10_000);
    await server.waitReady();
    return server;
  }

  private async waitReady(): Promise<void> {
    try {
      await waitForPort(this.port, this.startTimeoutMs, this.process.child);
    } catch (error) {
      throw new ServiceStartError(`redis-server on port ${this.port} did not start: ${this.process.recentOutput}`, {
        cause: error,
      });
    }
  }

  /** SIGKILL the server: an abrupt crash, nothing flushed beyond what the fsync policy wrote. */
  async kill(): Promise<void> {
    await this.process.stop('SIGKILL');
  }

  /** SIGSTOP: the server stops answering but keeps its connections open. */
  pause(): void {
    this.process.signal('SIGSTOP');
  }

  /** SIGCONT after {@link RedisServer.pause}. */
  resume(): void {
    this.process.signal('SIGCONT');
  }

  /** Starts the server again on the same port and data directory (after {@link RedisServer.kill}). */
  async restart(): Promise<void> {
    if (this.process.running) await this.process.stop('SIGKILL');
    this.process = new ManagedProcess(`redis-server:${this.port}`, this.binary, this.args, { cwd: this.dir });
    await this.waitReady();
  }

  /** Stops the server (SIGCONT first in case it is paused) and removes its data directory. */
  async stop(): Promise<void> {
    this.process.signal('SIGCONT');
    await this.process.stop('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Shorthand for {@link RedisServer.start}. */
export function startRedisServer(options?: RedisServerOptions): Promise<RedisServer> {
  return RedisServer.start(options);
}

/** Absolute path of `command` on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
