/** Claim tokens of the HTTP consume API: round trip (ids with `:` and `/`), and every foreign or malformed token refused. */
import { describe, expect, it } from 'vitest';
import { ForeignClaimError } from '../../src/core/errors.js';
import { toQueueName } from '../../src/core/keys.js';
import { decodeClaimToken, encodeClaimToken, type ClaimToken } from '../../src/server/consume-service.js';

const claim: ClaimToken = { queue: toQueueName('emails'), jobId: 'invoice:2024/17', token: 'g1733324000000-12', consumer: 'py:host-1@a', claimedAt: 1733324000123 };

describe('claim tokens', () => {
  it('round-trip, URL-safe', () => {
    const text = encodeClaimToken(claim);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeClaimToken('emails', text)).toEqual(claim);
  });

  it('refuse tokens of another queue, malformed and altered ones with SLUICE_ERR_FOREIGN_CLAIM', () => {
    const text = encodeClaimToken(claim);
    const altered = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    for (const bad of [
      ['emails-2', text],
      ['emails', 'not+base64'],
      ['emails', ''],
      ['emails', altered({ not: 'an array' })],
      ['emails', altered(['emails', 'j', 't', 'c'])],
      ['emails', altered(['emails', '', 't', 'c', 1])],
      ['emails', altered(['emails', 'j', 't', 'c', 1.5])],
      ['emails', Buffer.from('{"broken', 'utf8').toString('base64url')],
    ] as const) {
      expect(() => decodeClaimToken(bad[0], bad[1]), bad[1]).toThrow(ForeignClaimError);
    }
    let caught: unknown;
    try {
      decodeClaimToken('emails-2', text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'SLUICE_ERR_FOREIGN_CLAIM', httpStatus: 409 });
  });
});
