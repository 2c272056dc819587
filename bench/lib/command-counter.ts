/**
 * Counts the commands a process sends to Redis and the writes (round trips) they take, by
 * wrapping ioredis' `Redis.prototype.sendCommand`. Sluice and BullMQ both use this ioredis (BullMQ
 * takes it as a peer dependency and we hand it the client), so one counter sees both.
 *
 * A command sent on its own is one write; the commands of one pipeline (or MULTI) exec share a
 * write: ioredis passes the same `stream` object for all of them. Commands run *inside* a Lua
 * script are not counted here (Redis' INFO counts those).
 */
import { Redis } from 'ioredis';

/** Commands and writes sent since the last reset. */
export interface CommandCount {
  commands: number;
  writes: number;
}

type SendCommand = (this: unknown, command: unknown, stream?: unknown, node?: unknown) => unknown;

let installed = false;
let commands = 0;
let writes = 0;
let lastStream: unknown;

/** Installs the counter once per process (idempotent). */
export function installCommandCounter(): void {
  if (installed) return;
  installed = true;
  const proto = Redis.prototype as unknown as { sendCommand: SendCommand };
  const original = proto.sendCommand;
  proto.sendCommand = function (this: unknown, command: unknown, stream?: unknown, node?: unknown): unknown {
    commands++;
    if (stream === undefined) writes++;
    else if (stream !== lastStream) {
      writes++;
      lastStream = stream;
    }
    return original.call(this, command, stream, node);
  };
}

/** Reads and resets the counters. */
export function takeCommandCount(): CommandCount {
  const count = { commands, writes };
  commands = 0;
  writes = 0;
  return count;
}
