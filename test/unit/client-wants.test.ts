/**
 * The keys a Submitter asks the scheduler to keep (client/wants.ts): in the order asked,
 * each once, each taken once its key is sent (or being sent).
 */
import t from 'tap';
import { KeyState } from '../../src/client/future.ts';
import { Wants } from '../../src/client/wants.ts';

const submitted = (key: string): KeyState => Object.assign(new KeyState(key), { submitted: true });

t.test('wants are taken in order once their keys are sent; the others wait for theirs', async (t) => {
  const wants = new Wants();
  const [a, b, c] = [submitted('a'), new KeyState('b'), submitted('c')];
  for (const state of [a, b, c]) t.ok(wants.add(state));
  t.ok(a.wanted && b.wanted && c.wanted);
  t.same(wants.take(), ['a', 'c']);
  t.same(wants.take(), [], 'b waits');
  b.submitted = true;
  t.same(wants.take(), ['b']);
  t.same(wants.take(), []);
});

t.test('a key is wanted once, however often it is asked for', async (t) => {
  const wants = new Wants();
  const a = new KeyState('a');
  t.ok(wants.add(a));
  t.notOk(wants.add(a), 'waiting for its key');
  a.submitted = true;
  t.same(wants.take(), ['a']);
  t.notOk(wants.add(a), 'sent wanted already');
  t.same(wants.take(), []);
});

t.test('a located key is wanted again, once per batch', async (t) => {
  const wants = new Wants();
  const a = submitted('a');
  wants.add(a);
  t.same(wants.take(), ['a']);
  wants.locate(a);
  wants.locate(a);
  t.same(wants.take(), ['a'], 'two locates, one want');
  wants.locate(a);
  t.same(wants.take(), ['a'], 'located again in a later batch');
});

t.test('a key released since it was queued is still taken: its state says it is sent', async (t) => {
  const wants = new Wants();
  const keys = new Map([['a', new KeyState('a')]]);
  const a = keys.get('a')!;
  wants.add(a);
  keys.delete('a');
  a.submitted = true;
  t.same(wants.take(), ['a']);
});

t.test('onlyKey: whether nothing but one key is wanted', async (t) => {
  const wants = new Wants();
  t.ok(wants.onlyKey('a'), 'nothing wanted');
  wants.add(new KeyState('a'));
  t.ok(wants.onlyKey('a'));
  wants.add(new KeyState('b'));
  t.notOk(wants.onlyKey('a'));
});
