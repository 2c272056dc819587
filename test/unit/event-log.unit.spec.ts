import { describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../src/events/memory-log.js';
import { ValidationError } from '../../src/core/errors.js';
import { testEventLog } from '../contracts/eventLog.contract.js';
import { sampleEvents } from '../helpers/arbitraries.js';

testEventLog('memory', () => {
  const log = new MemoryEventLog(`t-${crypto.randomUUID()}`);
  return Promise.resolve({
    log,
    appendRaw: (fields: string[]) => Promise.resolve(log.appendRawEntry(fields)),
    dispose: () => log.close(),
  });
});

describe('MemoryEventLog ids', () => {
  it('stamps ids like Redis: <ms>-0 on a new millisecond, <ms>-<seq+1> within one, never going back', async () => {
    let now = 1_700_000_000_000;
    const log = new MemoryEventLog('q', { now: () => now });
    const events = sampleEvents('q', 6);
    const ids = [...(await log.append(events.slice(0, 2)))];
    now += 5;
    ids.push(...(await log.append(events.slice(2, 3))));
    now -= 1000; // the clock steps back: ids keep increasing within the last millisecond
    ids.push(...(await log.append(events.slice(3, 5))));
    now += 2000;
    ids.push(...(await log.append(events.slice(5, 6))));
    expect(ids).toEqual([
      '1700000000000-0',
      '1700000000000-1',
      '1700000000005-0',
      '1700000000005-1',
      '1700000000005-2',
      '1700000001005-0',
    ]);
    expect((await log.readByTime({ since: 1_700_000_000_001, until: 1_700_000_000_005 })).map((e) => e.id)).toEqual(ids.slice(2, 5));
  });

  it('stores copies: mutating an appended or read event changes nothing stored', async () => {
    const log = new MemoryEventLog('q');
    const [event] = sampleEvents('q', 1);
    const copy = structuredClone(event!);
    await log.append([copy]);
    (copy.metadata as { jobId: string }).jobId = 'changed';
    const [read] = await log.read();
    (read!.metadata as { jobId: string }).jobId = 'changed again';
    expect(await log.read()).toEqual([{ ...event, id: read!.id }]);
  });

  it('rejects an invalid queue name', () => {
    expect(() => new MemoryEventLog('no spaces')).toThrow(ValidationError);
  });
});
