import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { SCRIPT_KEYS } from '../../src/events/lua/generated.js';
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
  priorityScore,
  stateIndexKey,
  QUEUES_KEY,
  SCRIPT_KEY_NAMES,
  scriptKeyCount,
  scriptKeyMap,
  flattenScriptKeys,
  AS_OF_INDEXED_STATES,
  INDEXED_STATES,
  JOB_STATES,
  legacyActiveStateKey,
  legacyWaitingStateKey,
  scriptKeys,
  shadowScriptKeyMap,
  asOfScriptKeyMap,
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
    ['state', stateKey(q, 'completed'), 'sluice:{emails}:state:completed'],
    ['state index of waiting', stateIndexKey(q, 'waiting'), 'sluice:{emails}:priority'],
    ['state index of dead', stateIndexKey(q, 'dead'), 'sluice:{emails}:state:dead'],
    ['legacy waiting state', legacyWaitingStateKey(q), 'sluice:{emails}:state:waiting'],
    ['legacy active state', legacyActiveStateKey(q), 'sluice:{emails}:state:active'],
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

  it('the script keys are distinct, all hash-tagged, and every script declares keys of them', () => {
    const keys = scriptKeys(q);
    expect(keys).toHaveLength(scriptKeyCount(SCRIPT_KEY_NAMES));
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key.startsWith('sluice:{emails}:')).toBe(true);
    const map = scriptKeyMap(q);
    expect(map.lanes).toEqual([0, 1, 2, 3, 4].map((lane) => laneKey(q, lane)));
    expect(map.states).toEqual(INDEXED_STATES.map((s) => stateKey(q, s)));
    // Waiting jobs are indexed by the priority set alone, active jobs are the lanes' pending
    // entries: no script receives a state:waiting or a state:active key of the live read model.
    expect(INDEXED_STATES).toEqual(JOB_STATES.filter((s) => s !== 'waiting' && s !== 'active'));
    expect(keys).not.toContain(legacyWaitingStateKey(q));
    expect(keys).not.toContain(legacyActiveStateKey(q));
    expect(shadowScriptKeyMap(q).states).toHaveLength(JOB_STATES.length - 2);
    // A time-travel read model indexes active jobs (a past moment's pending entries are gone).
    expect(AS_OF_INDEXED_STATES).toEqual(JOB_STATES.filter((s) => s !== 'waiting'));
    expect(asOfScriptKeyMap(q, 'r').states).toEqual(AS_OF_INDEXED_STATES.map((s) => `sluice:{emails}:asof:r:state:${s}`));
    expect([map.events, map.meta, map.counts, map.priority, map.delayed, map.jobPrefix, map.workers]).toEqual([
      eventsKey(q), metaKey(q), countsKey(q), priorityKey(q), delayedKey(q), 'sluice:{emails}:job:', workersKey(q),
    ]);
    for (const [name, spec] of Object.entries(SCRIPT_KEYS)) {
      expect(spec.keys.length, name).toBeGreaterThan(0);
      for (const key of spec.keys) expect(SCRIPT_KEY_NAMES, name).toContain(key);
    }
    // A script that only reads the log and meta gets only those.
    expect(SCRIPT_KEYS.trimEvents.keys).toEqual(['events', 'meta']);
  });

  it('the shadow keys move only the read-model keys', () => {
    const live = scriptKeyMap(q);
    const shadow = shadowScriptKeyMap(q);
    const moved = SCRIPT_KEY_NAMES.filter((name) => JSON.stringify(live[name]) !== JSON.stringify(shadow[name]));
    expect(moved).toEqual(['counts', 'priority', 'jobPrefix', 'states']);
    for (const key of flattenScriptKeys(shadow, moved)) expect(key).toMatch(/^sluice:\{emails\}:shadow:/);
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

  it('scores waiting jobs highest priority first, then arrival (the fold\'s formula)', () => {
    expect(priorityScore(4, 1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(priorityScore(0, 5)).toBe(4e13 + 5);
    expect(priorityScore(3, 2_000_000_000_000)).toBeLessThan(priorityScore(2, 1));
    expect(Number.isSafeInteger(priorityScore(0, 9_999_999_999_999))).toBe(true);
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
