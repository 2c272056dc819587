#!/usr/bin/env node
/**
 * Entry point of the `sluice` command (package `bin`). See docs/CLI.md.
 *
 * @packageDocumentation
 */
import { runCli } from './program.js';

// `sluice replay q | head`: once the reader is gone, stop quietly instead of reporting EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Every command has closed what it opened by the time runCli resolves (serve, worker and
// replay --follow after their shutdown). What may still hold the event loop are the client
// libraries' timers: ioredis keeps a 2 s timer after disconnecting a connection that never
// connected, so `sluice stats` with Redis down would linger 2 s after printing its error. Exit
// once stdout and stderr have been flushed.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
