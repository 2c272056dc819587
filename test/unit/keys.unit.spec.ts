import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  countsKey,
  delayedKey,
  eventsKey,
  fromJobKey,
  jobKey,
  laneKey,
  laneKeys,
  metaKey,
  priorityKey,
  QUEUES_KEY,
  stateKey,
  toJobId,
  toQueueName,
  workersKey,
} from '../../src/keys.js';

const q = toQueueName('emails');

describe('key layout', () => {
  it.each([
    ['events', eventsKey(q), 'sluice:{emails}:events'],
    ['lane', laneKey(q, 3), 'sluice:{emails}:lane:3'],
    ['delayed', delayedKey(q), 'sluice:{emails}:delayed'],
    ['job', jobKey(q, toJobId('a:b:c')), 'sluice:{emails}:job:a:b:c'],
    ['state', stateKey(q, 'waiting'), 'sluice:{emails}:state:waiting'],
    ['priority', priorityKey(q), 'sluice:{emails}:priority'],
    ['counts', countsKey(q), 'sluice:{emails}:counts'],
    ['meta', metaKey(q), 'sluice:{emails}:meta'],
    ['workers', workersKey(q), 'sluice:{emails}:workers'],
  ])('%s key is pinned', (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('every per-queue key carries the {queue} hash tag', () => {
    const keys = [eventsKey(q), delayedKey(q), priorityKey(q), countsKey(q), metaKey(q), workersKey(q), ...laneKeys(q)];
    for (const key of keys) expect(key.startsWith('sluice:{emails}:')).toBe(true);
    expect(QUEUES_KEY).toBe('sluice:queues');
  });

  it('lists lanes highest priority first', () => {
    expect(laneKeys(q)).toEqual([
      'sluice:{emails}:lane:4',
      'sluice:{emails}:lane:3',
      'sluice:{emails}:lane:2',
      'sluice:{emails}:lane:1',
      'sluice:{emails}:lane:0',
    ]);
  });

  it('round-trips job keys whose id contains ":"', () => {
    const id = toJobId('invoice:2024:17');
    expect(fromJobKey(jobKey(q, id))).toEqual({ queue: 'emails', jobId: 'invoice:2024:17' });
    expect(fromJobKey('sluice:{emails}:events')).toBeUndefined();
    expect(fromJobKey('other:{emails}:job:1')).toBeUndefined();
  });
});

describe('validation', () => {
  it.each(['', 'a'.repeat(101), 'has space', 'brace{', 'colon:x', '-leading', 'hash#1', 'ünicode'])(
    'rejects queue name %j with a ValidationError naming the field',
    (name) => {
      expect(() => toQueueName(name)).toThrow(ValidationError);
      try {
        toQueueName(name);
      } catch (error) {
        expect((error as ValidationError).field).toBe('queue');
        expect((error as ValidationError).code).toBe('SLUICE_ERR_VALIDATION');
      }
    },
  );

  it.each([undefined, 42, null, {}])('rejects a non-string queue name (%j)', (name) => {
    expect(() => toQueueName(name)).toThrow(/queue: must be a string/);
  });

  it.each(['', 'x'.repeat(201), 'with space', 'new\nline', 'semi;colon', 'quote"'])('rejects job id %j', (id) => {
    expect(() => toJobId(id)).toThrow(ValidationError);
  });

  it('accepts ordinary names and ids', () => {
    expect(toQueueName('a.b_c-1')).toBe('a.b_c-1');
    expect(toJobId('order:42/retry+1=x@y')).toBe('order:42/retry+1=x@y');
  });

  it('rejects out-of-range lanes', () => {
    expect(() => laneKey(q, 5)).toThrow(/lane: must be an integer from 0 to 4/);
    expect(() => laneKey(q, -1)).toThrow(ValidationError);
  });
});
