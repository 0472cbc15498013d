/**
 * The garbage collector for tests of finalizers (futures that let go of their keys when
 * nothing references them): exposed at run time, without a node flag on the test command.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage until an object dropped now has been finalized (finalizers have run). */
export async function collectGarbage(): Promise<void> {
  let finalized = false;
  const registry = new FinalizationRegistry(() => (finalized = true));
  (() => registry.register({}, 0))();
  for (let i = 0; i < 100 && !finalized; i++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!finalized) throw new Error('the garbage collector did not finalize a dropped object');
}
