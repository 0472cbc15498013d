// The task-lag scenario's floor: the shapes through nats-server, a hub and two nodes with a
// pool thread each, and no engine; everything it starts is gone when it returns.
import t from 'tap';
import { children } from '../helpers/children.ts';
import { lagFloor } from '../../bench/lag-floor.ts';
import { floorFlows, NO_INPUT } from '../../bench/lag-floor-wire.ts';
import { taskLagScenario, type TaskLagRaw } from '../../bench/scenarios/task-lag.ts';

t.test('a round of each shape asked for comes back whole, with its total lag; nothing is left running', async (t) => {
  const before = children();
  // linear-10x100's flows are cut between pieces: the rest of a flow takes its input from an earlier chunk.
  const lag = await lagFloor(['linear-100x10', 'linear-10x100', 'tree-100x10'], 1);
  t.same(Object.keys(lag).sort(), ['linear-100x10', 'linear-10x100', 'tree-100x10']);
  for (const [shape, totalS] of Object.entries(lag)) t.ok(Number.isFinite(totalS) && totalS > 0, `${shape}: a positive total lag (${totalS} s)`);
  t.same(children(), before, 'nats-server, the hub and the nodes are stopped');
});

t.test('a piece is cut into flows where roots start them, its first part possibly the rest of one', async (t) => {
  t.same(floorFlows([[0, NO_INPUT], [1, 0], [2, NO_INPUT], [3, 2], [4, 3]]), [[[0, NO_INPUT], [1, 0]], [[2, NO_INPUT], [3, 2], [4, 3]]]);
  t.same(floorFlows([[5, 4], [6, 5], [7, NO_INPUT]]), [[[5, 4], [6, 5]], [[7, NO_INPUT]]]);
  t.same(floorFlows([]), []);
});

t.test('the task-lag scenario reports the floor, and floe over it, beside the shapes when it measured one', async (t) => {
  const run = { submitMs: 0, tasks: [{ deps: [], startMs: 2, endMs: 3 }, { deps: [0], startMs: 4, endMs: 5 }] };
  const raw = { 'linear-100x10': run, 'linear-10x100': run, 'tree-100x10': run } as TaskLagRaw;
  const without = taskLagScenario.measure(raw);
  t.equal(without.values['linear-100x10 total lag'], 0.003, 'root 2 ms after submit, its child 1 ms after it');
  t.notOk('linear-100x10 floor total lag' in without.values, 'no floor measured (embedded mode, warm-up): none reported');
  const withFloor = taskLagScenario.measure({ ...raw, floorTotalS: { 'linear-100x10': 0.2, 'tree-100x10': 0.25 } });
  t.equal(withFloor.values['linear-100x10 floor total lag'], 0.2);
  t.equal(withFloor.values['tree-100x10 floor total lag'], 0.25);
  t.notOk('linear-10x100 floor total lag' in withFloor.values, 'only the shapes it measured');
  t.equal(withFloor.values['linear-100x10 total lag / floor'], 0.003 / 0.2, "floe's total lag over the floor's");
  t.notOk('linear-10x100 total lag / floor' in withFloor.values || 'linear-100x10 total lag / floor' in without.values, 'only where a floor was measured');
});
