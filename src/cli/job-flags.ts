/**
 * Command line flags for job options, generated from {@link JobOptionsSchema}: one flag per
 * option, named after it (`jobId` → `--job-id`; a duration in ms drops its `Ms`: `delayMs` →
 * `--delay <duration>`), described by the schema's description and default, parsed by the
 * option's type (integers within the schema's bounds, durations, one of an enum's values). Options whose
 * value is not one scalar take the shorthand of {@link SHORTHANDS}.
 *
 * @packageDocumentation
 */
import { Option, type Command } from 'commander';
import { parseBackoff, parseDuration } from '../app/config.js';
import { ValidationError } from '../core/errors.js';
import { boundsOf, JOB_OPTION_NAMES, JobOptionsSchema, type JobOptionName, type JobOptions } from '../jobs/schema.js';

/** How the command line writes an option whose value is not one scalar. */
interface Shorthand {
  /** The flag's argument placeholder. */
  readonly arg: string;
  /** What the argument means (appended to the schema's description). */
  readonly help: string;
  parse(text: string, flag: string): unknown;
}

/** A time: milliseconds since the epoch, or an ISO 8601 date-time. */
export function parseTime(text: string, flag: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms)) throw new ValidationError(flag, `must be an ISO 8601 time or ms since the epoch, got ${JSON.stringify(text)}`);
  return ms;
}

/** `<job id>` (this queue) or `<queue>/<job id>`. */
function dependencyRef(ref: string, flag: string): string | { queue: string; jobId: string } {
  const slash = ref.indexOf('/');
  if (ref === '') throw new ValidationError(flag, 'holds an empty job reference');
  return slash <= 0 ? ref : { queue: ref.slice(0, slash), jobId: ref.slice(slash + 1) };
}

const SHORTHANDS: Partial<Record<JobOptionName, Shorthand>> = {
  runAt: { arg: '<time>', help: 'ISO 8601 or ms since the epoch', parse: parseTime },
  backoff: { arg: '<spec>', help: 'fixed:<delay>, exponential:<delay>[:<max>[:<jitter>]] or JSON', parse: parseBackoff },
  dedupe: { arg: '<key>', help: 'the dedupe key; no window after the job ends', parse: (key) => ({ key }) },
  dependsOn: { arg: '<refs>', help: 'comma-separated: <job id> or <queue>/<job id>', parse: (text, flag) => text.split(',').map((ref) => dependencyRef(ref.trim(), flag)) },
};

/** The JSON-schema keywords the generator reads. */
interface PropertySchema {
  type?: string;
  enum?: readonly string[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

/** One generated flag. */
interface JobFlag {
  readonly option: JobOptionName;
  /** `--delay`. */
  readonly flag: string;
  /** Commander's key of the parsed value (`delay`). */
  readonly attribute: string;
  readonly parse: (text: string) => unknown;
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function flagOf(option: JobOptionName, schema: PropertySchema, rename: (flag: string) => string): { flag: string; arg: string; help: string; parse: (text: string, flag: string) => unknown } {
  const shorthand = SHORTHANDS[option];
  if (shorthand) return { flag: rename(kebab(option)), arg: shorthand.arg, help: shorthand.help, parse: (text, flag) => shorthand.parse(text, flag) };
  if (schema.type === 'integer') {
    const { min, max } = boundsOf(schema);
    const inBounds = (value: number, text: string, flag: string): number => {
      if (!Number.isSafeInteger(value) || value < min || value > max) throw new ValidationError(flag, `must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
      return value;
    };
    if (option.endsWith('Ms')) return { flag: rename(kebab(option.slice(0, -2))), arg: '<duration>', help: 'e.g. 30s, 5m', parse: (text, flag) => inBounds(parseDuration(text, flag), text, flag) };
    return { flag: rename(kebab(option)), arg: '<n>', help: '', parse: (text, flag) => inBounds(text.trim() === '' ? NaN : Number(text), text, flag) };
  }
  if (schema.type === 'string') {
    const arg = schema.enum ? `<${schema.enum.join('|')}>` : option.endsWith('Id') ? '<id>' : `<${kebab(option)}>`;
    const values = schema.enum;
    return {
      flag: rename(kebab(option)),
      arg,
      help: '',
      parse: (text, flag) => {
        if (values && !values.includes(text)) throw new ValidationError(flag, `must be ${values.join(' or ')}, got ${JSON.stringify(text)}`);
        return text;
      },
    };
  }
  throw new Error(`job option ${option} has no command line form: add a shorthand`);
}

/** What {@link addJobOptionFlags} generates. */
export interface JobFlagsOptions {
  /** The options to add flags for. @default every option */
  readonly only?: readonly JobOptionName[];
  /** Maps the generated flag name (without `--`, e.g. `priority`) to the one used. @default unchanged */
  readonly rename?: (flag: string) => string;
}

/** Reads the generated flags from commander's parsed options. */
export interface JobFlagsReader {
  /** The job options the given flags set (flags not given are left out, so queue defaults apply). */
  readonly read: (flags: Readonly<Record<string, unknown>>) => JobOptions;
  /** The generated flags that were given (`--priority`, …). */
  readonly given: (flags: Readonly<Record<string, unknown>>) => string[];
}

/** Adds one flag per job option to `command`; returns their reader. */
export function addJobOptionFlags(command: Command, options: JobFlagsOptions = {}): JobFlagsReader {
  const flags: JobFlag[] = [];
  for (const option of options.only ?? JOB_OPTION_NAMES) {
    const schema: PropertySchema = JobOptionsSchema.properties[option];
    const { flag, arg, help, parse } = flagOf(option, schema, options.rename ?? ((name) => name));
    const shown = schema.default === undefined ? '' : ` [default: ${JSON.stringify(schema.default).replace(/^"(.*)"$/, '$1')}]`;
    const description = `${(schema.description ?? option).replace(/`/g, '')}${help ? ` (${help})` : ''}${shown}`;
    const commanderOption = new Option(`--${flag} ${arg}`, description);
    command.addOption(commanderOption);
    flags.push({ option, flag: `--${flag}`, attribute: commanderOption.attributeName(), parse: (text) => parse(text, `--${flag}`) });
  }
  return {
    read: (given) => {
      const out: Record<string, unknown> = {};
      for (const { option, attribute, parse } of flags) {
        const text = given[attribute];
        if (typeof text === 'string') out[option] = parse(text);
      }
      return out;
    },
    given: (given) => flags.filter((f) => given[f.attribute] !== undefined).map((f) => f.flag),
  };
}
