/** Small statistics for the benchmark: percentiles and rates. */
/** The middle element by `key` (the upper one of an even count). */
export function median<T>(xs: readonly T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
}

function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

export function summarize(samplesMs: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** Runs `op` repeatedly for `ms` after a warm-up; returns operations per second. */
export async function rate(
  op: () => unknown | Promise<unknown>,
  ms: number,
  warmup = 200,
): Promise<number> {
  const until = (t: number) => performance.now() + t;
  for (const end = until(warmup); performance.now() < end;) await op();
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    await op();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}
