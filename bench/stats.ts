/**
 * Pure numbers for the harness: quantiles, summaries of repetitions, and task lag.
 * No clocks or I/O here, so the unit tests can pin them down exactly.
 */

/** Quantile by linear interpolation between closest ranks (numpy's default); NaN for no data. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export interface Summary {
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  n: number;
}

/** Median and spread of the repetitions of one measurement. */
export function summarize(values: readonly number[]): Summary {
  return {
    median: median(values),
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    n: values.length,
  };
}

/** mulberry32: a small, fast seeded PRNG; the same seed gives the same sequence everywhere (the tests' random graphs use it too). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** B against A, run by run: the median of the paired ratios and a confidence interval for it. */
export interface PairedRatio {
  /** Median of b[i] / a[i]. */
  median: number;
  /** 95% interval of that median, by a block bootstrap of the pairs (see pairedRatio). */
  low: number;
  high: number;
  /** Pairs in which b was below a. */
  bLower: number;
  n: number;
}

/**
 * Compares two builds measured in alternation (bench/side-by-side.ts): run i of each saw
 * about the same moment of the machine, so each pair's ratio leaves out most of the
 * machine's drift, which on a shared machine is larger than most changes. The interval is
 * the 2.5th to 97.5th percentile of the paired ratios' median over `resamples` block
 * bootstrap resamplings: runs of √n consecutive pairs drawn with replacement, since the
 * drift makes neighbouring pairs alike and resampling single pairs would make the interval
 * too narrow. The generator has a fixed seed, so a result can be reproduced. An interval
 * that holds 1 means the runs cannot tell the builds apart. Pairs beyond the shorter list,
 * or with a value that is not a positive number, are left out.
 */
export function pairedRatio(a: readonly number[], b: readonly number[], resamples = 2000): PairedRatio {
  const ratios: number[] = [];
  let bLower = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i]!, b[i]!];
    if (!(x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y))) continue;
    ratios.push(y / x);
    if (y < x) bLower++;
  }
  const n = ratios.length;
  if (n === 0) return { median: Number.NaN, low: Number.NaN, high: Number.NaN, bLower: 0, n: 0 };
  const random = mulberry32(0x9e3779b9);
  const block = Math.max(1, Math.round(Math.sqrt(n)));
  const medians: number[] = [];
  const sample = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; ) {
      const from = Math.floor(random() * (n - block + 1));
      for (let k = 0; k < block && i < n; k++) sample[i++] = ratios[from + k]!;
    }
    medians.push(median(sample));
  }
  return { median: median(ratios), low: quantile(medians, 0.025), high: quantile(medians, 0.975), bLower, n };
}

/** One task of a task-lag run: its upstream tasks (indices) and when it ran (epoch ms). */
export interface TimedTask {
  deps: readonly number[];
  startMs: number;
  endMs: number;
}

export interface LagResult {
  /** Per-task lag in ms, in task order. */
  lagsMs: number[];
  totalS: number;
  medianMs: number;
  p99Ms: number;
  /** First submit to last end, in seconds. */
  wallS: number;
}

/**
 * Task lag as the Airflow scheduler benchmark defines it: a task's start time minus the
 * latest end time of its upstream tasks; for a root task, its start minus the submit time.
 * Negative values (clock jitter between processes, well under a millisecond) count as 0.
 */
export function taskLag(tasks: readonly TimedTask[], submitMs: number): LagResult {
  const lagsMs = tasks.map((t) => {
    let ready = submitMs;
    if (t.deps.length > 0) {
      ready = -Infinity;
      for (const d of t.deps) {
        const up = tasks[d];
        if (up === undefined) throw new Error(`task-lag: upstream ${d} does not exist`);
        ready = Math.max(ready, up.endMs);
      }
    }
    return Math.max(0, t.startMs - ready);
  });
  const lastEnd = tasks.reduce((m, t) => Math.max(m, t.endMs), submitMs);
  return {
    lagsMs,
    totalS: lagsMs.reduce((a, b) => a + b, 0) / 1000,
    medianMs: median(lagsMs),
    p99Ms: quantile(lagsMs, 0.99),
    wallS: (lastEnd - submitMs) / 1000,
  };
}

/** Flattens a shape's flows into one task list with global indices. */
export function flatten(flows: number[][][]): Array<{ deps: number[] }> {
  const out: Array<{ deps: number[] }> = [];
  for (const flow of flows) {
    const base = out.length;
    for (const deps of flow) out.push({ deps: deps.map((d) => base + d) });
  }
  return out;
}

/** Runs of one thread close enough together to be one stretch of work (see stretches). */
export interface Stretch {
  startMs: number;
  endMs: number;
  /** The runs in it. */
  runs: number;
  /** The lowest and highest task index among them. */
  first: number;
  last: number;
}

/**
 * One thread's runs (task index, start and end ms, in any order) as stretches of work: runs
 * that start less than `gapMs` after the one before ended belong to the same stretch. What
 * lies between two stretches is time the thread waited for work.
 */
export function stretches(runs: ReadonlyArray<{ index: number; startMs: number; endMs: number }>, gapMs: number): Stretch[] {
  const sorted = [...runs].sort((a, b) => a.startMs - b.startMs);
  const out: Stretch[] = [];
  let cur: Stretch | undefined;
  for (const r of sorted) {
    if (cur !== undefined && r.startMs - cur.endMs < gapMs) {
      cur.endMs = Math.max(cur.endMs, r.endMs);
      cur.runs += 1;
      cur.first = Math.min(cur.first, r.index);
      cur.last = Math.max(cur.last, r.index);
      continue;
    }
    cur = { startMs: r.startMs, endMs: r.endMs, runs: 1, first: r.index, last: r.index };
    out.push(cur);
  }
  return out;
}

/** Each process's stretches of work (see stretches), from stamps that name the process their task ran in (in task order). */
export function stretchesByPid(stamps: ReadonlyArray<{ s: number; e: number; pid: number }>, gapMs: number): Map<number, Stretch[]> {
  const runs = new Map<number, Array<{ index: number; startMs: number; endMs: number }>>();
  stamps.forEach((st, index) => {
    const own = runs.get(st.pid);
    const run = { index, startMs: st.s, endMs: st.e };
    if (own === undefined) runs.set(st.pid, [run]);
    else own.push(run);
  });
  return new Map([...runs].map(([pid, own]) => [pid, stretches(own, gapMs)]));
}

/** Time in stretches of work and between them (ms), per process, averaged over the processes. */
export function stretchTimes(byPid: ReadonlyMap<number, readonly Stretch[]>): { runMs: number; waitMs: number } {
  let run = 0;
  let wait = 0;
  for (const own of byPid.values()) {
    own.forEach((st, i) => {
      run += st.endMs - st.startMs;
      if (i > 0) wait += st.startMs - own[i - 1]!.endMs;
    });
  }
  return { runMs: run / byPid.size, waitMs: wait / byPid.size };
}

/** When each root task (one without upstream tasks) started, in ms after the submit time, in task order. */
export function rootStartsMs(tasks: readonly TimedTask[], submitMs: number): number[] {
  const out: number[] = [];
  for (const t of tasks) if (t.deps.length === 0) out.push(t.startMs - submitMs);
  return out;
}

/** The three graph shapes of the Airflow 2.0 scheduler benchmark, as dependency lists. */
export type LagShape = 'linear-100x10' | 'linear-10x100' | 'tree-100x10';

export const LAG_SHAPES: readonly LagShape[] = ['linear-100x10', 'linear-10x100', 'tree-100x10'];

/**
 * Builds the flows of a shape: for each flow, for each task, the indices (within that
 * flow) of its upstream tasks. Linear: a chain. Tree: Airflow's binary tree, which fans
 * out from the root (task i follows task ⌊(i−1)/2⌋). `scale` shrinks the flow count (--quick).
 */
export function lagShape(shape: LagShape, scale = 1): number[][][] {
  const flows = (n: number): number => Math.max(1, Math.round(n * scale));
  const chain = (len: number): number[][] => Array.from({ length: len }, (_, i) => (i === 0 ? [] : [i - 1]));
  const tree = (len: number): number[][] => Array.from({ length: len }, (_, i) => (i === 0 ? [] : [Math.floor((i - 1) / 2)]));
  switch (shape) {
    case 'linear-100x10':
      return Array.from({ length: flows(100) }, () => chain(10));
    case 'linear-10x100':
      return Array.from({ length: flows(10) }, () => chain(100));
    case 'tree-100x10':
      return Array.from({ length: flows(100) }, () => tree(10));
  }
}

/** A task-lag shape named on a tool's command line (`fallback` when none is), or an error naming the shapes. */
export function lagShapeArg(arg: string | undefined, fallback: LagShape = 'linear-100x10'): LagShape {
  const shape = (arg ?? fallback) as LagShape;
  if (!LAG_SHAPES.includes(shape)) throw new Error(`unknown shape ${shape} (${LAG_SHAPES.join(', ')})`);
  return shape;
}

/** Airflow's published total task lag per shape, in seconds (Airflow 2.0 scheduler benchmark). */
export const AIRFLOW_TOTAL_LAG_S: Record<LagShape, { v1_10_10: number; v2_0_beta: number }> = {
  'linear-100x10': { v1_10_10: 200, v2_0_beta: 11.6 },
  'linear-10x100': { v1_10_10: 144, v2_0_beta: 14.3 },
  'tree-100x10': { v1_10_10: 200, v2_0_beta: 12 },
};
