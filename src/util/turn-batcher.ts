/**
 * Runs `flush` once at the end of the current turn however many times `request()` is
 * called during it: how drivers batch outgoing messages per event-loop turn.
 */
export class TurnBatcher {
  private queued = false;
  /** Made once: a closure made per request was compiled again and again (see worker/batching.ts Making). */
  private readonly run = (): void => {
    this.queued = false;
    this.flush();
  };

  constructor(private readonly flush: () => void) {}

  request(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(this.run);
  }
}
