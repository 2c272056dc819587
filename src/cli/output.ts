/**
 * How the CLI prints: aligned tables and key/value blocks for people, JSON for scripts
 * (`--json`), and a progress bar on stderr for long operations (only when stderr is a terminal,
 * so pipes and logs stay clean).
 *
 * @packageDocumentation
 */

/** Where a command writes. Tests and embedders may pass their own streams. */
export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The process's streams. */
export const processIo: Io = { out: process.stdout, err: process.stderr };

/** A cell: anything printable; `undefined` prints as `-`. */
export type Cell = string | number | boolean | null | undefined;

function text(cell: Cell): string {
  if (cell === undefined || cell === null || cell === '') return '-';
  return String(cell);
}

/** Renders rows under a header, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [header.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(text))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Renders `key: value` lines, keys aligned. */
export function keyValues(entries: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${text(v)}`).join('\n') + '\n';
}

/** Writes `value` as one line of JSON. */
export function printJson(io: Io, value: unknown): void {
  io.out.write(`${JSON.stringify(value)}\n`);
}

/** A time in ms as an ISO string (or `-`). */
export function time(ms: number | undefined): string {
  return ms === undefined || ms === 0 ? '-' : new Date(ms).toISOString();
}

/** A progress bar on stderr: `label [#####-----] 50% 500/1000`, redrawn at most 10 times a second. */
export class Progress {
  private current = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  /**
   * @param total - expected count; `undefined` shows the count only.
   * @param enabled - draw at all; by default only when stderr is a terminal.
   */
  constructor(
    private readonly io: Io,
    private readonly label: string,
    private total: number | undefined,
    enabled?: boolean,
  ) {
    this.enabled = enabled ?? io.err.isTTY === true;
  }

  /** Sets the count done so far. */
  update(done: number): void {
    this.current = done;
    if (this.total !== undefined && done > this.total) this.total = done;
    const now = Date.now();
    if (now - this.lastDraw >= 100) this.draw();
  }

  /** Adds to the count done so far. */
  tick(count = 1): void {
    this.update(this.current + count);
  }

  private draw(): void {
    if (!this.enabled) return;
    this.lastDraw = Date.now();
    let line = `${this.label} ${this.current}`;
    if (this.total !== undefined && this.total > 0) {
      const ratio = Math.min(1, this.current / this.total);
      const width = 30;
      const filled = Math.round(ratio * width);
      line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${this.current}/${this.total}`;
    }
    this.io.err.write(`\r${line}\u001b[K`);
  }

  /** Draws the final state and ends the line. */
  done(): void {
    if (!this.enabled) return;
    this.draw();
    this.io.err.write('\n');
  }
}
