/** Actor lifetime, embedded: lent handles (tasks, other actors) and pending calls keep an actor alive. */
import t from 'tap';
import { Counter, Keeper, bump } from '../fixtures/actor-tasks.ts';
import { clusterOf, localClient, rejection, until } from '../helpers/e2e.ts';

/** Whether worker i hosts the actor (white box). */
function hosts(client: Parameters<typeof clusterOf>[0], i: number, actorId: string): boolean {
  return (clusterOf(client).workers[i] as unknown as { actors: { has(id: string): boolean } }).actors.has(actorId);
}

t.test('actor lifetime, embedded', async (t) => {
  const client = await localClient(t, { threads: 2 });

  t.test('a handle lent to a task keeps the actor until the task ends', async (t) => {
    const c = client.actor(Counter, 0);
    const f = client.submit(bump, c, 30);
    c.$release();
    t.equal(await f.result(), 30, 'every call of the task reached the actor after its owner let go');
    await until('the actor is freed once its last holder ended', () => !hosts(client, 0, c.$id));
    const late = await rejection(client.submit(bump, c, 1).result());
    t.equal(late.code, 'ACTOR_LOST', 'a handle used after that finds it gone');
  });

  t.test('an actor given a handle keeps that actor as long as it lives', async (t) => {
    const c = client.actor(Counter, 10);
    const k = client.actor(Keeper);
    t.equal(await k.keep(c).result(), true);
    c.$release();
    t.equal(await k.bumpKept().result(), 11, 'the keeper still reaches it after the owner let go');
    t.equal(await k.bumpKept().result(), 12);
    t.ok(hosts(client, 0, c.$id), 'still on its worker');
    k.$release();
    await until('freeing the keeper frees what it kept', () => !hosts(client, 0, c.$id) && !hosts(client, 0, k.$id));
  });

  t.test('calls made before the release still run', async (t) => {
    const c = client.actor(Counter, 0);
    const calls = Array.from({ length: 20 }, () => c.inc());
    c.$release();
    t.same(await client.gather(calls), Array.from({ length: 20 }, (_, i) => i + 1));
    await until('then the actor is freed', () => !hosts(client, 0, c.$id));
  });
});
