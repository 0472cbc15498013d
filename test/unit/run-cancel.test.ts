import t from 'tap';
import { RunCancel } from '../../src/worker/cancel.ts';

t.test('a run cancel calls each listener once, in order, and none added after it fired', async (t) => {
  const cancel = new RunCancel();
  const calls: string[] = [];
  const a = (): void => void calls.push('a');
  const b = (): void => void calls.push('b');
  const c = (): void => void calls.push('c');
  cancel.addEventListener('abort', a);
  cancel.addEventListener('abort', b);
  cancel.addEventListener('abort', c);
  cancel.removeEventListener('abort', b);
  t.equal(cancel.aborted, false);
  cancel.abort();
  cancel.abort();
  t.equal(cancel.aborted, true);
  t.same(calls, ['a', 'c']);
  cancel.addEventListener('abort', a);
  cancel.abort();
  t.same(calls, ['a', 'c']);
});

t.test('a run cancel keeps the order of listeners added after the first one was removed', async (t) => {
  const cancel = new RunCancel();
  const calls: string[] = [];
  const listener = (name: string) => (): void => void calls.push(name);
  const a = listener('a');
  const b = listener('b');
  cancel.addEventListener('abort', a);
  cancel.addEventListener('abort', b);
  cancel.removeEventListener('abort', a);
  cancel.addEventListener('abort', listener('c'));
  cancel.removeEventListener('abort', b);
  cancel.addEventListener('abort', listener('d'));
  cancel.abort();
  t.same(calls, ['c', 'd']);
});
