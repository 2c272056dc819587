/** Prints scenario results as Markdown tables (readable in a terminal, pasteable into docs). */
import type { ScenarioResult, TargetResult } from '../scenarios.js';
import type { Summary } from './stats.js';

const columns: Record<string, { header: string; digits: number }> = {
  jobsPerSec: { header: 'jobs/s', digits: 0 },
  p50Ms: { header: 'p50 ms', digits: 2 },
  p95Ms: { header: 'p95 ms', digits: 2 },
  p99Ms: { header: 'p99 ms', digits: 2 },
  maxMs: { header: 'max ms', digits: 1 },
  achievedRate: { header: 'sent/s', digits: 0 },
  maxScheduleLagMs: { header: 'publisher lag max ms', digits: 1 },
  bytesPerWaitingJob: { header: 'Redis B/job', digits: 0 },
  bytesPerCompletedJob: { header: 'Redis B/completed job', digits: 0 },
  publisherCpuUsPerJob: { header: 'publisher CPU µs/job', digits: 1 },
  workerCpuUsPerJob: { header: 'worker CPU µs/job', digits: 1 },
  redisCpuUsPerJob: { header: 'Redis CPU µs/job', digits: 1 },
  redisCommandsPerJob: { header: 'Redis cmds/job', digits: 1 },
  eventAppendsPerJob: { header: 'events/job', digits: 2 },
  publisherWritesPerJob: { header: 'publisher writes/job', digits: 3 },
  workerWritesPerJob: { header: 'worker writes/job', digits: 3 },
};

function num(n: number, digits: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `median (min–max)`. */
export function cell(s: Summary | undefined, digits: number): string {
  if (!s) return '';
  if (s.values.length <= 1) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

/** One scenario as a Markdown section. */
export function scenarioMarkdown(scenario: ScenarioResult): string {
  const keys = [...new Set(scenario.rows.flatMap((r) => Object.keys(r.metrics)))];
  const hasVariant = scenario.rows.some((r) => r.variant !== undefined);
  const header = ['system', ...(hasVariant ? ['case'] : []), 'payload', ...keys.map((k) => columns[k]?.header ?? k)];
  const lines = [`### ${scenario.title}`, '', `Measures: ${scenario.measures}. Cells: median (min–max).`, ''];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < (hasVariant ? 3 : 2) ? '---' : '---:')).join('|')}|`);
  for (const r of scenario.rows) {
    const cells = [r.label, ...(hasVariant ? [r.variant ?? ''] : []), r.where, ...keys.map((k) => cell(r.metrics[k], columns[k]?.digits ?? 2))];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (scenario.ratios.length > 0) {
    lines.push('');
    for (const q of scenario.ratios) {
      lines.push(`- ${q.name}: **${q.ofMedians.toFixed(2)}×** (${q.numerator} / ${q.denominator}, ratio of medians; paired repetitions ${cell(q.perRepetition, 2)})`);
    }
  }
  for (const note of scenario.notes) lines.push(`- ${note}`);
  return lines.join('\n');
}

/** The targets as a Markdown table. */
export function targetsMarkdown(targets: readonly TargetResult[]): string {
  const lines = ['### Targets', '', '| target | ratio | value (paired reps min–max) | verdict |', '|---|---|---:|---|'];
  for (const t of targets) {
    lines.push(`| ${t.target} | ${t.ratio} | ${t.value.toFixed(2)} (${num(t.perRepetition.min, 2)}–${num(t.perRepetition.max, 2)}) | ${t.met ? '✅' : '❌'} ${t.verdict} |`);
  }
  return lines.join('\n');
}
