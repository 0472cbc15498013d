/**
 * The safety net for futures dropped without release() (client/future-finalizer.ts): a
 * collected future lets go of its key once, a released one never again, and registration
 * waits (a delay, or a count) without losing a future dropped meanwhile.
 */
import t from 'tap';
import { Future, KeyState, type FutureOwner } from '../../src/client/future.ts';
import { registerWaitingFutures, waitingFutureCount, WAITING_MAX } from '../../src/client/future-finalizer.ts';
import { collectGarbage } from '../helpers/gc.ts';

/** An owner that counts refs per key as the client does, and records what the finalizer let go of. */
function owner(): FutureOwner & { states: Map<string, KeyState>; letGo: string[] } {
  const states = new Map<string, KeyState>();
  const letGo: string[] = [];
  const o = {
    clientId: 'c',
    states,
    letGo,
    resultOf: () => Promise.resolve(undefined),
    cancelKeys: () => Promise.resolve(),
    prepareWait: () => undefined,
    retain: (state: KeyState) => void (state.refs += 1),
    releaseRef: (state: KeyState) => {
      state.refs -= 1;
      if (state.refs === 0) states.delete(state.key);
    },
    releaseKeyRef: (key: string) => {
      letGo.push(key);
      const state = states.get(key);
      if (state !== undefined) o.releaseRef(state);
    },
  };
  return o;
}

function stateOf(o: ReturnType<typeof owner>, key: string): KeyState {
  const state = o.states.get(key) ?? new KeyState(key);
  o.states.set(key, state);
  return state;
}

/** Collects garbage until `done()`, a few times at most (a finalizer may come a collection later). */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 10 && !done(); i++) await collectGarbage();
}

t.test('a dropped future lets go of its key once collected; its key stays while another future holds it', async (t) => {
  const o = owner();
  const kept = (() => {
    const a = new Future(o, stateOf(o, 'k'));
    const b = new Future(o, stateOf(o, 'k'));
    t.equal(a.state.refs, 2);
    return b;
  })();
  await collectUntil(() => o.letGo.length > 0);
  t.same(o.letGo, ['k'], 'the dropped future let go of its key');
  t.equal(o.states.get('k')?.refs, 1, 'the key stays, held by the other future');
  kept.release();
  t.notOk(o.states.has('k'), 'released by the last future');
});

t.test('a future released before it was collected does not let go of its key again', async (t) => {
  const o = owner();
  (() => new Future(o, stateOf(o, 'r')).release())();
  // Made after the release, under the same key: the collected future must not touch it.
  const again = new Future(o, stateOf(o, 'r'));
  // A third future, dropped: when its key is let go of, the released one had its chance too.
  (() => new Future(o, stateOf(o, 'witness')))();
  await collectUntil(() => o.letGo.includes('witness'));
  t.same(o.letGo, ['witness']);
  t.equal(again.state.refs, 1, 'the new future still holds its key');
});

t.test('registration waits for a delay, and a future dropped meanwhile is still let go of', async (t) => {
  const o = owner();
  registerWaitingFutures();
  (() => new Future(o, stateOf(o, 'late')))();
  t.equal(waitingFutureCount(), 1, 'the new future waits for its registration');
  // Polls the timer's effect, with a deadline: registration is due after REGISTER_DELAY_MS.
  const deadline = Date.now() + 30_000;
  while (waitingFutureCount() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(waitingFutureCount(), 0, 'registered by the timer');
  await collectUntil(() => o.letGo.length > 0);
  t.same(o.letGo, ['late']);
});

t.test('a big submission registers its futures at once, past WAITING_MAX of them', async (t) => {
  const o = owner();
  registerWaitingFutures();
  const futures: Future<unknown>[] = [];
  for (let i = 0; i < WAITING_MAX - 1; i++) futures.push(new Future(o, stateOf(o, `b${i}`)));
  t.equal(waitingFutureCount(), WAITING_MAX - 1);
  futures.push(new Future(o, stateOf(o, 'last')));
  t.equal(waitingFutureCount(), 0, 'all registered');
  for (const f of futures) f.release();
  t.equal(o.states.size, 0);
});
