/**
 * Calls given what they cannot take say so (INVALID_ARGUMENT, INVALID_OPTION,
 * FOREIGN_FUTURE) instead of hanging, ignoring it, or acting on something else.
 */
import t from 'tap';
import { asCompleted, Client, type ConnectOptions, type Future, type LocalOptions } from '../../src/index.ts';
import { add, concat, echo, gate, range } from '../fixtures/e2e-tasks.ts';
import { localClient, openGate, rejection, tempDir } from '../helpers/e2e.ts';

t.test('gather and cancel take arrays of futures', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const f = client.submit(add, 1, 2);
  const notArray = await rejection(client.gather(f as unknown as Future<number>[], { timeoutMs: 10 }));
  t.equal(notArray.code, 'INVALID_ARGUMENT', 'gather(future), with a time limit too, neither hangs nor throws later');
  t.match(notArray.message, /gather\(futures\): futures must be an array of futures \(got one future/);
  const element = await rejection(client.gather([f, Promise.resolve(3)] as unknown as Future<number>[]));
  t.match(element.message, /gather\(futures\): element 1 is not a future \(got object\)/);
  t.equal((await rejection(client.cancel([f, 'x'] as unknown as Future<number>[]))).code, 'INVALID_ARGUMENT');
  t.equal(await f.result(), 3, 'nothing was cancelled');
});

t.test('cancel takes one future too, and only this client\'s', async (t) => {
  const dir = tempDir(t);
  const a = await localClient(t, { threads: 1 });
  const b = await localClient(t, { threads: 1 });
  const ofA = a.submit(gate, dir, 'a');
  const ofB = b.submit(gate, dir, 'b');
  t.equal(ofA.key, ofB.key, 'the two clients named their tasks alike');
  const foreign = await rejection(b.cancel([ofA]));
  t.equal(foreign.code, 'FOREIGN_FUTURE');
  t.match(foreign.message, new RegExp(`future ${ofA.key} belongs to client`));
  t.equal(ofB.status, 'pending', 'b\'s own task of that name goes on');
  await a.cancel(ofA);
  t.equal((await rejection(ofA.result())).code, 'CANCELLED', 'a single future is cancelled');
  openGate(dir);
  t.equal(await ofB.result(), 'b');
});

t.test('wait options are an object with timeoutMs, nothing else', async (t) => {
  const client = await localClient(t, { threads: 1 });
  const f = client.submit(add, 1, 2);
  for (const options of [5000, 'x', null, [1]]) {
    const error = await rejection(f.result(options as unknown as { timeoutMs: number }));
    t.equal(error.code, 'INVALID_OPTION', `options ${JSON.stringify(options)}`);
    t.match(error.message, /wait options must be an object such as \{ timeoutMs: 5000 \}/);
  }
  const tooLong = await rejection(f.result({ timeoutMs: 2 ** 31 }));
  t.match(tooLong.message, /timeoutMs must be a number of milliseconds from 0 to 2147483647/, 'longer than a timer can wait');
  const misspelt = await rejection(client.gather([f], { timeout: 10 } as unknown as { timeoutMs: number }));
  t.match(misspelt.message, /unknown wait option timeout \(the one there is: timeoutMs\)/);
  t.equal(await f.result({}), 3);
});

t.test('submitWithOptions takes an object of options, not the first argument', async (t) => {
  const client = await localClient(t, { threads: 1 });
  for (const options of [1, null, 'x', [1]]) {
    let thrown: unknown;
    try {
      client.submitWithOptions(add, options as unknown as object, 2, 3);
    } catch (error) {
      thrown = error;
    }
    t.equal((thrown as { code?: string } | undefined)?.code, 'INVALID_OPTION', `options ${JSON.stringify(options)}`);
    t.match(String((thrown as Error | undefined)?.message), /task options must be an object such as \{ priority: 1 \}/);
  }
  t.equal(await client.submitWithOptions(add, {}, 2, 3).result(), 5);
});

t.test('Client.local checks its scheduler settings and resources; sizes are taken as tasks take them', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{ scheduler: { workerSaturation: 0 } }, /options\.scheduler\.workerSaturation must be a number above 0 \(got 0\)/],
    [{ scheduler: { workerSaturaton: 2 } }, /options\.scheduler\.workerSaturaton is not a scheduler setting \(they are: workerSaturation, /],
    [{ scheduler: { stealing: 'no' } }, /options\.scheduler\.stealing must be true or false/],
    [{ scheduler: { maxTasksPerThread: 1.5 } }, /options\.scheduler\.maxTasksPerThread must be an integer of at least 1/],
    [{ scheduler: 2 }, /options\.scheduler must be an object of scheduler settings/],
    [{ resources: { gpu: -1 } }, /options\.resources\.gpu/],
    [{ resources: { memory: 'lots' } }, /options\.resources\.memory/],
  ];
  for (const [options, says] of bad) {
    const error = await rejection(Client.local(options as LocalOptions));
    t.equal(error.code, 'INVALID_OPTION', JSON.stringify(options));
    t.match(error.message, says);
  }
  const client = await localClient(t, { threads: 1, resources: { memory: '8GiB', gpu: 1 }, scheduler: { workerSaturation: 1.5, earlyPerWorker: 0 } });
  t.same((await client.status()).workers[0]!.resources, { memory: 8 * 1024 ** 3, gpu: 1 }, 'a size is its bytes');
  t.equal(await client.submitWithOptions(add, { resources: { memory: '4GiB' } }, 1, 2).result(), 3, 'a task needing 4 GiB runs there');
});

t.test('Client.connect names an option it does not know, and a bad submit timeout, before connecting', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{ nats: 'nats://127.0.0.1:1', servers: 'nats://127.0.0.1:1' }, /options\.servers is not a Client\.connect option .*NATS settings go in options\.nats/],
    [{ nats: 'nats://127.0.0.1:1', submitTimeoutMs: 0 }, /options\.submitTimeoutMs must be a number of milliseconds, 1 or more \(got 0\)/],
    [{ nats: 'nats://127.0.0.1:1', submitTimeoutMs: '30000' }, /options\.submitTimeoutMs must be/],
  ];
  for (const [options, says] of bad) {
    const error = await rejection(Client.connect(options as ConnectOptions));
    t.equal(error.code, 'INVALID_OPTION', JSON.stringify(options));
    t.match(error.message, says);
  }
});

t.test('client.map passes the other arguments to every item, as task.map does in a flow', async (t) => {
  const client = await localClient(t, { threads: 1 });
  t.same(await client.gather(client.map(add, [1, 2, 3], 10)), [11, 12, 13], 'over a list');
  const ten = client.submit(add, 4, 6);
  t.same(await client.gather(client.map(concat, ['a', 'b'], 'z')), ['az', 'bz']);
  t.same(await client.map(add, client.submit(range, 3), ten).result(), [10, 11, 12], 'over a future of a list, with a future among them');
  t.same(await client.gather(client.map(echo, [1, 2])), [[1], [2]], 'none: the item alone');
});

t.test('a released future cannot be an input, nor waited on; asCompleted gives it back at once', async (t) => {
  const dir = tempDir(t);
  const client = await localClient(t, { threads: 1 });
  const pending = client.submit(gate, dir, 'p');
  pending.release();
  let thrown: unknown;
  try {
    client.submit(add, pending as unknown as Future<number>, 1);
  } catch (error) {
    thrown = error;
  }
  t.equal((thrown as { code?: string } | undefined)?.code, 'RESULT_UNAVAILABLE', 'as an input');
  t.match(String((thrown as Error | undefined)?.message), /was released: it cannot be an input of a task/);
  t.equal((await rejection(pending.wait())).code, 'RESULT_UNAVAILABLE', 'wait() says so instead of waiting forever');
  const done = client.submit(add, 1, 2);
  const seen: string[] = [];
  for await (const f of asCompleted<unknown>([pending, done], { timeoutMs: 60_000 })) seen.push(f.key);
  t.same(seen.sort(), [done.key, pending.key].sort(), 'asCompleted yields the released one too');
  t.equal((await rejection(pending.result())).code, 'RESULT_UNAVAILABLE', 'whose result() says why');
  openGate(dir);
});
