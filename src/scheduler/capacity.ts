/**
 * How many tasks a worker is sent at once. The base is `workerSaturation` per thread (as in
 * Dask); when runs are short, more, so that a worker never waits on a round trip to the
 * scheduler with idle threads: with 50 µs tasks and a 1 ms round trip, 2 per thread would
 * leave a thread idle 90% of the time.
 */
import type { SchedulerCore } from './core.ts';

/**
 * Tasks per thread a worker is sent at once: `workerSaturation`, or more when recent runs
 * are short enough that that many would leave its threads idle across a round trip to the
 * scheduler (rounded down to a power of two, so the figure settles instead of flickering).
 */
export function tasksPerThread(core: SchedulerCore): number {
  const { workerSaturation, saturationWindowMs, maxTasksPerThread } = core.config;
  const avg = core.runTimeAvgMs;
  if (saturationWindowMs <= 0 || avg === undefined) return workerSaturation;
  const fit = Math.min(maxTasksPerThread, saturationWindowMs / Math.max(avg, 0.001));
  return fit <= workerSaturation ? workerSaturation : Math.max(workerSaturation, powerOfTwoBelow(fit));
}

/**
 * The largest power of two not above `x` (> 0): 2 ** Math.floor(Math.log2(x)) without
 * the calls to log2 and pow, which took 1% of the coordinator's CPU (this runs for
 * every finished task). Doubling and halving a power of two are exact.
 */
function powerOfTwoBelow(x: number): number {
  let p = 1;
  while (p > x) p /= 2;
  while (p * 2 <= x) p *= 2;
  return p;
}

/**
 * A run took `durationMs`. Keeps the average run time; when that changes the tasks per
 * thread, every worker's capacity follows (workers that gained some pull queued tasks when
 * the event ends; one over its new capacity simply gets nothing new until it is under).
 */
export function observeRunTime(core: SchedulerCore, durationMs: number): void {
  if (core.config.saturationWindowMs <= 0 || !(durationMs >= 0)) return;
  const avg = core.runTimeAvgMs;
  const next = avg === undefined ? durationMs : avg + (durationMs - avg) * RUN_TIME_WEIGHT;
  // tasksPerThread depends on the average alone: unchanged (runs as long as the average,
  // common with very short tasks), nothing to recompute.
  if (next === avg) return;
  core.runTimeAvgMs = next;
  const perThread = tasksPerThread(core);
  if (perThread === core.tasksPerThread) return;
  core.tasksPerThread = perThread;
  for (const w of core.workerList) {
    const capacity = Math.ceil(w.threads * perThread);
    if (capacity > w.capacity) core.freed.add(w);
    w.capacity = capacity;
  }
}

/** Weight of the newest run time in the moving average. */
const RUN_TIME_WEIGHT = 0.05;
