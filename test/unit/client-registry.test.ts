// The coordinator's record of clients: introductions, silence past a timeout, dropped ids
// remembered (a bounded number of them), and time the coordinator stood still credited back.
import t from 'tap';
import { ClientRegistry } from '../../src/coordinator/client-registry.ts';

t.test('introductions, silence, drops and credit', async (t) => {
  const clients = new ClientRegistry();
  t.equal(clients.seen('a', 0, false), 'unknown', 'a client never introduced');
  t.equal(clients.size, 0, 'is not recorded');
  t.equal(clients.seen('a', 0, true), 'known');
  t.equal(clients.seen('b', 50, true), 'known');
  t.equal(clients.seen('b', 50, false), 'known', 'once introduced, any message counts');
  t.equal(clients.size, 2);
  t.same(clients.expired(120, 100), ['a'], 'only the one silent past the timeout');
  clients.credit(30);
  t.same(clients.expired(120, 100), [], 'time the coordinator stood still does not count');
  clients.drop('a');
  t.equal(clients.size, 1);
  t.ok(clients.isDropped('a'));
  t.equal(clients.seen('a', 200, false), 'dropped', 'a dropped client stays dropped when it speaks again');
  t.equal(clients.seen('a', 200, true), 'dropped', 'even introducing itself');
  t.same(clients.expired(1000, 100), ['b'], 'and is not counted again');
  clients.remove('b');
  t.equal(clients.size, 0);
  t.notOk(clients.isDropped('b'), 'one that said bye is not "dropped"');
  t.equal(clients.seen('b', 1000, true), 'known', 'and may come back');
});

t.test('dropped ids are remembered up to a bound, oldest forgotten first', async (t) => {
  const clients = new ClientRegistry();
  for (let i = 0; i < 4097; i++) clients.drop(`c${i}`);
  t.notOk(clients.isDropped('c0'));
  t.ok(clients.isDropped('c1'));
  t.ok(clients.isDropped('c4096'));
});
