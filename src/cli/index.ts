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
// Long-running commands (serve, worker, replay --follow) have closed their resources by the
// time runCli resolves; anything still holding the event loop (a stuck socket) must not keep a
// finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
