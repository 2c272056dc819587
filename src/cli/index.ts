#!/usr/bin/env node
/**
 * Entry point of the `sluice` command (package `bin`). See docs/CLI.md.
 *
 * @packageDocumentation
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Long-running commands (serve, worker, replay --follow) have closed their resources by the
// time runCli resolves; anything still holding the event loop (a stuck socket) must not keep a
// finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
