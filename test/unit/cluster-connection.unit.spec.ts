import { describe, expect, it } from 'vitest';
import { asRedisUnavailable, isRedisDown, RedisUnavailableError, ValidationError } from '../../src/core/errors.js';
import { asOfScriptKeyMap, eventsKey, flattenScriptKeys, SCRIPT_KEY_NAMES, scriptKeyMap, shadowScriptKeyMap, toQueueName } from '../../src/core/keys.js';
import { hashTagOf, isClusterUrl, keySlot, parseClusterUrl } from '../../src/redis/connection.js';

describe('Redis Cluster helpers', () => {
  it('computes the slots Redis computes (CRC16 of the hash tag mod 16384)', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('')).toBe(0);
  });

  it('takes the hash tag as Redis does: first { to the next }, when not empty', () => {
    expect(hashTagOf('sluice:{orders}:events')).toBe('orders');
    expect(hashTagOf('plain')).toBe('plain');
    expect(hashTagOf('a{}b')).toBe('a{}b');
    expect(hashTagOf('a{b')).toBe('a{b');
    expect(hashTagOf('x{a}{b}')).toBe('a');
  });

  it('puts every key of a queue, shadow keys included, in one slot', () => {
    const queue = toQueueName('orders.v2');
    const all = [scriptKeyMap(queue), shadowScriptKeyMap(queue), asOfScriptKeyMap(queue, 'run')].flatMap((map) => flattenScriptKeys(map, SCRIPT_KEY_NAMES));
    const slots = new Set(all.map(keySlot));
    expect(slots).toEqual(new Set([keySlot(eventsKey(queue))]));
  });

  it('parses redis+cluster:// URLs', () => {
    expect(isClusterUrl('redis+cluster://h:1')).toBe(true);
    expect(isClusterUrl('redis://h:1')).toBe(false);
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001/')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      tls: false,
    });
    expect(parseClusterUrl('rediss+cluster://app:s%40cret@[::1]:7000,h2')).toEqual({
      nodes: [
        { host: '::1', port: 7000 },
        { host: 'h2', port: 6379 },
      ],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
    expect(parseClusterUrl('redis+cluster://:pw@h:1')).toEqual({ nodes: [{ host: 'h', port: 1 }], password: 'pw', tls: false });
    expect(() => parseClusterUrl('redis+cluster://h:0')).toThrow(ValidationError);
    expect(() => parseClusterUrl('redis+cluster://h:1/0')).toThrow(ValidationError);
    expect(() => parseClusterUrl('redis://h:1')).toThrow(ValidationError);
  });

  it('wraps connection-level and cluster errors in RedisUnavailableError, and nothing else', () => {
    const moved = new Error('Too many Cluster redirections. Last error: ReplyError: MOVED 2973 127.0.0.1:7000');
    const wrapped = asRedisUnavailable(moved, 'publish on queue q');
    expect(wrapped).toBeInstanceOf(RedisUnavailableError);
    expect((wrapped as RedisUnavailableError).retryable).toBe(true);
    expect((wrapped as Error).message).toBe('Redis unavailable during publish on queue q: too many cluster redirections');
    expect((wrapped as Error).cause).toBe(moved);
    for (const message of ['CLUSTERDOWN The cluster is down', 'Connection is closed.', 'connect ECONNREFUSED 127.0.0.1:1', 'Failed to refresh slots cache.']) {
      expect(isRedisDown(new Error(message))).toBe(true);
    }
    const other = new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(asRedisUnavailable(other, 'x')).toBe(other);
    const typed = new ValidationError('f', 'bad');
    expect(asRedisUnavailable(typed, 'x')).toBe(typed);
  });
});
