/**
 * Actor handles and the garbage collector, embedded. A handle nothing references is
 * collected and its actor released; but code waiting for a restart (`$onRestart`) is
 * reachable only through the listener the handle holds, so a handle with a listener is kept
 * until it is released or its client closes. (Before, such a handle was collected while
 * its user waited, its actor released mid-restart, and the waiting code never resumed: the
 * kill -9 test in test/cluster/actors.test.ts hung in CI that way.)
 */
import t from 'tap';
import type { Client } from '../../src/index.ts';
import { Counter, Phoenix } from '../fixtures/actor-tasks.ts';
import { clusterOf, localClient, until } from '../helpers/e2e.ts';
import { collectGarbage } from '../helpers/gc.ts';

/** Whether a worker of the embedded cluster hosts the actor (white box). */
function hosted(client: Client, actorId: string): boolean {
  return clusterOf(client).workers.some((w) => (w as unknown as { actors: { has(id: string): boolean } }).actors.has(actorId));
}

/** Tells whether an object was collected; holds nothing of it. */
function watch(): { register(target: object): void; collected(): boolean } {
  let done = false;
  const registry = new FinalizationRegistry(() => (done = true));
  return { register: (target) => registry.register(target, 0), collected: () => done };
}

/**
 * Collects garbage until `seen` says its object was collected, a few times at most: its
 * finalizer may run after the one collectGarbage waits for, and what let go of the object
 * may still have had a turn to take.
 */
async function collectedSoon(seen: { collected(): boolean }): Promise<boolean> {
  for (let i = 0; i < 10 && !seen.collected(); i++) await collectGarbage();
  return seen.collected();
}

t.test('a handle nothing references is collected and its actor released', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const seen = watch();
  let id = '';
  await (async () => {
    const h = client.actor(Counter, 0);
    id = h.$id;
    t.equal(await h.inc().result(), 1);
    seen.register(h);
  })();
  t.ok(await collectedSoon(seen), 'collected');
  await until('its actor is released', () => !hosted(client, id));
});

t.test('a handle whose user waits on $onRestart is kept, and its actor with it', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const seen = watch();
  let id = '';
  let stage = '';
  // The user's code: nothing but the listener leads back to it while it waits.
  void (async () => {
    const h = client.actor(Phoenix);
    id = h.$id;
    await h.inc().result();
    seen.register(h);
    const restarted = new Promise<number>((resolve) => h.$onRestart(resolve));
    stage = 'waiting';
    await restarted;
    stage = 'restarted';
  })();
  await until('the code waits for a restart', () => stage === 'waiting');
  t.notOk(await collectedSoon(seen), 'the handle was not collected');
  t.ok(hosted(client, id), 'its actor lives');

  await client.close();
  t.ok(await collectedSoon(seen), 'once its client closed, nothing keeps it');
});

t.test('a handle with a listener is let go once released', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const seen = watch();
  let id = '';
  await (async () => {
    const h = client.actor(Phoenix);
    id = h.$id;
    await h.inc().result();
    h.$onRestart(() => undefined);
    seen.register(h);
    h.$release();
  })();
  t.ok(await collectedSoon(seen), 'collected');
  await until('its actor is released', () => !hosted(client, id));
});
