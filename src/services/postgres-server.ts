/**
 * A private PostgreSQL cluster for the embedded MongoDB-wire server (FerretDB's PostgreSQL
 * backend), started like the private Redis: `initdb` into a temporary folder, then `postgres` on a
 * free loopback port. Debian's `postgresql` package is installed with apt when the binaries are
 * missing. PostgreSQL refuses to run as root, so when we are root the cluster runs as the
 * `postgres` system user (created by that package) and its folder is owned by it.
 *
 * Embedded-only set-up, for FerretDB v1.24.2 (a real MongoDB needs none of this, it uses the
 * indexes of docs/PAYLOADS.md): FerretDB pushes an equality filter down as
 * `WHERE _jsonb->$1 @> $2`, which its own btree indexes on `(_jsonb->'_id')` cannot serve, so
 * every `findOne({_id})` was a sequential scan. This module
 * - installs an event trigger that gives every collection table FerretDB creates (lazily, one per
 *   collection) a GIN index on `(_jsonb->'<field>')` for each field of
 *   {@link EMBEDDED_EQUALITY_FIELDS}, with `fastupdate = off` (with the pending list on, a lookup
 *   after a bulk insert scans the whole list: 5 ms instead of 0.04 ms at 100k documents);
 * - runs the server with `plan_cache_mode = force_custom_plan`, so the planner sees the field name
 *   (`$1`) of FerretDB's cached statements and can match the expression index;
 * - turns durability off (`fsync`, `synchronous_commit`, `full_page_writes`): the cluster lives in
 *   a temporary folder removed on stop, and killing the server process is still safe (the OS keeps
 *   what was written); an OS crash is not.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ServiceStartError } from '../core/errors.js';
import { freePort, ManagedProcess, sleep, waitForPort } from './process.js';
import { which } from './redis-server.js';

/**
 * Top-level fields whose equality filters the embedded server answers from an index (a GIN index
 * on each collection table). Sluice reads payloads, results and archive documents by `_id`, and
 * payloads published together by their read `group` (src/payloads/encoding.ts), and payload
 * search terms (`terms`, src/payloads/terms.ts; an array, matched by containment).
 */
export const EMBEDDED_EQUALITY_FIELDS: readonly string[] = ['_id', 'group', 'terms'];

/** The database FerretDB keeps its MongoDB databases in (one PostgreSQL schema each). */
const DATABASE = 'ferretdb';
/** The role FerretDB connects as. */
const ROLE = 'sluice';

/** Where the PostgreSQL server binaries are. */
interface PostgresBinaries {
  initdb: string;
  postgres: string;
  psql: string;
}

function binariesIn(dir: string): PostgresBinaries | undefined {
  const found = { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres'), psql: join(dir, 'psql') };
  return Object.values(found).every((path) => existsSync(path)) ? found : undefined;
}

function findBinaries(): PostgresBinaries | undefined {
  // Debian puts them in /usr/lib/postgresql/<major>/bin (not on PATH); an `initdb` on PATH is
  // often a link into that folder, whose psql is the real one (not Debian's wrapper script).
  const onPath = which('initdb');
  if (onPath) {
    const found = binariesIn(dirname(realpathSync(onPath)));
    if (found) return found;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const found = binariesIn(join(root, major, 'bin'));
    if (found) return found;
  }
  return undefined;
}

/** Returns the PostgreSQL binaries, installing Debian's `postgresql` with apt when they are missing. */
export function ensurePostgresBinaries(): PostgresBinaries {
  const found = findBinaries();
  if (found) return found;
  process.stderr.write('services: PostgreSQL not found; installing Debian package postgresql with apt...\n');
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    throw new ServiceStartError('could not install postgresql with apt-get; install it, or set MONGO_URL', { cause: error });
  }
  const installed = findBinaries();
  if (!installed) throw new ServiceStartError('PostgreSQL binaries (initdb, postgres, psql) still missing after apt-get install');
  return installed;
}

/** The user the cluster runs as: ourselves, or the `postgres` system user when we are root. */
function clusterUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new ServiceStartError('PostgreSQL refuses to run as root and there is no "postgres" user; install the postgresql package');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** SQL run once on a new cluster, in database {@link DATABASE}: the index trigger. */
function setupSql(fields: readonly string[]): string {
  const list = fields.map((field) => `'${field.replaceAll("'", "''")}'`).join(', ');
  return `
CREATE SCHEMA sluice_embedded;
CREATE FUNCTION sluice_embedded.index_collection() RETURNS event_trigger LANGUAGE plpgsql AS $fn$
DECLARE
  created record;
  field text;
BEGIN
  FOR created IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' LOOP
    CONTINUE WHEN created.schema_name IN ('public', 'sluice_embedded', 'pg_catalog', 'information_schema');
    -- FerretDB's collection tables have a jsonb column _jsonb; its metadata table is left alone.
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = created.objid AND attname = '_jsonb' AND NOT attisdropped);
    CONTINUE WHEN (SELECT relname FROM pg_class WHERE oid = created.objid) = '_ferretdb_database_metadata';
    FOREACH field IN ARRAY ARRAY[${list}]::text[] LOOP
      EXECUTE format('CREATE INDEX ON %s USING gin ((_jsonb -> %L) jsonb_path_ops) WITH (fastupdate = off)', created.object_identity, field);
    END LOOP;
  END LOOP;
END
$fn$;
CREATE EVENT TRIGGER sluice_equality_indexes ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION sluice_embedded.index_collection();
`;
}

/** A running private PostgreSQL cluster prepared for FerretDB. */
export class PostgresServer {
  private process: ManagedProcess;

  private constructor(
    private readonly binaries: PostgresBinaries,
    /** TCP port on 127.0.0.1. */
    readonly port: number,
    /** Cluster folder (owned by the cluster's user), removed by {@link PostgresServer.stop}. */
    readonly dir: string,
    private readonly password: string,
    private readonly user: { uid: number; gid: number } | undefined,
    private readonly startTimeoutMs: number,
  ) {
    this.process = this.spawn();
  }

  /**
   * The URL FerretDB connects with (`--postgresql-url`); it carries the password, so pass it
   * through the environment (`FERRETDB_POSTGRESQL_URL`), not a command line.
   */
  get url(): string {
    return `postgres://${ROLE}:${this.password}@127.0.0.1:${this.port}/${DATABASE}`;
  }

  /** Process id of the postmaster. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** True while the postmaster is alive. */
  get running(): boolean {
    return this.process.running;
  }

  /**
   * Creates a cluster in `parent`/pg (a fresh folder), starts it and prepares the database.
   * `parent` must be traversable by the cluster's user.
   */
  static async start(parent: string, options: { startTimeoutMs?: number; equalityFields?: readonly string[] } = {}): Promise<PostgresServer> {
    const binaries = ensurePostgresBinaries();
    const user = clusterUser();
    const dir = join(parent, 'pg');
    mkdirSync(dir, { mode: 0o700 });
    if (user) {
      chmodSync(parent, 0o711);
      chownSync(dir, user.uid, user.gid);
    }
    const password = randomBytes(18).toString('base64url');
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) chownSync(pwfile, user.uid, user.gid);
    const run = (binary: string, args: string[], input?: string): void => {
      try {
        execFileSync(binary, args, {
          cwd: dir,
          input,
          stdio: ['pipe', 'pipe', 'pipe'],
          uid: user?.uid,
          gid: user?.gid,
          env: { ...process.env, PGPASSWORD: password, LC_ALL: 'C' },
        });
      } catch (error) {
        const stderr = (error as { stderr?: Buffer }).stderr?.toString('utf8').trim() ?? '';
        throw new ServiceStartError(`PostgreSQL set-up failed (${binary.split('/').pop()}): ${stderr || String(error)}`);
      }
    };
    run(binaries.initdb, ['-D', join(dir, 'data'), '-U', ROLE, '--pwfile', pwfile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
    rmSync(pwfile);
    const server = new PostgresServer(binaries, await freePort(), dir, password, user, options.startTimeoutMs ?? 30_000);
    try {
      await server.waitReady();
      const psql = ['-h', '127.0.0.1', '-p', String(server.port), '-U', ROLE, '-X', '-q', '-v', 'ON_ERROR_STOP=1'];
      // The port opens before the server accepts sessions ("the database system is starting up").
      const deadline = Date.now() + server.startTimeoutMs;
      for (;;) {
        try {
          run(binaries.psql, [...psql, '-d', 'postgres', '-c', 'SELECT 1']);
          break;
        } catch (error) {
          if (Date.now() > deadline || !server.running) throw error;
          await sleep(100);
        }
      }
      run(binaries.psql, [...psql, '-d', 'postgres', '-c', `CREATE DATABASE ${DATABASE}`]);
      run(binaries.psql, [...psql, '-d', DATABASE, '-f', '-'], setupSql(options.equalityFields ?? EMBEDDED_EQUALITY_FIELDS));
    } catch (error) {
      await server.kill();
      throw error;
    }
    return server;
  }

  private spawn(): ManagedProcess {
    const args = [
      '-D', join(this.dir, 'data'),
      '-p', String(this.port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'plan_cache_mode=force_custom_plan',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_parallel_workers_per_gather=0',
      // Room for a pre-loaded collection's hot pages (touched only as used).
      '-c', 'shared_buffers=256MB',
      '-c', 'log_min_messages=warning',
    ];
    return new ManagedProcess(`postgres:${this.port}`, this.binaries.postgres, args, { cwd: this.dir, uid: this.user?.uid, gid: this.user?.gid });
  }

  private async waitReady(): Promise<void> {
    try {
      await waitForPort(this.port, this.startTimeoutMs, this.process.child);
    } catch (error) {
      throw new ServiceStartError(`postgres on port ${this.port} did not start: ${this.process.recentOutput}`, { cause: error });
    }
  }

  /** SIGKILL the postmaster (its backends exit on their own when they notice). */
  async kill(): Promise<void> {
    await this.process.stop('SIGKILL');
  }

  /** Starts the postmaster again on the same port and data (after a kill). */
  async restart(): Promise<void> {
    if (this.process.running) await this.process.stop('SIGKILL');
    this.process = this.spawn();
    await this.waitReady();
  }

  /** Fast shutdown (SIGINT: active sessions are ended); does not remove the folder. */
  async stop(): Promise<void> {
    this.process.signal('SIGCONT');
    await this.process.stop('SIGINT');
  }
}
