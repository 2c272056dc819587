import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  fromScriptError,
  HistoryIncompleteError,
  InvalidStateError,
  JobNotFoundError,
  SluiceError,
  StaleAttemptError,
  ValidationError,
} from '../../src/core/errors.js';

describe('error registry', () => {
  it('maps script replies to typed errors with their code and status', () => {
    const stale = fromScriptError(new Error('SLUICE_ERR_STALE_ATTEMPT job 7 was reclaimed'));
    expect(stale).toBeInstanceOf(StaleAttemptError);
    expect((stale as SluiceError).httpStatus).toBe(409);
    expect((stale as SluiceError).message).toBe('job 7 was reclaimed');

    const missing = fromScriptError(new Error('ERR Error running script: SLUICE_ERR_JOB_NOT_FOUND q1 job:9'));
    expect(missing).toBeInstanceOf(JobNotFoundError);
    expect((missing as SluiceError).message).toBe('job job:9 not found in queue q1');

    expect(fromScriptError(new Error('SLUICE_ERR_INVALID_STATE job is completed'))).toBeInstanceOf(InvalidStateError);
    const invalid = fromScriptError(new Error('SLUICE_ERR_VALIDATION priority must be 0..4'));
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).field).toBe('priority');
  });

  it('maps an incomplete-history error raised inside the fold, without the location Redis appends', () => {
    const error = fromScriptError(
      new Error('ERR user_script:382: SLUICE_ERR_HISTORY_INCOMPLETE q1 job j7 enters waiting but its created event was not replayed script: 0123abcd, on @user_script:382.'),
    );
    expect(error).toBeInstanceOf(HistoryIncompleteError);
    expect((error as HistoryIncompleteError).queue).toBe('q1');
    expect((error as HistoryIncompleteError).message).toBe('job j7 enters waiting but its created event was not replayed');
    expect((error as HistoryIncompleteError).httpStatus).toBe(409);
  });

  it('leaves foreign errors alone', () => {
    const plain = new Error('WRONGTYPE Operation against a key');
    expect(fromScriptError(plain)).toBe(plain);
  });

  it('sets name from the concrete class and keeps the cause', () => {
    const cause = new Error('inner');
    const error = new InvalidStateError('nope', { cause });
    expect(error.name).toBe('InvalidStateError');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(ErrorCodes.SLUICE_ERR_INVALID_STATE.retryable);
  });
});

describe('error documentation', () => {
  const docs = readFileSync(new URL('../../docs/ERRORS.md', import.meta.url), 'utf8');
  it.each(Object.entries(ErrorCodes))('%s is documented with its status and retryability', (code, { httpStatus, retryable }) => {
    const row = docs.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row, `docs/ERRORS.md has no row for ${code}`).toBeDefined();
    const cells = (row ?? '').split('|').map((c) => c.trim());
    expect(cells[2]).toBe(String(httpStatus));
    expect(cells[3]).toBe(retryable ? 'yes' : 'no');
  });

  it('documents no code the registry lacks', () => {
    const documented = [...docs.matchAll(/^\| `(SLUICE_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ErrorCodes).sort());
  });
});
