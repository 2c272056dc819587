/**
 * Prints the self-time summary of a `.cpuprofile`:
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top]
 */
import { summarizeProfile } from './lib/cpuprofile.js';

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const summary = summarizeProfile(file, Number(top ?? 25));
const ms = (n: number): string => n.toFixed(1).padStart(9);
process.stdout.write(`wall ${summary.wallMs.toFixed(0)} ms, busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms\n\n`);
process.stdout.write('self ms   busy %  component\n');
for (const c of summary.components) process.stdout.write(`${ms(c.selfMs)} ${c.busyPct.toFixed(1).padStart(6)}  ${c.name}\n`);
process.stdout.write('\nself ms   busy %  function\n');
for (const f of summary.functions) process.stdout.write(`${ms(f.selfMs)} ${f.busyPct.toFixed(1).padStart(6)}  ${f.name}\n`);
