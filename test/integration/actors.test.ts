/** Actors, embedded: call order, concurrent callers, concurrency, errors, handles in tasks and actors, release, loss and restart. */
import t from 'tap';
import type { ActorHandle } from '../../src/index.ts';
import { Broken, Counter, Meeting, Named, Phoenix, Relay, bump, later, tryControls } from '../fixtures/actor-tasks.ts';
import { clusterOf, localClient, rejection, thrown, until } from '../helpers/e2e.ts';

type CounterHandle = ActorHandle<InstanceType<typeof Counter.cls>>;

/** The actor host of a local worker (white box). */
interface Host {
  size: number;
  has(id: string): boolean;
  running(id: string): number;
}
function actorsOn(client: Parameters<typeof clusterOf>[0], i: number): Host {
  return (clusterOf(client).workers[i] as unknown as { actors: Host }).actors;
}

t.test('actors, embedded', async (t) => {
  const client = await localClient(t, { threads: 2 });

  t.test('pipelined calls run one at a time, in call order', async (t) => {
    const c = client.actor(Counter, 0);
    const calls = Array.from({ length: 200 }, () => c.inc());
    t.same(await client.gather(calls), Array.from({ length: 200 }, (_, i) => i + 1));
    t.same(await c.history().result(), Array.from({ length: 200 }, (_, i) => i + 1));
    c.$release();
  });

  t.test('a call waiting for a future argument is not overtaken by later calls', async (t) => {
    const c = client.actor(Counter, 0);
    const first = c.inc(client.submit(later, 50));
    const second = c.inc();
    t.same(await client.gather([first, second]), [50, 51]);
    t.same(await c.history().result(), [50, 51]);
    c.$release();
  });

  t.test('concurrent callers: tasks holding the handle and this client', async (t) => {
    const c: CounterHandle = client.actor(Counter, 1000);
    const tasks = Array.from({ length: 4 }, () => client.submit(bump, c, 25));
    const mine = Array.from({ length: 25 }, () => c.inc());
    await client.gather([...tasks, ...mine]);
    t.equal(await c.get().result(), 1000 + 4 * 25 + 25, 'no increment lost');
    const history = await c.history().result();
    t.same(history, Array.from({ length: 125 }, (_, i) => 1001 + i), 'each call saw the state the previous one left');
    c.$release();
  });

  t.test('concurrency option lets N calls in at once', async (t) => {
    const m = client.actor(Meeting);
    const seen = await client.gather([m.rendezvous(3), m.rendezvous(3), m.rendezvous(3)]);
    t.same([...seen].sort(), [1, 2, 3], 'three calls were inside together (with concurrency 1 this would never finish)');
    m.$release();
  });

  t.test('a method that throws fails its call only', async (t) => {
    const c = client.actor(Counter, 5);
    const err = await rejection(c.fail().result());
    t.equal(err.code, 'TASK_ERROR');
    t.equal(err.originalName, 'RangeError');
    t.equal(await c.inc().result(), 6, 'the next call runs on the same state');
    // Untyped on purpose: a method the class does not have.
    const untyped = c as unknown as Record<string, () => { result(): Promise<unknown> }>;
    t.equal((await rejection(untyped.nope!().result())).code, 'NOT_AN_ACTOR', 'unknown method');
    c.$release();
  });

  t.test('a constructor that throws fails $ready and every call', async (t) => {
    const b = client.actor(Broken);
    const err = await rejection(b.$ready());
    t.equal(err.code, 'TASK_ERROR');
    t.equal(err.originalName, 'TypeError');
    t.equal((await rejection(b.ping().result())).code, 'TASK_ERROR');
  });

  t.test('bad definitions are clear errors', async (t) => {
    t.equal(thrown(() => client.actor({} as never)).code, 'INVALID_ARGUMENT');
    const c = client.actor(Counter, 0);
    const notListener = thrown(() => c.$onRestart(5 as never));
    t.equal(notListener.code, 'INVALID_ARGUMENT', '$onRestart of something not a function');
    t.match(notListener.message, /\$onRestart\(listener\): listener must be a function \(got number\)/);
    c.$release();
  });

  t.test('a handle inside a task refuses the owner\'s controls, and calls methods', async (t) => {
    const c = client.actor(Counter, 10);
    const said = await client.submit(tryControls, c).result();
    t.equal(said.length, 5);
    for (const [i, control] of ['$ready', '$release', '$restarts', '$onRestart'].entries()) {
      t.match(said[i], new RegExp(`^INVALID_ARGUMENT: \\${control} is for the client that created actor ${c.$id}`), control);
    }
    t.equal(said[4], '11', 'a method call still works');
    c.$release();
  });

  t.test('methods named like Object.prototype\'s reach the actor', async (t) => {
    const named = client.actor(Named);
    t.equal(await named.toString().result(), 'named');
    t.equal(await named.valueOf().result(), 7);
    named.$release();
  });

  t.test('a handle passed to another actor works there', async (t) => {
    const c = client.actor(Counter, 0);
    const r = client.actor(Relay);
    t.equal(await r.forward(c, 5).result(), 5);
    t.equal(await c.get().result(), 5);
    c.$release();
    r.$release();
  });

  t.test('releasing the handle frees the instance on the worker', async (t) => {
    const c = client.actor(Counter, 0);
    await c.$ready();
    t.ok(actorsOn(client, 0).has(c.$id), 'the instance lives on the worker');
    c.$release();
    await until('the actor is freed', () => !actorsOn(client, 0).has(c.$id));
    t.equal(thrown(() => c.inc()).code, 'ACTOR_LOST');
  });
});

t.test('losing the actor worker, embedded: ACTOR_LOST, or a restart with fresh state', async (t) => {
  const client = await localClient(t, { threads: 1, workers: 2 });
  const workers = clusterOf(client).workers;

  const c = client.actor(Counter, 0);
  t.equal(await c.inc().result(), 1);
  const p = client.actor(Phoenix);
  t.equal(await p.inc().result(), 1);
  t.equal(await p.inc().result(), 2);
  // Creations hold no thread slot, so both went to the first worker.
  t.ok(actorsOn(client, 0).has(c.$id) && actorsOn(client, 0).has(p.$id), 'both actors live on worker 0');
  // A listener that throws is a warning; the ones after it are still told.
  const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
  p.$onRestart(() => {
    throw new Error('listener bug');
  });
  const restarted = new Promise<number>((resolve) => p.$onRestart(resolve));
  const hanging = p.hang();
  await until('the hanging call runs', () => actorsOn(client, 0).running(p.$id) === 1);
  // A worker that leaves is a lost worker to the scheduler.
  await workers[0]!.close();
  t.equal((await rejection(hanging.result())).code, 'ACTOR_LOST', 'the call in flight fails');
  t.equal((await rejection(c.inc().result())).code, 'ACTOR_LOST', 'no restarts: later calls fail');
  t.equal((await rejection(c.$ready())).code, 'ACTOR_LOST', 'and so does $ready');
  t.equal(await restarted, 1, 'the owner is told of the restart');
  const warning = await warned;
  t.equal((warning as Error & { code?: string }).code, 'FLOE_LISTENER_ERROR');
  t.match(warning.message, new RegExp(`a \\$onRestart listener of actor ${p.$id} threw: listener bug`));
  t.equal(p.$restarts, 1);
  t.equal(await p.inc().result(), 1, 'fresh state on the other worker');
  t.ok(actorsOn(client, 1).has(p.$id));
});
