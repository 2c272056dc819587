/** Summaries of repeated measurements. */

/** Median, min and max of the repetitions of one figure, plus the raw values. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** Summarises repetitions; `NaN` everywhere when there are none. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [...values] };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, values: [...values] };
}

/** Nearest-rank percentile (`p` in 0..100) of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Spread of a summary as a fraction of its median: (max - min) / median. */
export function spread(summary: Summary): number {
  return (summary.max - summary.min) / summary.median;
}
