/**
 * Retry with exponential backoff and jitter for MongoDB calls, and the rule deciding which
 * errors are transient (worth retrying) and which are not.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import {
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import {
  PayloadStoreAccessError,
  PayloadStoreUnavailableError,
  SluiceError,
  ValidationError,
  type PayloadStoreAccessReason,
} from '../core/errors.js';

/** Retry policy of a payload store. */
export interface RetryOptions {
  /**
   * Attempts in total, the first included (1 = no retry).
   * @default 5
   */
  maxAttempts?: number;
  /**
   * Delay before the first retry; doubled for each further retry, then jittered.
   * @default 100
   */
  baseDelayMs?: number;
  /**
   * Upper bound of one delay before jitter.
   * @default 2000
   */
  maxDelayMs?: number;
  /**
   * No retry starts when the time spent since the first attempt plus the next delay would exceed
   * this. The call can still take up to one more attempt longer (bounded by the client's
   * `serverSelectionTimeoutMS` and `socketTimeoutMS`).
   * @default 10000
   */
  maxRetryTimeMs?: number;
}

/** A {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 2000,
  maxRetryTimeMs: 10_000,
});

/** Fills in and checks a retry policy. */
export function toRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...options };
  for (const [name, value] of Object.entries(policy)) {
    const min = name === 'maxAttempts' ? 1 : 0;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new ValidationError(`retry.${name}`, `must be an integer of at least ${min}, got ${String(value)}`);
    }
  }
  return policy;
}

/**
 * Delay before retry number `retry` (1 = the first retry): "equal jitter", a uniformly random
 * value in [d/2, d] where d = min(maxDelayMs, baseDelayMs * 2^(retry-1)). Half of it is fixed so
 * retries stay spaced out; the random half spreads clients that failed together.
 */
export function retryDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

// Server error codes after which the same call can succeed: the retryable-reads/-writes codes of
// the MongoDB specifications (HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
// PrimarySteppedDown, ExceededTimeLimit, SocketException, NotWritablePrimary,
// InterruptedAtShutdown, InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk,
// NotPrimaryOrSecondary, ReadConcernMajorityNotAvailableYet), plus WriteConcernFailed (64,
// w:majority timed out: the write may not be durable, and re-putting is idempotent).
const transientCodes = new Set([6, 7, 64, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

// Socket errors of Node itself. The driver sometimes lets one through unwrapped (seen with
// "This socket has been ended by the other party" right after the server died) or copies its
// `code` onto a MongoBulkWriteError.
const transientSystemCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

const transientLabels: readonly string[] = [
  MongoErrorLabel.RetryableWriteError,
  MongoErrorLabel.RetryableError,
  MongoErrorLabel.SystemOverloadedError,
  MongoErrorLabel.TransientTransactionError,
  MongoErrorLabel.ResetPool,
  MongoErrorLabel.PoolRequestedRetry,
  MongoErrorLabel.InterruptInUseConnections,
];

/**
 * A condition the store itself found to be transient (e.g. a write concern not satisfied, or a
 * payload deleted while a put re-confirmed it): the attempt is retried like a network error.
 */
export class TransientStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientStoreError';
  }
}

/**
 * True when `error` means the server was unreachable or temporarily unable to serve, so the same
 * call may succeed later. Everything else (bad arguments, authentication, duplicate keys, a
 * closed client) is not transient and is not retried.
 */
export function isTransientMongoError(error: unknown): boolean {
  return isTransient(error, 0);
}

function isTransient(error: unknown, depth: number): boolean {
  // A Sluice error is a decision already made (possibly about a transient cause): never retried.
  if (!(error instanceof Error) || error instanceof SluiceError || depth > 3) return false;
  if (depth === 0 && accessFailure(error) !== undefined) return false;
  if (
    error instanceof TransientStoreError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError ||
    // A first connection that failed leaves the client with a closed topology; the store
    // reconnects before the next attempt (see MongoPayloadStore).
    error instanceof MongoTopologyClosedError ||
    // Connection pool checkout timed out; the class is not exported.
    error.name === 'MongoWaitQueueTimeoutError'
  ) {
    return true;
  }
  if (error instanceof MongoError && transientLabels.some((label) => error.hasErrorLabel(label))) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number' && transientCodes.has(code)) return true;
  if (typeof code === 'string' && transientSystemCodes.has(code)) return true;
  // insertMany wraps driver errors (network, server selection) in a MongoBulkWriteError, which
  // keeps the original as `errorResponse`; other errors keep theirs as `cause`.
  const { errorResponse } = error as { errorResponse?: unknown };
  return isTransient(errorResponse, depth + 1) || isTransient(error.cause, depth + 1);
}

// AuthenticationFailed (wrong user, password, authSource or mechanism) and Unauthorized (no
// credentials, or a user without the privilege). The driver labels a failed handshake
// `ResetPool`, which alone would make it look transient.
const AUTHENTICATION_FAILED = 18;
const UNAUTHORIZED = 13;

// Node's certificate verification failures (OpenSSL X509 codes and Node's own); `ERR_SSL_*`
// codes (alerts such as "certificate required" from a server asking for a client certificate)
// are matched by prefix.
const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Why MongoDB refused access, when `error` (or an error it wraps: a server selection error keeps
 * the TLS failure as its `cause`) is an authentication, authorization or TLS certificate
 * failure; `undefined` for anything else. These are configuration problems: never retried.
 */
export function accessFailure(error: unknown, depth = 0): PayloadStoreAccessReason | undefined {
  if (!(error instanceof Error) || error instanceof SluiceError || depth > 3) return undefined;
  const code = (error as { code?: unknown }).code;
  if (error instanceof MongoError && code === AUTHENTICATION_FAILED) return 'authentication';
  if (error.name === 'MongoMissingCredentialsError') return 'authentication';
  if (error instanceof MongoError && code === UNAUTHORIZED) return 'authorization';
  if (typeof code === 'string' && (tlsCodes.has(code) || code.startsWith('ERR_SSL_'))) return 'tls';
  const { errorResponse, cause } = error as { errorResponse?: unknown; cause?: unknown };
  return accessFailure(errorResponse, depth + 1) ?? accessFailure(cause, depth + 1);
}

/**
 * True when `error`, or an error it wraps (`errorResponse` of a MongoBulkWriteError, `cause`), is
 * an instance of `type`.
 */
export function wraps(error: unknown, type: abstract new (...args: never[]) => Error, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false;
  const { errorResponse, cause } = error as { errorResponse?: unknown; cause?: unknown };
  return error instanceof type || wraps(errorResponse, type, depth + 1) || wraps(cause, type, depth + 1);
}

/** What {@link withRetry} needs besides the policy. */
export interface RetryContext {
  /** Name of the operation, for the error message (`put`, `getMany`). */
  operation: string;
  policy: RetryPolicy;
  /** @default {@link isTransientMongoError} */
  isTransient?: (error: unknown) => boolean;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** @default a timer */
  sleep?: (ms: number) => Promise<void>;
  /** Randomness of the jitter. @default Math.random */
  random?: () => number;
  /**
   * Called before each retry; may throw to stop retrying (e.g. because the store was closed).
   * @default nothing
   */
  beforeRetry?: (error: unknown) => void;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error (rethrown as is, except that
 * an {@link accessFailure} becomes a {@link PayloadStoreAccessError} at once), or the policy is
 * exhausted — then rejects with {@link PayloadStoreUnavailableError} wrapping the last transient
 * error.
 */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, context: RetryContext): Promise<T> {
  const isTransient = context.isTransient ?? isTransientMongoError;
  const now = context.now ?? Date.now;
  const sleep = context.sleep ?? ((ms: number) => sleepMs(ms));
  const { policy } = context;
  const started = now();
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const refused = accessFailure(error);
      if (refused) throw new PayloadStoreAccessError(context.operation, refused, error);
      if (!isTransient(error)) throw error;
      const delay = retryDelay(n, policy, context.random);
      if (n >= policy.maxAttempts || now() - started + delay > policy.maxRetryTimeMs) {
        throw new PayloadStoreUnavailableError(context.operation, n, error);
      }
      await sleep(delay);
      context.beforeRetry?.(error);
    }
  }
}
