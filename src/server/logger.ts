/**
 * The process logger: pino JSON lines on stdout at the configured level, with secrets scrubbed
 * (URL passwords in messages and errors, the Authorization header of logged requests).
 *
 * @packageDocumentation
 */
import { pino, stdSerializers, type Logger } from 'pino';
import { scrubSecrets, type LogLevel } from '../app/config.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** `name` field of every line. @default 'sluice' */
  name?: string;
  /** Where lines go. @default stdout */
  destination?: NodeJS.WritableStream;
}

/** Creates the logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'sluice',
      level: options.level ?? 'info',
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '***' },
      serializers: {
        err: (error: Error) => {
          const serialized = stdSerializers.err(error);
          return { ...serialized, message: scrubSecrets(serialized.message), stack: scrubSecrets(serialized.stack) };
        },
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg: unknown) => (typeof arg === 'string' ? scrubSecrets(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? process.stdout,
  );
}
