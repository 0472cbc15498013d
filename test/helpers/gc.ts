/**
 * The garbage collector for tests of finalizers (futures that let go of their keys when
 * nothing references them): exposed at run time, without a node flag on the test command.
 */
import { registerWaitingFutures } from '../../src/client/future-finalizer.ts';
import { collectNow } from '../../src/util/collect.ts';

/**
 * Collects garbage until an object dropped now has been finalized (finalizers have run).
 * Futures made so far are registered with their finalizer first, as they would be a moment
 * later (future-finalizer.ts).
 */
export async function collectGarbage(): Promise<void> {
  registerWaitingFutures();
  let finalized = false;
  const registry = new FinalizationRegistry(() => (finalized = true));
  (() => registry.register({}, 0))();
  for (let i = 0; i < 100 && !finalized; i++) {
    collectNow();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!finalized) throw new Error('the garbage collector did not finalize a dropped object');
}
