/** Runs a TypeScript fixture (or any program) in a child process and follows its stdout line by line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A child process running a fixture under tsx. */
export class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  private stderr = '';

  /** `command`: run this program and arguments instead of the fixture (e.g. a Python or Go worker). */
  constructor(fixture: string, env: Record<string, string>, command?: readonly [string, ...string[]]) {
    // Node itself with tsx as a loader (not the tsx CLI, which forks a second process that a
    // SIGKILL of the first would leave running).
    const [file, ...args] = command ?? [process.execPath, '--import', 'tsx', join(root, 'test', 'fixtures', fixture)];
    this.process = spawn(file, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
  }

  /** Recent stderr, for failure messages. */
  get errors(): string {
    return this.stderr;
  }

  /** Waits for a stdout line matching `pattern`. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line) return line;
      if (this.process.exitCode !== null) throw new Error(`child exited (${this.process.exitCode}) before ${pattern}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no line ${pattern} within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal. */
  signal(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  /** Resolves with the exit code (or signal name). */
  exited(): Promise<number | string> {
    if (this.process.exitCode !== null) return Promise.resolve(this.process.exitCode);
    if (this.process.signalCode !== null) return Promise.resolve(this.process.signalCode);
    return new Promise((resolve) => this.process.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  }

  /** Kills the process if it still runs. */
  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGCONT');
      this.process.kill('SIGKILL');
      await this.exited();
    }
  }
}
