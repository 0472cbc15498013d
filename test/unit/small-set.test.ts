// util/small-set.ts: a set kept in an array while small, in a Set past that, answering and iterating as a Set throughout.
import t from 'tap';
import { SmallSet } from '../../src/util/small-set.ts';

void t.test('a SmallSet answers as a Set would, through growing past its list and shrinking again', async (t) => {
  const small = new SmallSet<string>();
  const model = new Set<string>();
  const check = (what: string): void => {
    t.equal(small.size, model.size, `${what}: size`);
    t.same([...small], [...model], `${what}: members, in the order they were added`);
    for (const v of ['a0', 'a5', 'a11', 'zz']) t.equal(small.has(v), model.has(v), `${what}: has ${v}`);
  };
  check('empty');
  for (let i = 0; i < 12; i++) {
    small.add(`a${i}`).add(`a${i}`); // adding twice is one member
    model.add(`a${i}`);
    check(`after adding a${i}`);
  }
  for (const v of ['a3', 'a11', 'nope', 'a0']) {
    t.equal(small.delete(v), model.delete(v), `delete ${v}`);
    check(`after deleting ${v}`);
  }
  small.clear();
  model.clear();
  check('cleared');
  // Deleting from the list keeps the others in order.
  for (const v of ['x', 'y', 'z']) small.add(v);
  t.equal(small.delete('y'), true);
  t.same([...small], ['x', 'z']);
  t.equal(small.delete('y'), false, 'a member deleted twice is gone the second time');
});
