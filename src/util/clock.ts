/** Injected time source, so drivers can be tested with a fake clock. */
export interface Clock {
  /** Milliseconds; monotonic enough for timers and durations. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

/**
 * The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days). A longer one fires
 * after 1 ms, with a warning: options that become timers are held to it, and a timer for
 * a later time is set for this long and set again when it fires.
 */
export const TIMER_MAX_MS = 2 ** 31 - 1;
