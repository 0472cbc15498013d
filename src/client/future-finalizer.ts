/**
 * The safety net for futures dropped without release(): once a future is garbage
 * collected, its key is let go of as release() would have (Future and Client.releaseKeyRef).
 *
 * It costs the client more than the rest of a future when every future registers with the
 * finalization registry the moment it is made, and most futures never need it: they are
 * released (a gather, then release()) well before anything collects them. So:
 * - **Registration waits** (REGISTER_DELAY_MS, or until WAITING_MAX futures wait), and a
 *   future released by then is never registered. Its registration cost (a weak cell, and a
 *   cleanup call when it is collected) is saved. A future dropped meanwhile still registers
 *   (what is watched is kept alive until then) and is released at a later collection: the
 *   net only engages later, and collection was never prompt anyway.
 * - **What is watched is a token**, an empty object that only its future holds, not the
 *   future itself. V8's young-generation collections keep every registered object alive
 *   (only a full collection looks at them): a registered future, with its state, result and
 *   the message buffer the result came in, went into the old generation with it. The token
 *   dies with its future and keeps nothing alive.
 * - **The hold names the key, not its KeyState**: a future not released counts in its
 *   state's refs, so the state stays the client's under that key until the finalizer lets
 *   go of it. (The hold is kept alive by the registry until the token is collected.)
 */
import type { FutureOwner } from './future.ts';

/** What the finalizer needs of a future; `released` once release() did its work. */
export interface Hold {
  owner: FutureOwner;
  key: string;
  released: boolean;
}

// No unregister token: registering with one cost several microseconds per future (a
// weak map of tokens), more than the rest of making it. A future released after its
// registration stays registered and does nothing when collected.
const registry = new FinalizationRegistry<Hold>((hold) => {
  if (!hold.released) hold.owner.releaseKeyRef(hold.key);
});

/** How long a new future waits before its registration (unless released by then). */
export const REGISTER_DELAY_MS = 1000;
/** Futures waiting past which they are registered at once (a big submission loop). */
export const WAITING_MAX = 65_536;

// Two lists rather than one of pairs: no object per waiting future.
const waitingTokens: object[] = [];
const waitingHolds: Hold[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;

/** Watches a new future: `token` is an object only the future holds. */
export function watchFuture(token: object, hold: Hold): void {
  waitingTokens.push(token);
  waitingHolds.push(hold);
  if (waitingTokens.length >= WAITING_MAX) registerWaitingFutures();
  // unref: a pending registration never keeps the process alive.
  else timer ??= setTimeout(registerWaitingFutures, REGISTER_DELAY_MS).unref();
}

/** Futures waiting for their registration. */
export function waitingFutureCount(): number {
  return waitingTokens.length;
}

/** Registers the futures waiting that are not released yet (tests call it before collecting garbage). */
export function registerWaitingFutures(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  for (let i = 0; i < waitingTokens.length; i++) {
    const hold = waitingHolds[i]!;
    if (!hold.released) registry.register(waitingTokens[i]!, hold);
  }
  waitingTokens.length = 0;
  waitingHolds.length = 0;
}
