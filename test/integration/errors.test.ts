/** Errors end to end: codes, propagation, bad modules and exports, bad graphs, bad bytes. */
import t from 'tap';
import { TASK_BRAND } from '../../src/client/task-def.ts';
import { fromErrorInfo } from '../../src/errors.ts';
import type { TaskSpec } from '../../src/graph/spec.ts';
import { Client, task } from '../../src/index.ts';
import type { TaskDef } from '../../src/index.ts';
import { encodeArgs } from '../../src/serde/args.ts';
import { decodeMessage, encodeMessage } from '../../src/transport/codec.ts';
import { subjects } from '../../src/transport/messages.ts';
import { boom, echo, hidden, inc, returnsFunction } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, rejection, thrown } from '../helpers/e2e.ts';
import { spec as baseSpec } from '../helpers/spec.ts';

const TASKS = new URL('../fixtures/e2e-tasks.ts', import.meta.url).href;
const PLAIN = new URL('../fixtures/e2e-plain.ts', import.meta.url).href;
const BROKEN = new URL('../fixtures/broken-module.ts', import.meta.url).href;

/**
 * A task definition addressed by an explicit (module, export), as a build tool could
 * emit it: the client sends it as is and the worker is the one that finds out.
 */
function addressed(moduleUrl: string, exportName: string): TaskDef<[number], number> {
  return { [TASK_BRAND]: true, moduleUrl, exportName, fn: (x: number) => x, options: {} } as unknown as TaskDef<[number], number>;
}

function spec(key: string, deps: string[]): TaskSpec {
  return baseSpec(key, deps, { module: TASKS, exportName: 'inc', args: encodeArgs([1], () => undefined).bytes, retryBackoff: 1 });
}

t.test('errors', async (t) => {
  const client = await localClient(t, { threads: 2 });

  t.test('a user error reaches every dependent with the origin code, key and stack', async (t) => {
    const origin = client.submit(boom, 'bad input');
    const child = client.submit(inc, origin);
    const grandchild = client.submit(inc, child);
    const [e0, e1, e2] = await Promise.all([origin, child, grandchild].map((f) => rejection(f.result())));
    for (const [f, e] of [[origin, e0], [child, e1], [grandchild, e2]] as const) {
      t.equal(e?.code, 'TASK_ERROR', `${f.key}: code`);
      t.equal(e?.taskKey, origin.key, `${f.key}: key of the origin`);
      t.equal(e?.originalName, 'TypeError', `${f.key}: original class`);
      t.match(e?.remoteStack ?? '', 'e2e-tasks', `${f.key}: remote stack points into the task module`);
      t.equal(f.status, 'error');
    }
  });

  t.test('module and export problems', async (t) => {
    const nowhere = task('file:///nonexistent/floe/tasks.ts', (x: number) => x);
    t.equal((await rejection(client.submit(nowhere, 1).result())).code, 'UNKNOWN_MODULE', 'client side: bogus URL');
    const broken = task(BROKEN, (x: number) => x);
    t.equal((await rejection(client.submit(broken, 1).result())).code, 'UNKNOWN_MODULE', 'client side: throws on load');
    t.equal((await rejection(client.submit(hidden.def, 1).result())).code, 'UNKNOWN_EXPORT', 'client side: not exported');
    // Addressed explicitly: the worker finds out.
    const cases = [
      [addressed('file:///nonexistent/floe/tasks.ts', 'x'), 'UNKNOWN_MODULE'],
      [addressed(TASKS, 'noSuchExport'), 'UNKNOWN_EXPORT'],
      [addressed(PLAIN, 'plain'), 'NOT_A_TASK'],
    ] as const;
    for (const [def, code] of cases) {
      const f = client.submit(def, 1);
      const e = await rejection(f.result());
      t.equal(e.code, code, `worker side: ${code}`);
      t.equal(e.taskKey, f.key);
      if (code === 'UNKNOWN_MODULE') t.match(e.message, /nonexistent\/floe\/tasks\.ts on host .*at the same path/, 'worker side: names the URL and the host, and where modules must be');
    }
    t.equal(await client.submit(inc, 1).result(), 2, 'the cluster still works');
  });

  t.test('a task that cannot be resolved fails alone, with its dependents', async (t) => {
    // All submitted in one turn, so they travel in one batch.
    const bad = client.submit(hidden.def, 1);
    const badChild = client.submit(inc, bad);
    const good = client.submit(inc, 1);
    t.equal((await rejection(bad.result())).code, 'UNKNOWN_EXPORT');
    t.equal((await rejection(badChild.result())).code, 'UNKNOWN_EXPORT');
    t.equal(await good.result(), 2);
  });

  t.test('an unserializable result', async (t) => {
    const f = client.submit(returnsFunction);
    const e = await rejection(f.result());
    t.equal(e.code, 'UNSERIALIZABLE_RESULT');
    t.equal(e.taskKey, f.key);
    t.equal((await rejection(client.submit(echo, f).result())).code, 'UNSERIALIZABLE_RESULT', 'dependents too');
  });

  t.test('synchronous errors from submit', async (t) => {
    t.equal(thrown(() => client.submit(echo, () => 1)).code, 'UNSERIALIZABLE_ARGUMENT');
    t.equal(thrown(() => client.submit(echo, [1, { deep: Symbol('x') }])).code, 'UNSERIALIZABLE_ARGUMENT');
    t.equal(thrown(() => inc(1)).code, 'INVALID_ARGUMENT', 'a task called outside a flow');
    t.equal(thrown(() => inc.map([1])).code, 'INVALID_ARGUMENT', 'task.map outside a flow');
    t.equal(thrown(() => client.submit((() => 1) as never)).code, 'INVALID_ARGUMENT', 'not a task');
    t.equal(thrown(() => client.map(inc, 5 as never)).code, 'INVALID_ARGUMENT', 'map over a non-list');
  });

  t.test('a future from another client', async (t) => {
    const other = await Client.local({ threads: 1, executor: 'inline' });
    t.teardown(() => other.close());
    const foreign = other.submit(inc, 1);
    t.equal(thrown(() => client.submit(inc, foreign)).code, 'FOREIGN_FUTURE');
    t.equal(thrown(() => client.submit(echo, [foreign])).code, 'FOREIGN_FUTURE', 'nested in an array');
    t.equal(thrown(() => client.map(inc, foreign as never)).code, 'FOREIGN_FUTURE', 'map over it');
    t.equal(await foreign.result(), 2, 'still fine on its own client');
  });

  t.test('bad graphs sent over the wire are rejected with a clear error', async (t) => {
    const { bus, cluster } = clusterOf(client);
    const raw = bus.connect();
    t.teardown(() => raw.close());
    const submit = async (tasks: TaskSpec[], wants: string[]): Promise<string | undefined> => {
      const msg = encodeMessage({ type: 'submit', clientId: 'raw-client', requestId: '1', tasks, wants });
      const reply = decodeMessage((await raw.request(subjects(cluster).submit, msg, { timeoutMs: 5000 })).data);
      if (reply.type !== 'submitReply') return `unexpected ${reply.type}`;
      return reply.error === undefined ? undefined : fromErrorInfo(reply.error).code;
    };
    t.equal(await submit([spec('a', ['b']), spec('b', ['a'])], ['a']), 'CYCLIC_GRAPH');
    t.equal(await submit([spec('self', ['self'])], ['self']), 'CYCLIC_GRAPH', 'a self-loop');
    t.equal(await submit([spec('c', ['nope'])], ['c']), 'MISSING_DEPENDENCY');
    t.equal(await submit([spec('d', [])], ['nope']), 'MISSING_DEPENDENCY', 'wanting an unknown key');
    t.equal(await submit([spec('e', []), spec('e', [])], ['e']), 'KEY_CONFLICT', 'one key twice in a batch');
    t.equal(clusterOf(client).coordinator.scheduler.stateOf('raw-client/a'), 'forgotten', 'nothing was kept');
    clusterOf(client).coordinator.scheduler.validate();
  });

  t.test('malformed bytes never crash the coordinator', async (t) => {
    const { bus, cluster } = clusterOf(client);
    const s = subjects(cluster);
    const raw = bus.connect();
    t.teardown(() => raw.close());
    const garbage = Uint8Array.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]);
    for (const subject of [s.submit, s.client, s.events]) raw.publish(subject, garbage);
    raw.publish(s.events, new Uint8Array(0));
    const reply = decodeMessage((await raw.request(s.submit, garbage, { timeoutMs: 5000 })).data);
    t.equal(reply.type, 'error');
    if (reply.type === 'error') t.equal(reply.error.code, 'MALFORMED_MESSAGE');
    // A well-formed message of a type the coordinator does not take.
    const wrong = encodeMessage({ type: 'clientUpdates', updates: [] });
    const reply2 = decodeMessage((await raw.request(s.submit, wrong, { timeoutMs: 5000 })).data);
    t.equal(reply2.type, 'error');
    if (reply2.type === 'error') t.equal(reply2.error.code, 'MALFORMED_MESSAGE');
    // A submit that is not a request cannot be answered; it is dropped.
    raw.publish(s.submit, encodeMessage({ type: 'submit', clientId: 'x', requestId: '1', tasks: [spec('z', [])], wants: ['z'] }));
    t.equal(await client.submit(inc, 41).result(), 42, 'the coordinator still works');
    t.equal(clusterOf(client).coordinator.scheduler.stateOf('x/z'), 'forgotten');
  });

  t.test('after close: CLIENT_CLOSED', async (t) => {
    const other = await Client.local({ threads: 1, executor: 'inline' });
    await other.close();
    t.equal(thrown(() => other.submit(inc, 1)).code, 'CLIENT_CLOSED');
    t.equal(thrown(() => other.map(inc, [1])).code, 'CLIENT_CLOSED');
    t.equal((await rejection(other.cancel([]))).code, 'CLIENT_CLOSED');
    await other.close(); // idempotent
  });
});
