import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  countsKey,
  delayedKey,
  eventsKey,
  fromJobKey,
  jobKey,
  laneKey,
  laneKeys,
  metaKey,
  parsePartition,
  partitionQueueName,
  partitionsKey,
  priorityKey,
  QUEUES_KEY,
  SCRIPT_KEY_COUNT,
  scriptKeys,
  shadowScriptKeys,
  stateKey,
  toJobId,
  toQueueName,
  workersKey,
} from '../../src/core/keys.js';

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
    ['partitions', partitionsKey(q), 'sluice:{emails}:partitions'],
    ['partition events', eventsKey(partitionQueueName(q, 7)), 'sluice:{emails#7}:events'],
    ['partition lane', laneKey(partitionQueueName(q, 0), 2), 'sluice:{emails#0}:lane:2'],
  ])('%s key is pinned', (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('every per-queue key carries the {queue} hash tag', () => {
    const keys = [eventsKey(q), delayedKey(q), priorityKey(q), countsKey(q), metaKey(q), workersKey(q), ...laneKeys(q)];
    for (const key of keys) expect(key.startsWith('sluice:{emails}:')).toBe(true);
    expect(QUEUES_KEY).toBe('sluice:queues');
  });

  it('the fixed KEYS block has SCRIPT_KEY_COUNT keys, all hash-tagged, and keys.lua agrees on the count', () => {
    const keys = scriptKeys(q);
    expect(keys).toHaveLength(SCRIPT_KEY_COUNT);
    expect(new Set(keys).size).toBe(SCRIPT_KEY_COUNT);
    for (const key of keys) expect(key.startsWith('sluice:{emails}:')).toBe(true);
    // The positions the older scripts index must not move.
    expect(keys.slice(0, 19)).toEqual([
      eventsKey(q), metaKey(q), countsKey(q), priorityKey(q), delayedKey(q), 'sluice:{emails}:job:', workersKey(q),
      ...[0, 1, 2, 3, 4].map((lane) => laneKey(q, lane)),
      ...(['delayed', 'waiting', 'active', 'completed', 'failed', 'dead', 'cancelled'] as const).map((s) => stateKey(q, s)),
    ]);
    expect(keys[19]).toBe(stateKey(q, 'blocked'));
    const lua = readFileSync(new URL('../../src/events/lua/includes/keys.lua', import.meta.url), 'utf8');
    expect(lua).toContain(`local SCRIPT_KEY_COUNT = ${SCRIPT_KEY_COUNT}\n`);
    expect(lua).toContain(`KEYS[${SCRIPT_KEY_COUNT}] ->`);
  });

  it('the shadow block moves only the read-model keys', () => {
    const live = scriptKeys(q);
    const shadow = shadowScriptKeys(q);
    const moved = live.map((key, i) => (key === shadow[i] ? undefined : i)).filter((i) => i !== undefined);
    expect(moved).toEqual([2, 3, 5, 12, 13, 14, 15, 16, 17, 18, 19]);
    for (const i of moved) expect(shadow[i]).toMatch(/^sluice:\{emails\}:shadow:/);
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
  it.each(['', 'a'.repeat(101), 'has space', 'brace{', 'colon:x', '-leading', 'hash#', 'hash#01', 'hash#1#2', '#1', 'hash#x', 'hash#10000', 'ha#sh', 'ünicode'])(
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
    expect(toQueueName('a.b_c-1#0')).toBe('a.b_c-1#0');
    expect(toQueueName('emails#1023')).toBe('emails#1023');
    expect(toJobId('order:42/retry+1=x@y')).toBe('order:42/retry+1=x@y');
  });

  it('names partitions <queue>#<n> and parses them back', () => {
    expect(partitionQueueName(q, 12)).toBe('emails#12');
    expect(parsePartition(toQueueName('emails#12'))).toEqual({ queue: 'emails', partition: 12 });
    expect(parsePartition(q)).toBeUndefined();
    expect(() => partitionQueueName(toQueueName('emails#1'), 0)).toThrow(/already a partition/);
    expect(() => partitionQueueName(q, 1024)).toThrow(/partition: must be an integer from 0 to 1023/);
    expect(() => toQueueName('hash#01')).toThrow(/may end with one partition suffix '#<n>'/);
  });

  it('rejects out-of-range lanes', () => {
    expect(() => laneKey(q, 5)).toThrow(/lane: must be an integer from 0 to 4/);
    expect(() => laneKey(q, -1)).toThrow(ValidationError);
  });
});
