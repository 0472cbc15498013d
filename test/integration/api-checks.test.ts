/**
 * Calls given what they cannot take say so (INVALID_ARGUMENT, INVALID_OPTION,
 * FOREIGN_FUTURE) instead of hanging, ignoring it, or acting on something else.
 */
import t from 'tap';
import type { Future } from '../../src/index.ts';
import { add, gate } from '../fixtures/e2e-tasks.ts';
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
