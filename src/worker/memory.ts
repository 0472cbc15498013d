/**
 * The worker's memory policy (after Dask's worker memory thresholds), as pure numbers:
 *
 * - `limitBytes`: the object store never keeps more than this in memory; a put that would
 *   go past it first spills least-recently-used results to disk and waits for them to land.
 * - `targetBytes` (default 60% of the limit): above it, least-recently-used results are
 *   spilled to disk in the background until the store is back under it.
 * - `pauseBytes` (default 80% of the limit): above it, the worker starts no new executions
 *   and no new input fetches until spilling brings it back down (Dask's "paused").
 *
 * What is measured: the bytes of serialized results the store keeps in memory (results
 * being written to disk still count until the write lands). Not the process RSS: a Node
 * worker's baseline (V8 heaps of the main and pool threads, module code) is tens to
 * hundreds of MiB, is not attributable to results and cannot be spilled, so an RSS-based
 * pause would stall a small-limit worker forever. The limit bounds what floe holds, not
 * the process; run the worker under a cgroup/container limit for a hard process cap.
 * Dask's 95% "terminate" threshold belongs to a supervisor (nanny) and is not done here.
 */
import { FloeError } from '../errors.ts';

export const DEFAULT_MEMORY_TARGET_FRACTION = 0.6;
export const DEFAULT_MEMORY_PAUSE_FRACTION = 0.8;

export interface MemoryPolicyOptions {
  limitBytes: number;
  /** Default 0.6. */
  targetFraction?: number;
  /** Default 0.8; must be >= targetFraction. */
  pauseFraction?: number;
}

export interface MemoryPolicy {
  readonly limitBytes: number;
  readonly targetBytes: number;
  readonly pauseBytes: number;
}

/** What the memory options are called where they were given, for errors. */
export interface MemoryOptionNames {
  limit: string;
  target: string;
  pause: string;
}

/** The names of the options objects (WorkerNodeOptions; Client.local's, once its limit is in bytes). */
export const MEMORY_OPTION_NAMES: MemoryOptionNames = {
  limit: 'options.memoryLimitBytes',
  target: 'options.memoryTargetFraction',
  pause: 'options.memoryPauseFraction',
};

/** Validates the options (naming the one that is wrong) and computes the thresholds. */
export function memoryPolicy(options: MemoryPolicyOptions, names: MemoryOptionNames = MEMORY_OPTION_NAMES): MemoryPolicy {
  const { limitBytes } = options;
  if (!Number.isSafeInteger(limitBytes) || limitBytes < 1) {
    throw new FloeError('INVALID_OPTION', `${names.limit} must be a positive integer (got ${String(limitBytes)})`);
  }
  const target = fraction(names.target, options.targetFraction ?? DEFAULT_MEMORY_TARGET_FRACTION);
  const pause = fraction(names.pause, options.pauseFraction ?? DEFAULT_MEMORY_PAUSE_FRACTION);
  if (pause < target) {
    throw new FloeError('INVALID_OPTION', `${names.pause} (${pause}) must not be below ${names.target} (${target})`);
  }
  return {
    limitBytes,
    targetBytes: Math.floor(limitBytes * target),
    pauseBytes: Math.floor(limitBytes * pause),
  };
}

/** The memory fields of a worker's options (WorkerNodeOptions, Client.local's once the limit is in bytes). */
export interface MemoryLimitOptions {
  memoryLimitBytes?: number | undefined;
  memoryTargetFraction?: number | undefined;
  memoryPauseFraction?: number | undefined;
}

/** The policy the options ask for (validated, see memoryPolicy), or undefined without a limit. */
export function memoryPolicyOf(options: MemoryLimitOptions, names: MemoryOptionNames = MEMORY_OPTION_NAMES): MemoryPolicy | undefined {
  const { memoryLimitBytes, memoryTargetFraction, memoryPauseFraction } = options;
  if (memoryLimitBytes === undefined) {
    // A fraction of no limit would be dropped without a word.
    const given = memoryTargetFraction !== undefined ? names.target : memoryPauseFraction !== undefined ? names.pause : undefined;
    if (given !== undefined) throw new FloeError('INVALID_OPTION', `${given} is a fraction of the memory limit, and no ${names.limit} is given`);
    return undefined;
  }
  return memoryPolicy(
    {
      limitBytes: memoryLimitBytes,
      ...(memoryTargetFraction === undefined ? {} : { targetFraction: memoryTargetFraction }),
      ...(memoryPauseFraction === undefined ? {} : { pauseFraction: memoryPauseFraction }),
    },
    names,
  );
}

/** Whether a worker holding `bytes` in memory should hold back new work. */
export function shouldPause(policy: MemoryPolicy, bytes: number): boolean {
  return bytes > policy.pauseBytes;
}

function fraction(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new FloeError('INVALID_OPTION', `${name} must be a number in (0, 1] (got ${String(value)})`);
  }
  return value;
}
