import { MongoError, MongoErrorLabel, MongoNetworkError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { PayloadStoreAccessError, PayloadStoreUnavailableError, ValidationError } from '../../src/core/errors.js';
import {
  accessFailure,
  retryDelay,
  DEFAULT_RETRY,
  isTransientMongoError,
  toRetryPolicy,
  TransientStoreError,
  withRetry,
  wraps,
  type RetryPolicy,
} from '../../src/payloads/retry.js';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxRetryTimeMs: 10_000 };

/** A fake clock whose sleep advances it, so retry budgets are tested without waiting. */
function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let time = 0;
  const slept: number[] = [];
  return {
    now: () => time,
    sleep: (ms) => {
      slept.push(ms);
      time += ms;
      return Promise.resolve();
    },
    slept,
  };
}

function serverError(code: number, labels: string[] = []): MongoServerError {
  return new MongoServerError({ message: `server error ${code}`, code, errorLabels: labels });
}

describe('retryDelay', () => {
  it('doubles from the base delay up to the cap, with the jitter in the upper half', () => {
    expect([1, 2, 3, 4, 5, 6].map((retry) => retryDelay(retry, policy, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3, 4, 5].map((retry) => retryDelay(retry, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect(retryDelay(2, policy, () => 0.5)).toBe(150);
  });
});

describe('toRetryPolicy', () => {
  it('fills in the defaults and rejects nonsense', () => {
    expect(toRetryPolicy()).toEqual(DEFAULT_RETRY);
    expect(toRetryPolicy({ maxAttempts: 2 })).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2 });
    expect(() => toRetryPolicy({ maxAttempts: 0 })).toThrow(ValidationError);
    expect(() => toRetryPolicy({ baseDelayMs: -1 })).toThrow(/retry\.baseDelayMs/);
    expect(() => toRetryPolicy({ maxRetryTimeMs: Number.NaN })).toThrow(/retry\.maxRetryTimeMs/);
  });
});

describe('isTransientMongoError', () => {
  const cases: [string, unknown, boolean][] = [
    ['a network error', new MongoNetworkError('connection reset'), true],
    ['a closed topology (failed first connect)', new MongoTopologyClosedError(), true],
    ['a primary step-down (189)', serverError(189), true],
    ['a NotWritablePrimary (10107)', serverError(10107), true],
    ['an unsatisfied w:majority (64)', serverError(64), true],
    ['a RetryableWriteError label', serverError(1, [MongoErrorLabel.RetryableWriteError]), true],
    ['a bare socket error', Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' }), true],
    ['a network error wrapped as errorResponse', Object.assign(new MongoError('wrapped'), { errorResponse: new MongoNetworkError('x') }), true],
    ['a network error wrapped as cause', new Error('outer', { cause: new MongoNetworkError('x') }), true],
    ['a TransientStoreError', new TransientStoreError('vanished'), true],
    ['a duplicate key (11000)', serverError(11000), false],
    ['an authentication failure (18)', serverError(18), false],
    ['an authentication failure labelled ResetPool, as the driver does', serverError(18, [MongoErrorLabel.HandshakeError, MongoErrorLabel.ResetPool]), false],
    ['a Sluice error, even about a network error', new PayloadStoreUnavailableError('put', 5, new MongoNetworkError('x')), false],
    ['a TypeError', new TypeError('bug'), false],
    ['a non-error', 'ECONNRESET', false],
  ];
  it.each(cases)('%s → %s', (_, error, transient) => {
    expect(isTransientMongoError(error)).toBe(transient);
  });

  it('finds a wrapped error type with wraps()', () => {
    const wrapped = Object.assign(new MongoError('bulk'), { errorResponse: new MongoTopologyClosedError() });
    expect(wraps(wrapped, MongoTopologyClosedError)).toBe(true);
    expect(wraps(new MongoNetworkError('x'), MongoTopologyClosedError)).toBe(false);
  });
});

describe('withRetry', () => {
  it('retries transient failures with backoff until the call succeeds', async () => {
    const time = fakeTime();
    const attempts: number[] = [];
    const result = await withRetry(
      (n) => {
        attempts.push(n);
        return n < 3 ? Promise.reject(new MongoNetworkError('down')) : Promise.resolve('stored');
      },
      { operation: 'put', policy, now: time.now, sleep: time.sleep, random: () => 1 },
    );
    expect(result).toBe('stored');
    expect(attempts).toEqual([1, 2, 3]);
    expect(time.slept).toEqual([100, 200]);
  });

  it('rethrows a non-transient error at once', async () => {
    const time = fakeTime();
    const duplicate = serverError(11000);
    let calls = 0;
    const attempt = (): Promise<never> => {
      calls++;
      return Promise.reject(duplicate);
    };
    await expect(withRetry(attempt, { operation: 'put', policy, now: time.now, sleep: time.sleep })).rejects.toBe(
      duplicate,
    );
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with a retryable PayloadStoreUnavailableError wrapping the last error', async () => {
    const time = fakeTime();
    const last = new MongoNetworkError('still down');
    const error = await withRetry(() => Promise.reject(last), {
      operation: 'getMany',
      policy,
      now: time.now,
      sleep: time.sleep,
      random: () => 0,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadStoreUnavailableError);
    expect(error).toMatchObject({ retryable: true, httpStatus: 503, cause: last, details: { operation: 'getMany', attempts: 5 } });
    expect(time.slept).toHaveLength(4);
  });

  it('starts no retry that would end past maxRetryTimeMs', async () => {
    const time = fakeTime();
    let calls = 0;
    const slowFailure = async (): Promise<never> => {
      calls++;
      await time.sleep(1500); // each attempt burns 1.5 s (e.g. server selection)
      throw new MongoNetworkError('down');
    };
    const error = await withRetry(slowFailure, {
      operation: 'put',
      policy: { ...policy, maxAttempts: 100, maxRetryTimeMs: 4000 },
      now: time.now,
      sleep: time.sleep,
      random: () => 1,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadStoreUnavailableError);
    // 1.5 s, +0.1 s, 1.5 s (3.1 s), +0.2 s, 1.5 s (4.8 s): the next retry would start past 4 s.
    expect(calls).toBe(3);
    expect(time.now()).toBeLessThanOrEqual(4000 + 1500);
  });

  it('stops when beforeRetry throws (e.g. the store was closed)', async () => {
    const time = fakeTime();
    const closed = new Error('closed');
    let calls = 0;
    const error = await withRetry(
      () => {
        calls++;
        return Promise.reject(new MongoNetworkError('down'));
      },
      {
        operation: 'put',
        policy,
        now: time.now,
        sleep: time.sleep,
        beforeRetry: () => {
          throw closed;
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBe(closed);
    expect(calls).toBe(1);
  });
});

describe('accessFailure', () => {
  /** A server selection error around a TLS failure, as the driver reports an untrusted certificate. */
  function selectionFailure(code: string): Error {
    const socket = Object.assign(new Error(`TLS failure ${code}`), { code });
    return Object.assign(new MongoServerSelectionError('selection failed', {} as never), { cause: new MongoNetworkError(socket.message, { cause: socket }) });
  }
  const cases: [string, unknown, ReturnType<typeof accessFailure>][] = [
    ['AuthenticationFailed (18)', serverError(18, [MongoErrorLabel.ResetPool]), 'authentication'],
    ['Unauthorized (13)', serverError(13), 'authorization'],
    ['an untrusted server certificate', selectionFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls'],
    ['a server certificate for another host', selectionFailure('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    ['a missing client certificate (TLS alert)', Object.assign(new MongoNetworkError('x'), { cause: Object.assign(new Error('alert'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }) }), 'tls'],
    ['an auth failure inside a bulk write', Object.assign(new MongoError('bulk'), { errorResponse: serverError(18) }), 'authentication'],
    ['a network error', new MongoNetworkError('connection reset'), undefined],
    ['a reset during the TLS handshake (a plain-text server)', selectionFailure('ECONNRESET'), undefined],
    ['a duplicate key', serverError(11000), undefined],
  ];
  it.each(cases)('%s → %s', (_, error, reason) => {
    expect(accessFailure(error)).toBe(reason);
  });

  it('makes withRetry fail at once with a typed, non-retryable PayloadStoreAccessError', async () => {
    const time = fakeTime();
    let calls = 0;
    const error = await withRetry(
      () => {
        calls++;
        return Promise.reject(serverError(18, [MongoErrorLabel.HandshakeError, MongoErrorLabel.ResetPool]));
      },
      { operation: 'put', policy, now: time.now, sleep: time.sleep },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(PayloadStoreAccessError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_PAYLOAD_STORE_ACCESS', reason: 'authentication', retryable: false, details: { operation: 'put', reason: 'authentication' } });
    expect(String(error)).toMatch(/authentication failed: check the user, password, authSource and authMechanism of MONGO_URL/);
  });
});
