import t from 'tap';
import { OrderedTasks } from '../../src/scheduler/ordered-tasks.ts';
import { compareTasks, createTask } from '../../src/scheduler/state.ts';
import type { TaskState } from '../../src/scheduler/state.ts';
import { spec } from '../helpers/spec.ts';

function task(seq: number, priority = 0): TaskState {
  return createTask(`c/t${seq}`, 'c', spec(`t${seq}`, [], { priority }), seq);
}

/** Takes every task out, best first. */
function drain(q: OrderedTasks): number[] {
  const out: number[] = [];
  for (let ts = q.peek(); ts !== undefined; ts = q.peek()) {
    q.remove(ts);
    if (ts.heapIndex !== -1) throw new Error(`${ts.id} removed but still has a position`);
    out.push(ts.seq);
  }
  return out;
}

t.test('tasks come out in scheduling order, whatever order they went in', async (t) => {
  const q = new OrderedTasks();
  const tasks = [task(1), task(2), task(3, 5), task(4), task(0), task(6, -1), task(5)];
  for (const ts of tasks) q.push(ts);
  t.equal(q.size, 7);
  t.ok(tasks.every((ts) => q.has(ts)));
  t.same(
    q.items().map((ts) => ts.seq).sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
  t.same(drain(q), [3, 0, 1, 2, 4, 5, 6]);
  t.equal(q.size, 0);
  t.equal(q.peek(), undefined);
});

t.test('removal from the middle of an in-order run leaves the rest in order', async (t) => {
  const q = new OrderedTasks();
  const tasks = Array.from({ length: 3000 }, (_, i) => task(i + 1));
  for (const ts of tasks) q.push(ts);
  // Holes at the front (cut off past 1024) and in the middle.
  for (let i = 0; i < 2000; i++) q.remove(tasks[i]!);
  q.remove(tasks[2500]!);
  t.notOk(q.has(tasks[2500]!));
  t.notOk(q.has(tasks[10]!));
  t.ok(q.has(tasks[2999]!));
  t.equal(q.size, 999);
  q.push(task(5000));
  q.push(task(1500)); // out of order: goes to the heap part
  const out = drain(q);
  t.equal(out[0], 1500);
  t.equal(out[1], 2001);
  t.equal(out.length, 1001);
  t.notOk(out.includes(2501));
  t.equal(out[out.length - 1], 5000);
});

t.test('random pushes and removals match a sorted list', async (t) => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const q = new OrderedTasks();
  const model: TaskState[] = [];
  let seq = 0;
  for (let step = 0; step < 20_000; step++) {
    const op = rand(10);
    if (op < 5) {
      // Mostly in order, sometimes not (seqs stay unique), with a few priorities.
      const ts = task(rand(4) === 0 ? rand(seq + 1) + (step + 1) / 1e6 : ++seq, rand(5) === 0 ? rand(3) : 0);
      q.push(ts);
      model.push(ts);
    } else if (op < 8 && model.length > 0) {
      model.sort(compareTasks);
      const best = model.shift()!;
      if (q.peek() !== best) t.fail(`step ${step}: best ${q.peek()?.seq}, expected ${best.seq}`);
      q.remove(best);
    } else if (model.length > 0) {
      const [ts] = model.splice(rand(model.length), 1);
      q.remove(ts!);
      if (q.has(ts!)) t.fail(`step ${step}: ${ts!.seq} still queued`);
    }
    if (q.size !== model.length) t.fail(`size ${q.size}, expected ${model.length}`);
  }
  model.sort(compareTasks);
  t.same(drain(q), model.map((ts) => ts.seq));
});
