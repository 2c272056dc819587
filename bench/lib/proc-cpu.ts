/**
 * CPU time of a process tree from /proc (Linux), for benchmarks that charge a server's cost to
 * the operations measured (e.g. FerretDB and its PostgreSQL cluster per payload job).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ = 100

/** utime + stime (+ reaped children) of `pid` and of its live descendants, in ms. */
export function treeCpuMs(root: number | undefined): number {
  if (root === undefined) return 0;
  const parents = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * TICK_MS);
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  for (const [pid, ms] of cpu) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p)) {
      if (p === root) {
        total += ms;
        break;
      }
    }
  }
  return total;
}
