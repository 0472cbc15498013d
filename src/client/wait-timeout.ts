/**
 * Waiting with a time limit, as Dask's `future.result(timeout=...)` and Ray's
 * `ray.get(..., timeout=...)`: the wait gives up with WAIT_TIMEOUT, while the tasks go on
 * and their futures stay as they were (they can be waited on again).
 */
import { FloeError } from '../errors.ts';
import { TIMER_MAX_MS } from '../util/clock.ts';

/** How long a wait for results (future.result, future.wait, client.gather, asCompleted) may take. */
export interface WaitOptions {
  /** Give up waiting after this many milliseconds (the tasks go on). Default: wait until done. */
  timeoutMs?: number;
}

/**
 * `options.timeoutMs`, checked: options an object with no other key, the limit undefined
 * (none) or a finite number, 0 or more; else INVALID_OPTION.
 */
export function timeoutOf(options: WaitOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FloeError('INVALID_OPTION', `wait options must be an object such as { timeoutMs: 5000 } (got ${String(options)})`);
  }
  const unknown = Object.keys(options).filter((key) => key !== 'timeoutMs');
  if (unknown.length > 0) throw new FloeError('INVALID_OPTION', `unknown wait option ${unknown.join(', ')} (the one there is: timeoutMs)`);
  const timeoutMs = options.timeoutMs;
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > TIMER_MAX_MS) {
    throw new FloeError('INVALID_OPTION', `timeoutMs must be a number of milliseconds from 0 to ${TIMER_MAX_MS} (got ${String(timeoutMs)})`);
  }
  return timeoutMs;
}

/** `promise`, or WAIT_TIMEOUT naming `what` once `options.timeoutMs` have passed first. */
export function withTimeout<T>(promise: Promise<T>, options: WaitOptions | undefined, what: () => string): Promise<T> {
  let timeoutMs: number | undefined;
  try {
    timeoutMs = timeoutOf(options);
  } catch (error) {
    return Promise.reject(error);
  }
  return timeoutMs === undefined ? promise : racing(promise, timeoutMs, () => `${what()} within ${timeoutMs} ms; the tasks go on`);
}

/** `promise`, or WAIT_TIMEOUT with `message` once `waitMs` have passed first. */
export function racing<T>(promise: Promise<T>, waitMs: number, message: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new FloeError('WAIT_TIMEOUT', message())), waitMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
