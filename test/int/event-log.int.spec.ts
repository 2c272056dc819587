import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeEvent } from '../../src/events/codec.js';
import { RedisEventLog } from '../../src/events/log.js';
import type { JobEvent, StoredJobEvent } from '../../src/events/types.js';
import { CorruptEventError } from '../../src/core/errors.js';
import { eventsKey, toQueueName } from '../../src/core/keys.js';
import { closeRedis, createRedis } from '../../src/redis/connection.js';
import { testEventLog } from '../contracts/eventLog.contract.js';
import { sampleEvents } from '../helpers/arbitraries.js';

let redis: Redis;

beforeAll(() => {
  redis = createRedis(inject('redisUrl'), { connectionName: 'sluice:test:event-log' });
});

afterAll(async () => {
  await closeRedis(redis);
});

/** A fresh queue name: its own hash tag, so tests never see each other's keys. */
const newQueue = (): string => `t-${randomUUID()}`;

testEventLog('redis', () => {
  const queue = newQueue();
  const log = new RedisEventLog(redis, queue);
  return Promise.resolve({
    log,
    appendRaw: async (fields: string[]) => narrowId(await redis.xadd(log.key, '*', ...fields)),
    dispose: async () => {
      await log.close();
      await redis.del(log.key);
    },
  });
});

function narrowId(id: string | null): string {
  if (id === null) throw new Error('XADD returned no id');
  return id;
}

/** How many connections the server lists with exactly this name. */
async function connectionsNamed(name: string): Promise<number> {
  const list = await redis.client('LIST');
  if (typeof list !== 'string') throw new TypeError('CLIENT LIST did not return text');
  return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

describe('RedisEventLog on a real server', () => {
  let queue: string;
  let log: RedisEventLog;

  const useLog = (): void => {
    queue = newQueue();
    log = new RedisEventLog(redis, queue);
  };
  const dropLog = async (): Promise<void> => {
    await log.close();
    await redis.del(log.key);
  };

  it('writes the stream key of keys.ts, with the four codec fields per entry', async () => {
    useLog();
    try {
      expect(log.key).toBe(eventsKey(toQueueName(queue)));
      const [event] = sampleEvents(queue, 1) as [JobEvent];
      const [id] = await log.append([event]);
      const raw = await redis.xrange(log.key, '-', '+');
      expect(raw).toEqual([[id, encodeEvent(event)]]);
    } finally {
      await dropLog();
    }
  });

  it('reads by time range from entries written at known times', async () => {
    useLog();
    try {
      const events = sampleEvents(queue, 6);
      const ids = ['1700000000000-0', '1700000000001-0', '1700000000001-1', '1700000000002-5', '1700000000005-0', '1700000000005-1'];
      for (const [i, id] of ids.entries()) await redis.xadd(log.key, id, ...encodeEvent(events[i] as JobEvent));
      const idsOf = (read: StoredJobEvent[]): string[] => read.map((e) => e.id);

      expect(idsOf(await log.readByTime({ since: 1_700_000_000_001, until: 1_700_000_000_001 }))).toEqual(ids.slice(1, 3));
      expect(idsOf(await log.readByTime({ since: new Date(1_700_000_000_001), until: new Date(1_700_000_000_004) }))).toEqual(
        ids.slice(1, 4),
      );
      expect(idsOf(await log.readByTime({ since: 1_700_000_000_003 }))).toEqual(ids.slice(4));
      expect(idsOf(await log.readByTime({ until: 1_700_000_000_000 }))).toEqual(ids.slice(0, 1));
      expect(idsOf(await log.readByTime({ since: 1_700_000_000_006 }))).toEqual([]);
      expect(await log.readByTime({ since: 1_700_000_000_002, until: 1_700_000_000_002 })).toEqual([{ ...events[3], id: ids[3] }]);
      expect(idsOf(await log.read({ from: '1700000000001', to: '1700000000002' }))).toEqual(ids.slice(1, 4));
      expect(idsOf(await log.read({ after: '1700000000001-0', to: '1700000000001' }))).toEqual(ids.slice(2, 3));
    } finally {
      await dropLog();
    }
  });

  it('pages a range much larger than one page without losing or repeating entries', async () => {
    useLog();
    try {
      const events = sampleEvents(queue, 60, 7);
      const ids = await log.append(events);
      const read = await log.read({ pageSize: 7 });
      expect(read.map((e) => e.id)).toEqual(ids);
      expect(await log.read({ after: ids[9], count: 25, pageSize: 4 })).toEqual(events.slice(10, 35).map((e, i) => ({ ...e, id: ids[i + 10] })));
    } finally {
      await dropLog();
    }
  });

  it('tail$ sees every event exactly once while appends race the catch-up/live switch', async () => {
    useLog();
    try {
      const events = sampleEvents(queue, 80, 11);
      const ids = await log.append(events.slice(0, 30));
      const received = firstValueFrom(log.tail$('0', { pageSize: 3, blockMs: 200 }).pipe(take(80), toArray(), timeout(10_000)));
      // A second connection appends concurrently, in small batches, while the tail catches up.
      const writer = new RedisEventLog(redis.duplicate(), queue, { ownsConnection: true });
      try {
        for (let i = 30; i < 80; i += 5) ids.push(...(await writer.append(events.slice(i, i + 5))));
      } finally {
        await writer.close();
      }
      const got = await received;
      expect(got.map((e) => e.id)).toEqual(ids);
      expect(got).toEqual(events.map((e, i) => ({ ...e, id: ids[i] })));
    } finally {
      await dropLog();
    }
  });

  it('tail$ reads on a dedicated named connection and closes it promptly on unsubscribe, even mid-block', async () => {
    useLog();
    try {
      const name = `sluice:tail:${queue}`;
      const seen: StoredJobEvent[] = [];
      // A block far longer than the test: closing must not wait for it to time out.
      const subscription = log.tail$(undefined, { blockMs: 60_000 }).subscribe((e) => seen.push(e));
      await waitFor('the tail connection to appear', async () => (await connectionsNamed(name)) === 1);
      await log.append(sampleEvents(queue, 1));
      await waitFor('the first event', () => Promise.resolve(seen.length === 1));
      // Now the tail is blocked in XREAD again.
      await waitFor('the tail to block in XREAD', () => isBlocked(name));

      subscription.unsubscribe();
      const elapsed = await waitFor('the tail connection to close', async () => (await connectionsNamed(name)) === 0, 2000);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      await dropLog();
    }
  });

  it('close() completes tails and closes their connections, but leaves a connection it does not own open', async () => {
    useLog();
    const name = `sluice:tail:${queue}`;
    let completed = false;
    log.tail$('0').subscribe({ complete: () => (completed = true) });
    await waitFor('the tail connection to appear', async () => (await connectionsNamed(name)) === 1);
    await dropLog();
    expect(completed).toBe(true);
    await waitFor('the tail connection to close', async () => (await connectionsNamed(name)) === 0, 2000);
    expect(redis.status).toBe('ready');
    expect(await redis.ping()).toBe('PONG');
  });

  it('connect() owns its connection and closes it', async () => {
    const name = `sluice:test:${randomUUID()}`;
    const owned = RedisEventLog.connect(inject('redisUrl'), newQueue(), { connectionName: name });
    try {
      expect(await owned.length()).toBe(0);
      expect(await connectionsNamed(name)).toBe(1);
    } finally {
      await owned.close();
    }
    await waitFor('the owned connection to close', async () => (await connectionsNamed(name)) === 0, 2000);
  });

  it('reports an entry written raw with foreign fields as CorruptEventError naming its id, in read and in tail$', async () => {
    useLog();
    try {
      const [good] = sampleEvents(queue, 1) as [JobEvent];
      const [goodId] = await log.append([good]);
      const badId = narrowId(await redis.xadd(log.key, '*', 'event', 'completed', 'jobId', '42'));

      const readError = await log.read().catch((e: unknown) => e);
      expect(readError).toBeInstanceOf(CorruptEventError);
      expect((readError as CorruptEventError).entryId).toBe(badId);

      const seen: StoredJobEvent[] = [];
      const tailError = await new Promise<unknown>((resolve) => {
        log.tail$('0').subscribe({ next: (e) => seen.push(e), error: resolve });
      });
      expect(tailError).toBeInstanceOf(CorruptEventError);
      expect((tailError as CorruptEventError).entryId).toBe(badId);
      expect(seen.map((e) => e.id)).toEqual([goodId]);
      // The errored tail released its connection.
      await waitFor('the tail connection to close', async () => (await connectionsNamed(`sluice:tail:${queue}`)) === 0, 2000);
    } finally {
      await dropLog();
    }
  });
});

/** True when the connection named `name` is blocked in XREAD (`cmd=xread`, flags `b`). */
async function isBlocked(name: string): Promise<boolean> {
  const list = await redis.client('LIST');
  if (typeof list !== 'string') return false;
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  return line !== undefined && / flags=b /.test(line) && / cmd=xread /.test(line);
}
