import { describe, expect, it } from 'vitest';
import { MemoryPayloadStore } from '../../src/payloads/index.js';
import { ValidationError } from '../../src/core/errors.js';
import { testPayloadStore } from '../contracts/payloadStore.contract.js';

testPayloadStore('MemoryPayloadStore', ({ clock }) => new MemoryPayloadStore({ clock }));

describe('MemoryPayloadStore options', () => {
  it('honours a lower size limit and refuses one above the hard limit', async () => {
    const store = new MemoryPayloadStore({ maxPayloadBytes: 4 });
    await expect(store.put('q', { value: Uint8Array.of(1, 2, 3, 4) })).resolves.toMatchObject({ size: 4 });
    await expect(store.put('q', { value: '12345' })).rejects.toThrow(/more than the limit of 4 bytes/);
    expect(() => new MemoryPayloadStore({ maxPayloadBytes: 17 * 1024 * 1024 })).toThrow(ValidationError);
  });
});
