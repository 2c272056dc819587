/**
 * The `sluice` command line: commander program with every command. See docs/CLI.md.
 *
 * @packageDocumentation
 */
import { Command, CommanderError } from 'commander';
import { isSluiceError, ValidationError } from '../core/errors.js';
import { scrubSecrets } from '../app/config.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerInspectCommands } from './commands/inspect.js';
import { registerPublishCommand } from './commands/publish.js';
import { registerRunCommands } from './commands/run.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerSearchCommands } from './commands/search.js';
import { printJson, processIo, type Io } from './output.js';
import { EXIT } from './shared.js';

/** Builds the program. Commands print to `io`. */
export function buildProgram(io: Io = processIo): Command {
  const program = new Command('sluice')
    .description('Sluice: event-sourced job queue on Redis Streams with payloads in MongoDB')
    .version('0.1.0')
    .option('--json', 'machine-readable output (JSON; NDJSON for event streams)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });
  registerRunCommands(program, io);
  registerInspectCommands(program, io);
  registerPublishCommand(program, io);
  registerAdminCommands(program, io);
  registerScheduleCommands(program, io);
  registerAuditCommands(program, io);
  registerSearchCommands(program, io);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code: 0 done,
 * 1 failed, 2 usage or refused by a guard.
 */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // The reader of stdout went away (`| head`): nothing to report to it.
    if ((error as { code?: unknown } | null)?.code === 'EPIPE') return EXIT.ok;
    const code = error instanceof ValidationError ? EXIT.usage : EXIT.failed;
    const message = scrubSecrets(error instanceof Error ? error.message : String(error));
    if (json) printJson({ out: io.err, err: io.err }, { error: { code: isSluiceError(error) ? error.code : 'SLUICE_ERR_INTERNAL', message, ...(error instanceof ValidationError ? { field: error.field } : {}) } });
    else io.err.write(`sluice: ${message}\n`);
    return code;
  }
}
