// Lint: typescript-eslint's type-aware recommended rules over src and test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/, bottom to top (docs/ARCHITECTURE.md). A folder may import its own files and
// folders of a LOWER rank only: never one above it, never a sibling of the same rank. The root
// entry points (index.ts, otel.ts, testing.ts) compose the layers and are not restricted.
const LAYERS = {
  core: 0, // errors, clock, key names, PeriodicTask
  redis: 1, // connections, reply parsing, stream ids
  services: 1, // local dev servers (Redis, FerretDB, PostgreSQL): tests, demo, sluice/testing
  events: 2, // event types, codec, Lua scripts and their typed gateway, the event log
  jobs: 3, // job options and their validation
  metrics: 4, // instrumentation, Prometheus and OpenTelemetry adapters
  payloads: 4, // payload and result stores
  history: 4, // the archive and replay across stream + archive
  projections: 5, // read models folded from the log, rebuild, retention
  audit: 6, // archiver, verify, as-of
  queue: 7, // Queue (publish, read), flows, repeat, limits, search
  consumers: 8, // Worker and its loops, batch and multi-queue workers, partitions
  app: 9, // configuration and the context the CLI and the service share
  server: 10, // the HTTP service
  cli: 11, // the command line
  dev: 11, // the quick-start demo
};

/** One no-restricted-imports block per layer, naming every folder it may not import. */
const layerRules = Object.entries(LAYERS).map(([layer, rank]) => {
  const forbidden = Object.entries(LAYERS)
    .filter(([other, r]) => other !== layer && r >= rank)
    .map(([other]) => other);
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden.join('|')})/`,
              message: `src/${layer} (layer ${rank}) may only import lower layers; see LAYERS in eslint.config.js and docs/ARCHITECTURE.md.`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.sluice/**', 'src/events/lua/generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-expect-error': true, 'ts-ignore': true }],
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  ...layerRules,
  {
    // Plain JavaScript (this file, .mjs test fixtures loaded as handler modules) is linted
    // without type information.
    files: ['eslint.config.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
