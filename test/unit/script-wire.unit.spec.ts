/**
 * The generated scripts carry the wire positions, key layouts and event versions of the one
 * TypeScript source (src/events/wire.ts, src/core/keys.ts, src/events/types.ts).
 */
import { describe, expect, it } from 'vitest';
import { scriptKeyCount } from '../../src/core/keys.js';
import { SCRIPT_KEYS, SCRIPTS } from '../../src/events/lua/generated.js';
import { EVENT_VERSIONS } from '../../src/events/types.js';
import { CLAIM_FIELDS, CLAIM_JOB_FIELDS, PUBLISH_FIELDS } from '../../src/events/wire.js';

describe('generated scripts', () => {
  it('name the publish and claim positions from src/events/wire.ts, never a bare offset', () => {
    expect(SCRIPTS.publish).toContain(`local PUB_PRIORITY = ${PUBLISH_FIELDS.indexOf('priority')}\n`);
    expect(SCRIPTS.publish).toContain(`local PUB_WIDTH = ${PUBLISH_FIELDS.length}\n`);
    expect(SCRIPTS.fireRepeat).toContain(`local PUB_JOB_ID = ${PUBLISH_FIELDS.indexOf('jobId')}\n`);
    expect(SCRIPTS.claim).toContain(`local CLAIM_TOKEN = ${CLAIM_FIELDS.indexOf('token') + 1}\n`);
    expect(SCRIPTS.claim).toContain(`local CJ_ATTEMPT = ${CLAIM_JOB_FIELDS.indexOf('attempt') + 1}\n`);
    for (const text of [SCRIPTS.publish, SCRIPTS.fireRepeat]) expect(text).not.toMatch(/ARGV\[b \+ \d+\]/);
    expect(SCRIPTS.claim).not.toMatch(/out\[n \+ \d+\]|job\[\d+\]/);
  });

  it('write the event version of EVENT_VERSIONS, not a literal', () => {
    for (const [name, text] of Object.entries(SCRIPTS)) {
      expect(text, name).not.toContain("'v', '1'");
      if (text.includes('EVENT_VERSION[etype]')) {
        for (const [type, v] of Object.entries(EVENT_VERSIONS)) expect(text, name).toContain(`['${type}'] = '${v}'`);
      }
    }
  });

  it('take exactly the keys they declare', () => {
    for (const [name, spec] of Object.entries(SCRIPT_KEYS)) {
      const text = SCRIPTS[name as keyof typeof SCRIPTS];
      // The state indexes take the rest of each block (their number varies with the read model).
      if (spec.keys.includes('states')) expect(text, name).toContain(`local KEY_COUNT = #KEYS / ${spec.blocks}\n`);
      else expect(text, name).toContain(`local KEY_COUNT = ${scriptKeyCount(spec.keys)}\n`);
    }
    expect(SCRIPT_KEYS.trimEvents).toEqual({ keys: ['events', 'meta'], blocks: 1 });
    expect(SCRIPT_KEYS.swapProjection.blocks).toBe(2);
    expect(SCRIPT_KEYS.verifyProjection.blocks).toBe(2);
  });
});
