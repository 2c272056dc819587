/**
 * The one registry of Sluice errors.
 *
 * Every error Sluice throws on purpose is a {@link SluiceError} with a stable `code`
 * (`SLUICE_ERR_*`), the HTTP status the service answers with, and whether retrying the same
 * call later can succeed. Lua scripts fail with `redis.error_reply('SLUICE_ERR_<NAME> detail')`;
 * {@link fromScriptError} turns those replies into the typed errors below, so the codes cannot drift.
 *
 * @packageDocumentation
 */

/** Every error code, with its HTTP status and whether a retry of the same call may succeed. */
export const ErrorCodes = {
  SLUICE_ERR_VALIDATION: { httpStatus: 400, retryable: false },
  SLUICE_ERR_CORRUPT_EVENT: { httpStatus: 500, retryable: false },
  SLUICE_ERR_JOB_NOT_FOUND: { httpStatus: 404, retryable: false },
  SLUICE_ERR_PAYLOAD_NOT_FOUND: { httpStatus: 404, retryable: false },
  SLUICE_ERR_PAYLOAD_STORE_UNAVAILABLE: { httpStatus: 503, retryable: true },
  SLUICE_ERR_PAYLOAD_STORE_ACCESS: { httpStatus: 503, retryable: false },
  SLUICE_ERR_PAYLOAD_CONFLICT: { httpStatus: 409, retryable: false },
  SLUICE_ERR_REDIS_UNAVAILABLE: { httpStatus: 503, retryable: true },
  SLUICE_ERR_STALE_ATTEMPT: { httpStatus: 409, retryable: false },
  SLUICE_ERR_FOREIGN_CLAIM: { httpStatus: 409, retryable: false },
  SLUICE_ERR_INVALID_STATE: { httpStatus: 409, retryable: false },
  SLUICE_ERR_PARTITION_MISMATCH: { httpStatus: 409, retryable: false },
  SLUICE_ERR_CLOSED: { httpStatus: 503, retryable: false },
  SLUICE_ERR_SERVICE_START: { httpStatus: 500, retryable: false },
  SLUICE_ERR_SCRIPT: { httpStatus: 500, retryable: false },
  SLUICE_ERR_UNAUTHORIZED: { httpStatus: 401, retryable: false },
  SLUICE_ERR_FORBIDDEN: { httpStatus: 403, retryable: false },
  SLUICE_ERR_ROUTE_NOT_FOUND: { httpStatus: 404, retryable: false },
  SLUICE_ERR_PAYLOAD_TOO_LARGE: { httpStatus: 413, retryable: false },
  SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retryable: false },
  SLUICE_ERR_OVERLOADED: { httpStatus: 503, retryable: true },
  SLUICE_ERR_INTERNAL: { httpStatus: 500, retryable: false },
  SLUICE_ERR_HISTORY_INCOMPLETE: { httpStatus: 409, retryable: false },
  SLUICE_ERR_QUEUE_NOT_FOUND: { httpStatus: 404, retryable: false },
  SLUICE_ERR_URI_TOO_LONG: { httpStatus: 414, retryable: false },
  SLUICE_ERR_HEADERS_TOO_LARGE: { httpStatus: 431, retryable: false },
  SLUICE_ERR_REQUEST_TIMEOUT: { httpStatus: 408, retryable: false },
} as const satisfies Record<string, { httpStatus: number; retryable: boolean }>;

/** A Sluice error code such as `SLUICE_ERR_VALIDATION`. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Options common to every Sluice error. */
export interface SluiceErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** Structured context (field names, ids); never secrets. */
  details?: Record<string, unknown>;
}

/** Base class of every error Sluice throws on purpose. */
export class SluiceError extends Error {
  /** Stable machine-readable code, `SLUICE_ERR_*`. */
  readonly code: ErrorCode;
  /** HTTP status the service answers with for this error. */
  readonly httpStatus: number;
  /** True when the same call may succeed later (the service answers 503 with Retry-After). */
  readonly retryable: boolean;
  /** Structured context for logs and API error bodies. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = ErrorCodes[code].httpStatus;
    this.retryable = ErrorCodes[code].retryable;
    this.details = options.details ?? {};
  }
}

/** An argument, request field or configuration value is not acceptable. Nothing was changed. */
export class ValidationError extends SluiceError {
  /** The path of the offending field, e.g. `queue` or `jobs[3].priority`. */
  readonly field: string;
  constructor(field: string, message: string, options: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_VALIDATION', `${field}: ${message}`, {
      ...options,
      details: { field, ...options.details },
    });
    this.field = field;
  }
}

/** A stream entry read back from Redis is not a valid Sluice event. */
export class CorruptEventError extends SluiceError {
  /** The stream entry id of the bad entry. */
  readonly entryId: string;
  constructor(entryId: string, reason: string, options: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_CORRUPT_EVENT', `stream entry ${entryId} is not a valid Sluice event: ${reason}`, {
      ...options,
      details: { entryId, reason, ...options.details },
    });
    this.entryId = entryId;
  }
}

/**
 * The queue does not exist: nothing was ever published to it, configured for it or consumed from
 * it by a worker (it is not in the registry of queue names, `sluice:queues`). Reads and
 * operations on existing jobs refuse such a queue instead of answering with an empty one;
 * publishing, configuring and starting a worker create it.
 */
export class QueueNotFoundError extends SluiceError {
  constructor(queue: string) {
    super('SLUICE_ERR_QUEUE_NOT_FOUND', `queue ${queue} not found: nothing was published to it, configured for it or consumed from it`, {
      details: { queue },
    });
  }
}

/** No job with that id exists in the queue's read model. */
export class JobNotFoundError extends SluiceError {
  constructor(queue: string, jobId: string) {
    super('SLUICE_ERR_JOB_NOT_FOUND', `job ${jobId} not found in queue ${queue}`, {
      details: { queue, jobId },
    });
  }
}

/** A payload reference points at a document the payload store does not hold. */
export class PayloadNotFoundError extends SluiceError {
  constructor(collection: string, id: string) {
    super('SLUICE_ERR_PAYLOAD_NOT_FOUND', `payload ${id} not found in collection ${collection}`, {
      details: { collection, id },
    });
  }
}

/**
 * The payload store (MongoDB) could not be reached after the configured retries.
 * Nothing was reported as stored; the call may be repeated later.
 */
export class PayloadStoreUnavailableError extends SluiceError {
  constructor(operation: string, attempts: number, cause: unknown) {
    super(
      'SLUICE_ERR_PAYLOAD_STORE_UNAVAILABLE',
      `payload store unavailable: ${operation} failed after ${attempts} attempt(s): ${describe(cause)}; ` +
        'check MONGO_URL and that MongoDB is up, then retry',
      { cause, details: { operation, attempts } },
    );
  }
}

/** Why MongoDB refused the payload store: see {@link PayloadStoreAccessError}. */
export type PayloadStoreAccessReason = 'authentication' | 'authorization' | 'tls';

const ACCESS_REMEDY: Record<PayloadStoreAccessReason, string> = {
  authentication: 'authentication failed: check the user, password, authSource and authMechanism of MONGO_URL',
  authorization: 'not authorized: give MONGO_URL credentials, or grant its user read and write on the database',
  tls: 'TLS handshake failed: check tls=true, tlsCAFile (the CA that signed the server certificate) and tlsCertificateKeyFile (when the server asks for a client certificate) in MONGO_URL',
};

/**
 * MongoDB refused the payload store: authentication failed, the user lacks a privilege, or the
 * TLS handshake failed (server certificate not trusted, client certificate missing or refused).
 * A configuration problem: it is not retried, and repeating the call cannot help until
 * `MONGO_URL` is fixed. Nothing was reported as stored. The message never holds the password.
 */
export class PayloadStoreAccessError extends SluiceError {
  /** What was refused. */
  readonly reason: PayloadStoreAccessReason;
  constructor(operation: string, reason: PayloadStoreAccessReason, cause: unknown) {
    super('SLUICE_ERR_PAYLOAD_STORE_ACCESS', `payload store refused access: ${operation} failed, ${ACCESS_REMEDY[reason]} (${describe(cause)})`, {
      cause,
      details: { operation, reason },
    });
    this.reason = reason;
  }
}

/**
 * A payload id already holds different content (another hash), or a reference's hash does not
 * match the stored payload. Payload ids are write-once: store changed content under a new id.
 */
export class PayloadConflictError extends SluiceError {
  constructor(collection: string, id: string, reason: string) {
    super('SLUICE_ERR_PAYLOAD_CONFLICT', `payload ${id} in collection ${collection}: ${reason}`, {
      details: { collection, id, reason },
    });
  }
}

/**
 * Redis could not be reached; the call may be repeated later. The message says why in a few
 * words (connection refused, no connection after the client's retries, …) rather than quoting
 * the client library, and names the server when the caller knows its (redacted) URL.
 */
export class RedisUnavailableError extends SluiceError {
  /** What was being done, e.g. `stats` or `publish on queue mail`. */
  readonly operation: string;
  /** The redacted URL of the server, when known. */
  readonly url: string | undefined;

  constructor(operation: string, cause: unknown, options: { url?: string } = {}) {
    const at = options.url === undefined ? '' : ` at ${options.url}`;
    super('SLUICE_ERR_REDIS_UNAVAILABLE', `Redis${at} unavailable during ${operation}: ${redisDownReason(cause)}`, {
      cause,
      details: options.url === undefined ? { operation } : { operation, url: options.url },
    });
    this.operation = operation;
    this.url = options.url;
  }
}

const REDIS_DOWN_REASONS: readonly [RegExp, string][] = [
  [/ECONNREFUSED/, 'connection refused'],
  [/ECONNRESET/, 'connection reset'],
  [/ETIMEDOUT/, 'connection timed out'],
  [/EHOSTUNREACH/, 'host unreachable'],
  [/ENOTFOUND/, 'host not found'],
  [/max retries per request/i, 'no connection after the client\'s retries'],
  [/Connection is closed|Stream isn't writeable/i, 'connection closed'],
  [/LOADING/, 'the server is loading its data set'],
  [/CLUSTERDOWN/, 'the cluster is down'],
  [/Failed to refresh slots cache|None of startup nodes is available/i, 'no cluster node reachable'],
  [/Too many Cluster redirections/i, 'too many cluster redirections'],
];

/** A few words on why Redis is down, from a connection-level error; the error itself otherwise. */
function redisDownReason(cause: unknown): string {
  if (cause instanceof RedisUnavailableError) return redisDownReason(cause.cause);
  const code = cause instanceof Error ? (cause as { code?: unknown }).code : undefined;
  const text = cause instanceof Error ? `${cause.name} ${cause.message} ${typeof code === 'string' ? code : ''}` : String(cause);
  for (const [pattern, reason] of REDIS_DOWN_REASONS) if (pattern.test(text)) return reason;
  return describe(cause);
}

/** ioredis' "out of reconnection retries" error, which does not say why the connection failed. */
function isOutOfRetries(error: unknown): boolean {
  return error instanceof Error && (error.name === 'MaxRetriesPerRequestError' || /max retries per request/i.test(error.message));
}

/**
 * `error` as a {@link RedisUnavailableError} that names the server at `url` (already redacted)
 * when it is a connection-level failure; any other value unchanged. For boundaries that know
 * the configured URL: the HTTP service and the CLI. `connectionError`, the connection's last
 * error when known, gives the reason when the command only failed for lack of a connection
 * (`connection refused` rather than `no connection after the client's retries`).
 */
export function redisUnavailableAt(error: unknown, url: string, operation = 'request', connectionError?: unknown): unknown {
  const because = (cause: unknown): unknown => (isOutOfRetries(cause) && isRedisDown(connectionError) ? connectionError : cause);
  if (error instanceof RedisUnavailableError) return error.url === undefined ? new RedisUnavailableError(error.operation, because(error.cause), { url }) : error;
  if (error instanceof SluiceError || !isRedisDown(error)) return error;
  return new RedisUnavailableError(operation, because(error), { url });
}

/**
 * Connection-level failures of Redis or Redis Cluster, as ioredis reports them: refused or reset
 * sockets, a command out of reconnection retries, a cluster whose slot has no reachable master
 * (`CLUSTERDOWN`), a cluster whose nodes all failed (`Failed to refresh slots cache`), a server
 * still loading its data set.
 */
const REDIS_DOWN =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|max retries per request|Stream isn't writeable|LOADING|CLUSTERDOWN|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections/i;

/** True when `error` says Redis (a server or a cluster's master) could not be reached. */
export function isRedisDown(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError' || REDIS_DOWN.test(error.message);
}

/**
 * `error` as a {@link RedisUnavailableError} naming `operation` when it is a connection-level
 * failure ({@link isRedisDown}); any other value is returned unchanged.
 */
export function asRedisUnavailable(error: unknown, operation: string): unknown {
  if (error instanceof SluiceError || !isRedisDown(error)) return error;
  return new RedisUnavailableError(operation, error);
}

/**
 * An outcome was reported with an attempt token that no longer owns the job: the lease
 * expired and the job was reclaimed, cancelled or finished since. Nothing was changed.
 */
export class StaleAttemptError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_STALE_ATTEMPT', message, options);
  }
}

/**
 * HTTP consume API: a claim token that this queue did not issue (malformed, altered, or issued
 * for another queue). Nothing was changed.
 */
export class ForeignClaimError extends SluiceError {
  constructor(queue: string, reason: string) {
    super('SLUICE_ERR_FOREIGN_CLAIM', `claim token not issued for queue ${queue}: ${reason}; use the token its claim answered`, { details: { queue } });
  }
}

/** The job is not in a state that allows the requested operation (e.g. retrying a completed job). */
export class InvalidStateError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_INVALID_STATE', message, options);
  }
}

/**
 * A partitioned queue was opened with a partition count other than the one stored for it when it
 * was first opened. Jobs are routed by `hash(partitionKey) mod N`, so another N would send the same
 * key to another partition: open it with the stored count (or omit the count where that is allowed).
 */
export class PartitionCountMismatchError extends SluiceError {
  /** The logical queue. */
  readonly queue: string;
  /** The partition count stored for the queue. */
  readonly stored: number;
  /** The partition count asked for. */
  readonly requested: number;
  constructor(queue: string, stored: number, requested: number) {
    super(
      'SLUICE_ERR_PARTITION_MISMATCH',
      `partitioned queue ${queue} has ${stored} partitions, not ${requested}: open it with partitions: ${stored}`,
      { details: { queue, stored, requested } },
    );
    this.queue = queue;
    this.stored = stored;
    this.requested = requested;
  }
}

/**
 * A replay of a queue's history (verify, rebuild, a job's history) cannot see all of it: the
 * event stream was trimmed after archiving and no archive was given, or the archive given does
 * not reach the stream's first entry, or the events replayed do not add up to the number the
 * stream has had appended. Nothing was changed; pass the archive the queue is archived to.
 */
export class HistoryIncompleteError extends SluiceError {
  /** The queue whose history is incomplete. */
  readonly queue: string;
  constructor(queue: string, message: string, details: Record<string, unknown> = {}) {
    super('SLUICE_ERR_HISTORY_INCOMPLETE', message, { details: { queue, ...details } });
    this.queue = queue;
  }
}

/** The object (queue, worker, store, log) was closed; create a new one. */
export class ClosedError extends SluiceError {
  constructor(what: string) {
    super('SLUICE_ERR_CLOSED', `${what} is closed`);
  }
}

/** A local service (redis-server, FerretDB, mongod) could not be started. */
export class ServiceStartError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_SERVICE_START', message, options);
  }
}

/** The HTTP service got no bearer token, or one it does not know. */
export class UnauthorizedError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_ERR_UNAUTHORIZED', message);
  }
}

/** The bearer token is valid but lacks the scope, or its queue patterns do not cover the queue. */
export class ForbiddenError extends SluiceError {
  constructor(message: string, options: SluiceErrorOptions = {}) {
    super('SLUICE_ERR_FORBIDDEN', message, options);
  }
}

/**
 * Throw this from a handler to fail the job without further attempts: it is dead-lettered
 * right away with reason `unrecoverable`.
 */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/** The reason a handler's AbortSignal fires. */
export class JobAbortedError extends Error {
  /** Why: the per-job timeout passed, the lease was lost (reclaimed or cancelled), or the worker is shutting down. */
  readonly reason: 'timeout' | 'lease-lost' | 'shutdown';
  constructor(reason: 'timeout' | 'lease-lost' | 'shutdown', message: string) {
    super(message);
    this.name = 'JobAbortedError';
    this.reason = reason;
  }
}

/** True when `error` is a {@link SluiceError}, optionally with the given code. */
export function isSluiceError(error: unknown, code?: ErrorCode): error is SluiceError {
  return error instanceof SluiceError && (code === undefined || error.code === code);
}

const scriptErrorPattern = /(SLUICE_ERR_[A-Z_]+)\s*(.*)$/s;

/**
 * Maps an error raised by a Sluice Lua script (`redis.error_reply('SLUICE_ERR_X detail')`) to
 * its typed error. Errors that carry no Sluice code are returned unchanged.
 */
export function fromScriptError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const match = scriptErrorPattern.exec(error.message);
  if (!match) return error;
  const code = match[1] as string;
  const detail = (match[2] ?? '').trim();
  switch (code) {
    case 'SLUICE_ERR_STALE_ATTEMPT':
      return new StaleAttemptError(detail || 'stale attempt token', { cause: error });
    case 'SLUICE_ERR_INVALID_STATE':
      return new InvalidStateError(detail || 'invalid state', { cause: error });
    case 'SLUICE_ERR_JOB_NOT_FOUND': {
      const [queue = '?', jobId = '?'] = detail.split(' ');
      return new JobNotFoundError(queue, jobId);
    }
    case 'SLUICE_ERR_HISTORY_INCOMPLETE': {
      // Raised with error() inside the fold, so Redis appends where: drop that.
      const text = detail.replace(/\s*script: [0-9a-f]+, on @user_script:\d+\.$/, '');
      const space = text.indexOf(' ');
      return new HistoryIncompleteError(space < 0 ? '?' : text.slice(0, space), space < 0 ? text : text.slice(space + 1));
    }
    case 'SLUICE_ERR_VALIDATION': {
      const space = detail.indexOf(' ');
      return space < 0
        ? new ValidationError('argument', detail, { cause: error })
        : new ValidationError(detail.slice(0, space), detail.slice(space + 1), { cause: error });
    }
    default:
      return new SluiceError(code in ErrorCodes ? (code as ErrorCode) : 'SLUICE_ERR_SCRIPT', detail || code, {
        cause: error,
      });
  }
}

/** A short, secret-free description of an unknown thrown value. */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
