import t from 'tap';
import { spec } from '../helpers/spec.ts';
import { Harness } from '../helpers/scheduler-harness.ts';

// Wanted keys at their own task's position are resolved by position (submit.ts isOwnKey);
// any other list of wanted keys must be resolved as before.
t.test('wanted keys in another order, fewer, or of an earlier submission', async (t) => {
  const h = new Harness({ workerSaturation: 4 });
  h.join('w1');
  t.same(h.submit([spec('a'), spec('b'), spec('c')], ['c', 'a']), ['submitReply ok', 'assign w1 c/a', 'assign w1 c/c']);
  t.equal(h.s.stateOf('c/b'), 'forgotten', 'a task nothing wanted needs is dropped');
  t.same(h.submit([spec('d')], ['d', 'a']), ['submitReply ok', 'assign w1 c/d'], 'a key submitted before is wanted again');
  t.same(h.submit([spec('e')], ['a', 'e']), ['submitReply ok', 'assign w1 c/e'], 'the own key at another position');
  t.same(h.submit([spec('f'), spec('g')], ['f', 'x']), ['submitReply MISSING_DEPENDENCY'], 'a key nowhere');
  t.equal(h.s.stateOf('c/f'), 'forgotten', 'a rejected batch creates nothing');
  t.same(h.finish('c/a'), ['notify c a memory']);
  t.doesNotThrow(() => h.s.validate());
});
