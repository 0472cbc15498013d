import t from 'tap';
import { StoryLog } from '../../src/scheduler/story-log.ts';
import { spec } from '../helpers/spec.ts';
import { Harness } from '../helpers/scheduler-harness.ts';

const tos = (entries: { to: string }[]): string[] => entries.map((e) => e.to);

t.test('a live task and a forgotten one read back under their ids, with their events', async (t) => {
  const log = new StoryLog(100);
  log.add(1, 'forgotten', 'released', 's1', 10);
  log.add(2, 'forgotten', 'released', 's1', 10);
  log.add(1, 'released', 'waiting', 's2', 11);
  log.add(1, 'waiting', 'forgotten', 's3', 12);
  log.forgot(1, 'c/a');
  t.same(log.story('c/a'), [
    { id: 'c/a', from: 'forgotten', to: 'released', stimulusId: 's1', nowMs: 10 },
    { id: 'c/a', from: 'released', to: 'waiting', stimulusId: 's2', nowMs: 11 },
    { id: 'c/a', from: 'waiting', to: 'forgotten', stimulusId: 's3', nowMs: 12 },
  ]);
  t.same(log.story('c/b'), [], 'a live record is found only through its seq');
  t.same(log.story('c/b', 2), [{ id: 'c/b', from: 'forgotten', to: 'released', stimulusId: 's1', nowMs: 10 }]);
  t.same(log.story('c/x'), []);
});

t.test('a full ring drops the oldest entries, never misattributes one', async (t) => {
  const log = new StoryLog(4);
  for (let seq = 1; seq <= 6; seq++) {
    log.add(seq, 'forgotten', 'released', `s${seq}`, seq);
    log.add(seq, 'released', 'forgotten', `s${seq}`, seq);
    log.forgot(seq, `c/${seq}`);
  }
  t.same(log.story('c/1'), [], 'old enough to be gone');
  t.same(log.story('c/4'), [], 'its transitions were overwritten before its name');
  t.same(tos(log.story('c/5')), ['released', 'forgotten']);
  t.same(log.story('c/6').map((e) => e.stimulusId), ['s6', 's6']);
});

t.test('size 0 logs nothing', async (t) => {
  const log = new StoryLog(0);
  log.add(1, 'forgotten', 'released', 's', 0);
  log.forgot(1, 'c/a');
  t.same(log.story('c/a', 1), []);
});

t.test('scheduler: a key submitted again after it was forgotten shows both lives', async (t) => {
  const h = new Harness();
  h.join('w1');
  h.submit([spec('a')], ['a']);
  h.finish('c/a');
  h.send({ type: 'keysReleased', clientId: 'c', keys: ['a'] });
  t.equal(h.s.stateOf('c/a'), 'forgotten');
  h.submit([spec('a')], ['a']);
  t.same(tos(h.s.story('c/a')), ['released', 'waiting', 'processing', 'memory', 'released', 'forgotten', 'released', 'waiting', 'processing']);
});

t.test('scheduler: a batch listing dependents first is logged under the final seq numbers', async (t) => {
  const h = new Harness();
  h.join('w1');
  // Out of order: the scheduler renumbers the batch so that b (the dependency) comes first.
  h.submit([spec('a', ['b']), spec('b')], ['a']);
  t.same(tos(h.s.story('c/a')), ['released', 'waiting']);
  t.same(tos(h.s.story('c/b')), ['released', 'waiting', 'processing']);
  h.finish('c/b');
  t.same(tos(h.s.story('c/a')), ['released', 'waiting', 'processing']);
});
