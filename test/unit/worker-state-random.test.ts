/**
 * Randomized simulation of the worker's state machine with a seeded PRNG. Around it, a
 * scheduler, a thread pool and the data plane behave as the real ones may:
 * - the scheduler assigns tasks whose inputs are inline, held elsewhere, held here, or
 *   being made here (early assignment), assigns again after a run left (an assignment may
 *   be handled twice in a row), assigns actor calls, steals runs (never early ones nor
 *   actor calls), cancels runs, releases results, and
 *   takes early runs back when an input they wait for leaves without a result (what
 *   scheduler/early.ts does), asks for copies of results held elsewhere, its commands
 *   reaching the worker in order, a turn's worth at a time grouped by kind, as the
 *   coordinator sends them;
 * - the pool runs batches, finishes runs with a success or a failure, never reports an
 *   aborted run, and finds stragglers, giving back the runs queued behind them and runs of
 *   batches that have not started; a running task may secede and rejoin;
 * - clients send lone tasks straight to the worker, whose runs the scheduler adopts or
 *   cancels;
 * - fetches succeed or fail; memory pressure pauses and resumes the worker.
 * The state machine's invariants are checked after every event (WorkerState.validate,
 * which includes that a ready task is queued and that every missing input is coming).
 * At the end everything is let finish: every run the scheduler counts on here must then
 * have been reported, the worker must hold no task, and exactly the results the scheduler
 * counts on here.
 * Reproduce a seed with FLOE_SEED=<n> npx tap test/unit/worker-state-random.test.ts
 * (FLOE_SEEDS=<count> runs more seeds, from FLOE_SEEDS_FROM: a number, default 1, or random; FLOE_TRACE=1 prints every event and command).
 * The simulated world is test/helpers/worker-state-sim.ts.
 */
import t from 'tap';
import { serializer, Sim } from '../helpers/worker-state-sim.ts';
import { seedsToRun } from '../helpers/rng.ts';

/**
 * Lets everything finish: messages, runs (all succeed) and fetches (all succeed). Then the
 * scheduler counts on no run here, and the worker holds no task and exactly the results
 * the scheduler counts on here.
 */
function drain(sim: Sim): void {
  if (sim.paused) {
    sim.paused = false;
    sim.deliver({ type: 'paused', stimulusId: 'p-end', paused: false });
  }
  for (let guard = 0; guard < 100_000; guard++) {
    if (sim.deliverScheduler()) continue;
    const batch = sim.pool[0];
    if (batch !== undefined) {
      const run = batch.runs.shift()!;
      batch.started = 0;
      sim.prunePool();
      sim.deliver({ type: 'executed', stimulusId: `e${sim.step}`, id: run.id, runId: run.runId, outcome: { ok: true, nbytes: 1, serializer }, durationMs: 0.1 });
      continue;
    }
    const id = sim.fetches.values().next().value;
    if (id !== undefined) {
      sim.fetches.delete(id);
      sim.deliver({ type: 'fetched', stimulusId: `f${sim.step}`, id });
      continue;
    }
    break;
  }
  if (sim.runs.size > 0) {
    const left = [...sim.runs].map(([id, run]) => `${id} (run ${run.runId}, ${sim.ws.view().tasks.get(id)?.state ?? 'unknown here'})`);
    sim.fail(`with nothing left to happen, the scheduler still counts on ${left.join(', ')}`);
  }
  const { held, tasks } = sim.ws.view();
  const gone = [...sim.made].filter((id) => !held.has(id));
  if (gone.length > 0) sim.fail(`results the scheduler counts on here are gone: ${gone.join(', ')}`);
  const leaked = [...held.keys()].filter((id) => !sim.made.has(id));
  if (leaked.length > 0) sim.fail(`results nobody counts on are kept: ${leaked.join(', ')}`);
  if (tasks.size > 0) {
    const left = [...tasks.values()].map((task) => `${task.assign.id} (run ${task.assign.runId}, ${task.state}, missing ${[...task.missing].join(' ') || 'nothing'})`);
    sim.fail(`with nothing left to happen, the worker still holds ${left.join(', ')}`);
  }
}


const { seeds, from } = seedsToRun(300);
const STEPS = 400;

t.test('the worker state machine under random schedules', async (t) => {
  const started = performance.now();
  const seen = new Set<string>();
  let failures = 0;
  for (const seed of seeds) {
    const sim = new Sim(seed);
    try {
      for (let i = 0; i < STEPS; i++) sim.act();
      drain(sim);
    } catch (e) {
      failures++;
      if (failures <= 5) t.fail((e as Error).message);
    }
    for (const s of sim.seen) seen.add(s);
  }
  t.equal(failures, 0, 'all seeds pass');
  // The simulation reaches every path it is meant to exercise.
  for (const what of [
    'event:assigned', 'event:cancelled', 'event:released', 'event:fetched', 'event:fetchFailed', 'event:steal',
    'event:executed', 'event:returned', 'event:paused', 'event:replicate', 'event:seceded', 'event:rejoined',
    'command:execute', 'command:executeBatch', 'command:abort', 'command:fetch', 'command:storeInline',
    'command:reportFinished', 'command:reportFailed', 'command:reportStolen', 'command:reportStealRefused',
    'command:reportStraggling', 'command:reportInputMissing', 'command:deleteData', 'command:reportSlot',
    'command:reportReplicated', 'command:replicateFailed',
    'an actor call runs', 'a direct run starts', 'a value is put', 'a copy is put', 'event:put',
  ]) {
    t.ok(seen.has(what), `${what} happens`);
  }
  t.comment(`${seeds.length} seeds (${from}) in ${Math.round(performance.now() - started)} ms`);
});
