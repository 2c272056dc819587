/**
 * The contract every {@link EventLog} implementation passes: the in-memory log (unit tier) and
 * the Redis Streams log (int tier) both run it, so they cannot drift apart.
 */
import { firstValueFrom, take, timeout, toArray, type Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventLog } from '../../src/events/log.js';
import type { JobEvent, StoredJobEvent } from '../../src/events/types.js';
import { ClosedError, CorruptEventError, ValidationError } from '../../src/core/errors.js';
import { streamIdTime } from '../../src/redis/stream-id.js';
import { sampleEvents } from '../helpers/arbitraries.js';

/** One log under test, plus the raw access the contract needs. */
export interface EventLogFixture {
  readonly log: EventLog;
  /** Stores a field list unvalidated, like `XADD <key> * ...fields`, and returns its id. */
  appendRaw(fields: string[]): Promise<string>;
  /** Closes the log and deletes whatever the fixture created. */
  dispose(): Promise<void>;
}

/** Creates a fresh, empty log for one test. */
export type EventLogFactory = () => Promise<EventLogFixture>;

const WAIT_MS = 5000;

/** The first `n` values of `source`, failing after {@link WAIT_MS}. */
function firstN<T>(source: Observable<T>, n: number): Promise<T[]> {
  return firstValueFrom(source.pipe(take(n), toArray(), timeout(WAIT_MS)));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `events` as a log returns them after append: same content, plus their ids. */
function stored(events: readonly JobEvent[], ids: readonly string[]): StoredJobEvent[] {
  return events.map((event, i) => ({ ...event, id: ids[i] as string }));
}

/** Waits until `predicate` holds, polling, or fails after {@link WAIT_MS}. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Runs the event log contract against the logs `factory` creates. */
export function testEventLog(name: string, factory: EventLogFactory): void {
  describe(`EventLog contract: ${name}`, () => {
    let fixture: EventLogFixture;
    let log: EventLog;
    /** Valid events of the fixture's queue, of every type. */
    let events: JobEvent[];

    beforeEach(async () => {
      fixture = await factory();
      log = fixture.log;
      events = sampleEvents(log.queue, 26);
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    describe('append and read', () => {
      it('starts empty', async () => {
        expect(await log.length()).toBe(0);
        expect(await log.lastId()).toBeUndefined();
        expect(await log.read()).toEqual([]);
      });

      it('returns increasing ids and reads back every event unchanged, in order', async () => {
        const ids = await log.append(events.slice(0, 13));
        ids.push(...(await log.append(events.slice(13))));
        expect(ids).toHaveLength(events.length);
        for (const id of ids) expect(id).toMatch(/^\d+-\d+$/);
        for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i - 1] as string, ids[i] as string)).toBeLessThan(0);
        expect(new Set(events.map((e) => e.type)).size).toBeGreaterThan(8);
        expect(await log.read()).toEqual(stored(events, ids));
        expect(await log.length()).toBe(events.length);
        expect(await log.lastId()).toBe(ids.at(-1));
      });

      it('appends nothing for an empty batch', async () => {
        expect(await log.append([])).toEqual([]);
        expect(await log.length()).toBe(0);
      });

      it('rejects a batch with an event of another queue, appending none of it', async () => {
        const foreign = { ...events[1], metadata: { ...events[1]!.metadata, queue: `${log.queue}-other` } } as JobEvent;
        const error = await log.append([events[0]!, foreign]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe('events[1]');
        expect(await log.length()).toBe(0);
      });

      it('rejects a batch with an invalid event, appending none of it', async () => {
        const invalid: JobEvent = {
          type: 'failed',
          v: 1,
          data: { attempt: 1, error: { name: 'E', message: 'm' }, final: true, retryAt: 5 },
          metadata: { queue: log.queue, jobId: 'a:b', time: 1, seq: 2 },
        };
        const error = await log.append([events[0]!, events[1]!, invalid]).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe('events[2]');
        expect((error as Error).message).toMatch(/retryAt/);
        expect(await log.length()).toBe(0);
      });
    });

    describe('read by id range', () => {
      let all: StoredJobEvent[];
      let ids: string[];

      beforeEach(async () => {
        ids = await log.append(events.slice(0, 10));
        all = stored(events.slice(0, 10), ids);
      });

      it('treats from and to as inclusive and after as exclusive', async () => {
        expect(await log.read({ from: ids[2], to: ids[5] })).toEqual(all.slice(2, 6));
        expect(await log.read({ after: ids[2], to: ids[5] })).toEqual(all.slice(3, 6));
        expect(await log.read({ from: ids[7] })).toEqual(all.slice(7));
        expect(await log.read({ to: ids[1] })).toEqual(all.slice(0, 2));
        expect(await log.read({ after: ids[9] })).toEqual([]);
        expect(await log.read({ from: '-', to: '+' })).toEqual(all);
        expect(await log.read({ after: '0' })).toEqual(all);
        expect(await log.read({ from: ids[5], to: ids[2] })).toEqual([]);
      });

      it('reads an incomplete id <ms> as the whole millisecond at the end and its start elsewhere', async () => {
        const ms = String(streamIdTime(ids[4]!));
        const sameMs = all.filter((e) => String(streamIdTime(e.id)) === ms);
        expect(await log.read({ from: ms, to: ms })).toEqual(sameMs);
        expect(await log.read({ to: ms })).toEqual(all.filter((e) => streamIdTime(e.id) <= Number(ms)));
      });

      it('stops after count events and pages through ranges larger than pageSize', async () => {
        expect(await log.read({ count: 3 })).toEqual(all.slice(0, 3));
        expect(await log.read({ from: ids[4], count: 2, pageSize: 1 })).toEqual(all.slice(4, 6));
        expect(await log.read({ pageSize: 3 })).toEqual(all);
        const iterated: StoredJobEvent[] = [];
        for await (const event of log.entries({ after: ids[0], pageSize: 4 })) iterated.push(event);
        expect(iterated).toEqual(all.slice(1));
      });

      it('rejects malformed queries with ValidationError', async () => {
        await expect(log.read({ from: ids[1], after: ids[2] })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.read({ from: 'yesterday' })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.read({ to: '1-2-3' })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.read({ after: '99999999999999999999999' })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.read({ count: 0 })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.read({ pageSize: 1.5 })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.readByTime({ since: -1 })).rejects.toBeInstanceOf(ValidationError);
        await expect(log.readByTime({ until: new Date(Number.NaN) })).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('read by time range', () => {
      it('selects events by the append time in their ids, both bounds inclusive', async () => {
        // Three batches in three distinct milliseconds.
        const ids: string[] = [];
        for (const batch of [events.slice(0, 3), events.slice(3, 6), events.slice(6, 9)]) {
          ids.push(...(await log.append(batch)));
          await sleep(3);
        }
        const all = stored(events.slice(0, 9), ids);
        const since = streamIdTime(ids[3]!);
        const until = streamIdTime(ids[5]!);
        const inWindow = all.filter((e) => streamIdTime(e.id) >= since && streamIdTime(e.id) <= until);
        expect(inWindow.length).toBeGreaterThan(0);
        expect(inWindow.length).toBeLessThan(all.length);

        expect(await log.readByTime({ since, until })).toEqual(inWindow);
        expect(await log.readByTime({ since: new Date(since), until: new Date(until) })).toEqual(inWindow);
        expect(await log.readByTime({ since })).toEqual(all.filter((e) => streamIdTime(e.id) >= since));
        expect(await log.readByTime({ until })).toEqual(all.filter((e) => streamIdTime(e.id) <= until));
        expect(await log.readByTime({ since, until, count: 1 })).toEqual(inWindow.slice(0, 1));
        expect(await log.readByTime({ since: until + 1, until: since })).toEqual([]);
        expect(await log.readByTime()).toEqual(all);
      });
    });

    describe('tail$', () => {
      it('from "0" replays the log, then follows events appended later', async () => {
        const before = await log.append(events.slice(0, 4));
        const received = firstN(log.tail$('0'), 8);
        await sleep(20);
        const after = await log.append(events.slice(4, 8));
        expect(await received).toEqual(stored(events.slice(0, 8), [...before, ...after]));
      });

      it('without fromId delivers only events appended after subscribing', async () => {
        await log.append(events.slice(0, 3));
        const received = firstN(log.tail$(), 3);
        const ids = await log.append(events.slice(3, 6));
        expect(await received).toEqual(stored(events.slice(3, 6), ids));
      });

      it('is exclusive of fromId', async () => {
        const ids = await log.append(events.slice(0, 5));
        expect(await firstN(log.tail$(ids[1]), 3)).toEqual(stored(events.slice(2, 5), ids.slice(2)));
      });

      it('has no gap and no duplicate while catch-up races concurrent appends', async () => {
        const ids = await log.append(events.slice(0, 6));
        const received = firstN(log.tail$('0', { pageSize: 2 }), events.length);
        for (let i = 6; i < events.length; i += 4) {
          ids.push(...(await log.append(events.slice(i, i + 4))));
          await sleep(1);
        }
        expect(await received).toEqual(stored(events, ids));
      });

      it('delivers nothing after unsubscribe', async () => {
        const seen: StoredJobEvent[] = [];
        const subscription = log.tail$().subscribe((event) => seen.push(event));
        await log.append(events.slice(0, 1));
        await until(() => seen.length === 1, 'the first event');
        subscription.unsubscribe();
        await log.append(events.slice(1, 3));
        await sleep(50);
        expect(seen).toHaveLength(1);
      });

      it('rejects a malformed fromId synchronously', () => {
        expect(() => log.tail$('not-an-id')).toThrow(ValidationError);
      });
    });

    describe('corrupt entries', () => {
      let ids: string[];
      let badId: string;

      beforeEach(async () => {
        ids = await log.append(events.slice(0, 2));
        badId = await fixture.appendRaw(['type', 'created', 'v', '1', 'data', '{"name":', 'meta', '{}']);
        ids.push(...(await log.append(events.slice(2, 3))));
      });

      it('read rejects with CorruptEventError naming the entry id', async () => {
        const error = await log.read().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CorruptEventError);
        expect((error as CorruptEventError).entryId).toBe(badId);
        expect((error as Error).message).toContain(badId);
      });

      it('read skips it with onCorrupt "skip", or reports it to a callback and skips it', async () => {
        const good = stored(events.slice(0, 3), ids);
        expect(await log.read({ onCorrupt: 'skip' })).toEqual(good);
        const reported: CorruptEventError[] = [];
        expect(await log.read({ onCorrupt: (e) => reported.push(e), count: 3, pageSize: 1 })).toEqual(good);
        expect(reported.map((e) => e.entryId)).toEqual([badId]);
      });

      it('tail$ errors with CorruptEventError naming the entry id, after the events before it', async () => {
        const seen: StoredJobEvent[] = [];
        const error = await new Promise<unknown>((resolve, reject) => {
          log.tail$('0').subscribe({ next: (e) => seen.push(e), error: resolve, complete: () => reject(new Error('completed')) });
        });
        expect(error).toBeInstanceOf(CorruptEventError);
        expect((error as CorruptEventError).entryId).toBe(badId);
        expect(seen).toEqual(stored(events.slice(0, 2), ids.slice(0, 2)));
      });

      it('tail$ with onCorrupt "skip" goes past it', async () => {
        expect(await firstN(log.tail$('0', { onCorrupt: 'skip' }), 3)).toEqual(stored(events.slice(0, 3), ids));
      });
    });

    describe('close', () => {
      it('completes open tails, and later calls reject with ClosedError', async () => {
        let completed = false;
        log.tail$().subscribe({ complete: () => (completed = true) });
        await log.close();
        expect(completed).toBe(true);
        await expect(log.append(events.slice(0, 1))).rejects.toBeInstanceOf(ClosedError);
        await expect(log.read()).rejects.toBeInstanceOf(ClosedError);
        await expect(log.length()).rejects.toBeInstanceOf(ClosedError);
        const error = await firstValueFrom(log.tail$()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ClosedError);
        await log.close();
      });
    });
  });
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
