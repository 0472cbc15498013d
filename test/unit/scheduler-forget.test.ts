/**
 * A forgotten task record lets go of what it held (core.ts dropTask): records are
 * pretenured, and the young generation's collections treat a dead old record's pointers
 * as live until a full collection, so a record that kept its spec kept it alive meanwhile.
 */
import t from 'tap';
import { DROPPED_SPEC, SchedulerCore } from '../../src/scheduler/core.ts';
import { createTask, NO_TASKS } from '../../src/scheduler/state.ts';
import { addDependent } from '../../src/scheduler/refs.ts';
import { DEFAULT_SCHEDULER_CONFIG } from '../../src/scheduler/types.ts';
import { spec } from '../helpers/spec.ts';
import { collectGarbage } from '../helpers/gc.ts';

t.test('a forgotten record keeps neither its spec nor its dependents alive', async (t) => {
  const core = new SchedulerCore(DEFAULT_SCHEDULER_CONFIG);
  const collected = new Set<string>();
  const registry = new FinalizationRegistry<string>((what) => collected.add(what));
  // The record outlives its forgetting here, as a dead record in the old generation does
  // until a full collection.
  const record = (() => {
    const s = spec('a');
    registry.register(s, 'spec');
    const ts = createTask('c/a', 'c', s, 1);
    core.addTask(ts);
    core.logCreated(ts);
    const dependent = createTask('c/b', 'c', spec('b', ['a']), 2);
    registry.register(dependent, 'dependent');
    addDependent(ts, dependent);
    core.dropTask(ts);
    return ts;
  })();
  for (let i = 0; i < 10 && collected.size < 2; i++) await collectGarbage();
  t.same([...collected].sort(), ['dependent', 'spec'], 'collected while the record lives on');
  t.equal(record.spec, DROPPED_SPEC);
  t.equal(record.dependents, NO_TASKS);
  t.equal(record.state, 'forgotten');
  t.equal(core.tasks.size, 0);
});
