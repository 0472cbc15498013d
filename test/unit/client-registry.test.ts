// The coordinator's record of clients: introductions, silence past a timeout, dropped ids
// remembered (a bounded number of them), time the coordinator stood still credited back, and
// clients whose work was with an earlier coordinator (they name another incarnation).
import t from 'tap';
import { ClientRegistry } from '../../src/coordinator/client-registry.ts';
import { probedClients } from '../../src/coordinator/probes.ts';

t.test('introductions, silence, drops and credit', async (t) => {
  const clients = new ClientRegistry('me');
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
  const clients = new ClientRegistry('me');
  for (let i = 0; i < 4097; i++) clients.drop(`c${i}`);
  t.notOk(clients.isDropped('c0'));
  t.ok(clients.isDropped('c1'));
  t.ok(clients.isDropped('c4096'));
});

t.test('a client that names another incarnation had its work with an earlier coordinator: never taken for a new one', async (t) => {
  const clients = new ClientRegistry('me');
  t.equal(clients.seen('old', 0, true, 'before'), 'unknown', 'its submission does not introduce it');
  t.equal(clients.seen('old', 0, false, 'before'), 'unknown', 'nor does anything else it sends');
  t.equal(clients.size, 0, 'and it is not recorded');

  t.equal(clients.seen('new', 0, true), 'known', 'a first contact (naming none) introduces its client');
  t.equal(clients.seen('new', 0, true, ''), 'known', 'an empty name is none');
  t.equal(clients.seen('new', 10, false, 'me'), 'known', 'then it names this incarnation');
  t.equal(clients.seen('new', 10, true, 'me'), 'known');
  t.same(clients.expired(100, 50), ['new'], 'and counts as a sign of life');

  // Its first submission reached the old coordinator, its second (sent before the answer
  // to the first) reached this one and introduced it: its next message names the old one.
  t.equal(clients.seen('raced', 0, true), 'known');
  t.equal(clients.seen('raced', 5, false, 'before'), 'stale', 'known here, but its earlier work was elsewhere');
  t.equal(clients.seen('raced', 5, true, 'before'), 'stale', 'whatever the message');

  t.equal(clients.seen('gone', 0, true, 'me'), 'unknown', 'one that names this incarnation but is not known was introduced and forgotten');
  t.equal(clients.seen('gone', 0, false, 'me'), 'unknown');
  clients.drop('gone');
  t.equal(clients.seen('gone', 0, true), 'dropped', 'a dropped client stays dropped, naming none');
  t.equal(clients.seen('gone', 0, true, 'me'), 'dropped', 'this incarnation');
  t.equal(clients.seen('gone', 0, true, 'before'), 'dropped', 'or another');
});

t.test('clients are due a probe after 1.5 of the heartbeat interval each said in its hello, or of the default (2 s)', async (t) => {
  const clients = new ClientRegistry('me');
  const due = (nowMs: number): string[] => [...probedClients(clients, (id) => id, () => undefined).silent(nowMs)].sort();
  clients.seen('quick', 0, true);
  clients.seen('slow', 0, true);
  clients.seen('quiet', 0, true);
  clients.heartbeats('quick', 100);
  clients.heartbeats('slow', 10_000);
  clients.heartbeats('stranger', 100);
  t.same(due(149), [], 'nobody past 1.5 intervals yet');
  t.same(due(151), ['quick'], 'the one that heartbeats every 100 ms, after 150 ms');
  t.same(due(3001), ['quick', 'quiet'], 'one that said none, after 1.5 of the default');
  t.same(due(15_001), ['quick', 'quiet', 'slow'], 'the one that said 10 s, after 15 s');
  t.equal(clients.size, 3, 'an interval from a client not introduced records nothing');
  clients.seen('quick', 20_000, false);
  t.same(due(20_100), ['quiet', 'slow'], 'a word resets the silence');
  clients.drop('quick');
  clients.seen('quick2', 20_000, true);
  t.same(due(23_001), ['quick2', 'quiet', 'slow'], 'a dropped client is forgotten with its interval');
  clients.remove('slow');
  clients.seen('slow', 23_001, true);
  t.same(due(26_002), ['quick2', 'quiet', 'slow'], 'one that left and came back without saying its interval has the default');
});
