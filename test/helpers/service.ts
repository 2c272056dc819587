/**
 * Helpers of the HTTP service and CLI tests: a configuration pointing at the run's Redis and
 * MongoDB wire-protocol server with a Mongo database of the spec file's own, tokens, and the
 * built CLI as a child process.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { loadConfig, type SluiceConfig } from '../../src/app/config.js';
import { buildApp } from '../../src/server/app.js';
import { TokenRegistry, type TokenEntry } from '../../src/server/auth.js';
import { SluiceContext } from '../../src/app/context.js';
import type { FastifyInstance } from 'fastify';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A database name no other spec file uses. */
export function testDatabase(): string {
  return `sluice_test_${randomUUID().replace(/-/g, '')}`;
}

/** Environment for the service and the CLI: the run's servers and `database`. */
export function testEnv(database: string, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: inject('redisUrl'), MONGO_URL: inject('mongoUrl'), SLUICE_MONGO_DATABASE: database, ...extra };
}

/** A configuration for `database`, with overrides as environment variables. */
export function testConfig(database: string, extra: Record<string, string> = {}): SluiceConfig {
  return loadConfig({ env: testEnv(database, extra) });
}

/** Test tokens: name → entry. */
export const TOKENS = {
  admin: { name: 'admin', token: 'admin-token-000000000001', scopes: ['admin'], queues: ['*'] },
  publisher: { name: 'publisher', token: 'publish-token-0000000001', scopes: ['publish', 'read', 'consume'], queues: ['t-*'] },
  reader: { name: 'reader', token: 'reader-token-00000000001', scopes: ['read'], queues: ['*'] },
} satisfies Record<string, TokenEntry>;

/** `Authorization` header of a test token. */
export function bearer(name: keyof typeof TOKENS): { authorization: string } {
  return { authorization: `Bearer ${TOKENS[name].token}` };
}

/** An app (not listening) plus its context. */
export interface TestApp {
  app: FastifyInstance;
  context: SluiceContext;
  close(): Promise<void>;
}

/** Builds the service on the run's servers with the test tokens. */
export async function openTestApp(database: string, options: { tokens?: TokenEntry[]; env?: Record<string, string> } = {}): Promise<TestApp> {
  const context = new SluiceContext(testConfig(database, options.env));
  const app = await buildApp({ context, auth: new TokenRegistry(options.tokens ?? Object.values(TOKENS)) });
  return {
    app,
    context,
    async close() {
      await app.close();
      await context.close();
    },
  };
}

/** Drops a test database. */
export async function dropDatabase(database: string): Promise<void> {
  const client = new MongoClient(inject('mongoUrl'));
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}

/** What a CLI run printed and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`dist/cli/index.js`, from `npm run build`) with Node 24. */
export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'dist', 'cli', 'index.js'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
