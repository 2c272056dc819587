/**
 * Wall-clock time in milliseconds with sub-millisecond resolution, comparable across the
 * benchmark's processes (all derive it from the same system clock at their start).
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
