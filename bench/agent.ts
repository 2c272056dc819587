/**
 * A worker agent: a child process the runner starts with `node --import tsx bench/agent.ts`
 * and drives over Node IPC (see lib/protocol.ts). It hosts one consumer at a time, so the
 * publisher (the runner) and the workers never share an event loop. Agents live for the whole
 * run and serve every repetition, so JIT warm-up is paid once, by every system alike.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { now } from './lib/clock.js';
import { installCommandCounter, takeCommandCount } from './lib/command-counter.js';
import { startConsumer, type Consumer } from './lib/consumers.js';
import type { AgentReply, AgentRequest, StartRequest } from './lib/protocol.js';

installCommandCounter();

let consumer: Consumer | undefined;
let count = 0;
let last = 0;
let reported = 0;
let completions: [string, number][] | undefined;
let cpuStart = process.cpuUsage();
let ticker: NodeJS.Timeout | undefined;
let profiler: { session: Session; path: string } | undefined;

function send(reply: AgentReply): void {
  process.send?.(reply);
}

function onDone(jobId: string): void {
  count++;
  last = now();
  completions?.push([jobId, last]);
}

function onError(error: unknown): void {
  process.stderr.write(`agent ${process.pid}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}

async function start(req: StartRequest): Promise<void> {
  count = 0;
  last = 0;
  reported = 0;
  completions = req.record ? [] : undefined;
  consumer = await startConsumer(req, onDone, onError);
  if (req.profilePath) {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    profiler = { session, path: req.profilePath };
  }
  takeCommandCount();
  cpuStart = process.cpuUsage();
  ticker = setInterval(() => {
    if (count !== reported) {
      reported = count;
      send({ type: 'progress', count, last });
    }
  }, 20);
  send({ type: 'ready' });
}

async function stop(): Promise<void> {
  const cpu = process.cpuUsage(cpuStart);
  const sent = takeCommandCount();
  clearInterval(ticker);
  if (profiler) {
    const { profile } = await profiler.session.post('Profiler.stop');
    writeFileSync(profiler.path, JSON.stringify(profile));
    profiler.session.disconnect();
    profiler = undefined;
  }
  await consumer?.close();
  consumer = undefined;
  send({ type: 'stopped', count, last, cpuUs: cpu.user + cpu.system, sent, ...(completions ? { completions } : {}) });
  completions = undefined;
}

process.on('message', (message: AgentRequest) => {
  const run = async (): Promise<void> => {
    if (message.type === 'start') await start(message);
    else if (message.type === 'stop') await stop();
    else {
      await consumer?.close();
      process.disconnect();
      // Exit through the normal path so --cpu-prof writes its profile.
      process.exitCode = 0;
    }
  };
  run().catch((error: unknown) => {
    send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
