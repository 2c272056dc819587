/**
 * Starts worker agents (bench/agent.ts in child processes, Node with tsx as a loader, like
 * test/helpers/child.ts) and talks to them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now } from './clock.js';
import type { AgentReply, AgentRequest, StartRequest } from './protocol.js';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(benchDir, '..');

/** What an agent reported when its consumer stopped. */
export type Stopped = Extract<AgentReply, { type: 'stopped' }>;

/** One worker agent process. */
export class Agent {
  readonly child: ChildProcess;
  /** Jobs its current consumer completed, as last reported, and when the latest completed. */
  count = 0;
  last = 0;
  private waiters: { type: AgentReply['type']; resolve: (reply: AgentReply) => void; reject: (error: Error) => void }[] = [];
  private stderr = '';

  constructor(execArgv: string[] = []) {
    this.child = spawn(process.execPath, [...execArgv, '--import', 'tsx', join(benchDir, 'agent.ts')], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.stderr = (this.stderr + text).slice(-4000);
      process.stderr.write(text);
    });
    this.child.on('message', (reply: AgentReply) => this.receive(reply));
    this.child.on('exit', (code, signal) => {
      const error = new Error(`agent ${this.child.pid} exited (${code ?? signal}): ${this.stderr}`);
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    });
  }

  private receive(reply: AgentReply): void {
    if (reply.type === 'progress') {
      this.count = reply.count;
      this.last = reply.last;
      return;
    }
    if (reply.type === 'failed') {
      const error = new Error(`agent ${this.child.pid} failed: ${reply.message}`);
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === reply.type);
    if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(reply);
  }

  private request<T extends AgentReply['type']>(message: AgentRequest, type: T, timeoutMs = 60_000): Promise<Extract<AgentReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent ${this.child.pid}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply as Extract<AgentReply, { type: T }>);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send(message);
    });
  }

  /** Starts a consumer; resolves when it waits for jobs. */
  async start(req: Omit<StartRequest, 'type'>): Promise<void> {
    this.count = 0;
    this.last = 0;
    await this.request({ type: 'start', ...req }, 'ready');
  }

  /** Stops the consumer (gracefully) and returns its report. */
  async stop(): Promise<Stopped> {
    const stopped = await this.request({ type: 'stop' }, 'stopped');
    this.count = stopped.count;
    this.last = stopped.last;
    return stopped;
  }

  /** Ends the process (after its consumer, if any, closed) and waits for it to exit. */
  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit' } satisfies AgentRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Waits until the agents together report `total` completions; returns the time of the last one.
 * @throws when no progress is seen for `stallMs`.
 */
export async function waitForCompletions(agents: readonly Agent[], total: number, stallMs = 30_000): Promise<number> {
  let seen = -1;
  let since = now();
  for (;;) {
    const sum = agents.reduce((n, a) => n + a.count, 0);
    if (sum >= total) return Math.max(...agents.map((a) => a.last));
    if (sum !== seen) {
      seen = sum;
      since = now();
    } else if (now() - since > stallMs) {
      throw new Error(`stalled at ${sum}/${total} completions for ${stallMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
