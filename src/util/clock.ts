/** Injected time source, so drivers can be tested with a fake clock. */
export interface Clock {
  /** Milliseconds; monotonic enough for timers and durations. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};
