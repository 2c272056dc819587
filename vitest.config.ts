import { defineConfig } from 'vitest/config';
import { generateLua } from './scripts/gen-lua.js';

// The Lua loader module is generated (gitignored); make sure it matches the .lua sources.
generateLua();

// Two tiers: unit (no I/O) and int (real Redis and a MongoDB wire-protocol server, started once
// per run by test/global-setup.ts and shared through `provide`; each test isolates itself with a
// fresh queue name and each file with its own Mongo database).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.unit.spec.ts'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/int/**/*.int.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // End to end (HTTP + CLI): the built CLI, the service and workers as real child
        // processes against the run's Redis and MongoDB wire-protocol server.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Fault injection on real processes (npm run test:faults): servers killed, paused and
        // restarted, connections cut. Each test starts its own servers.
        test: {
          name: 'faults',
          include: ['test/faults/**/*.faults.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
