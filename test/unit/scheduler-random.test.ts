/**
 * Randomized simulation of the scheduler with a seeded PRNG: random DAGs, workers,
 * interleavings of completions, failures, retries, cancellations, releases, worker loss
 * and joins, work stealing (victims grant only runs that have not started) and graceful
 * retirement with replication (copies may fail), seceded, rejoined and straggling runs, actors (creations
 * with restarts, calls from any client, handles lent to tasks, calls and other actors). Invariants are checked after every
 * event. Reproduce a seed with
 * FLOE_SEED=<n> npx tap test/unit/scheduler-random.test.ts (FLOE_SEEDS=<count> runs more seeds, from FLOE_SEEDS_FROM: a number, default 1, or random)
 *
 * The simulated cluster is test/helpers/scheduler-sim.ts, and what it checks of each
 * command the scheduler gives it, test/helpers/scheduler-sim-checks.ts.
 */
import t from 'tap';
import { mulberry32, seedsToRun } from '../helpers/rng.ts';
import { totals } from '../helpers/scheduler-sim-checks.ts';
import { Sim } from '../helpers/scheduler-sim.ts';

function runSeed(seed: number): void {
  const fail = (msg: string): never => {
    throw new Error(`seed ${seed}: ${msg} (reproduce with FLOE_SEED=${seed})`);
  };
  try {
    simulate(seed, fail);
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith('seed ')) throw error;
    fail(`${message}\n${(error as Error).stack}`);
  }
}

function simulate(seed: number, fail: (msg: string) => never): void {
  const sim = new Sim(mulberry32(seed), fail);
  const clients = sim.rand() < 0.5 ? ['A'] : ['A', 'B'];
  for (let i = 1 + sim.int(3); i > 0; i--) sim.join();
  for (const c of clients) sim.submit(c);
  let steps = 0;
  while (sim.step(clients)) if (++steps > 20_000) fail('did not settle');
  // Quiescent: every key still wanted is settled, and its last notification says so.
  for (const id of sim.wanted) {
    const state = sim.s.stateOf(id);
    const last = sim.notes.get(id)?.at(-1)?.status;
    if (state !== 'memory' && state !== 'erred') fail(`wanted ${id} ended ${state}`);
    if (last !== state) fail(`wanted ${id} is ${state} but was last notified ${last}`);
  }
  for (const [i, c] of clients.entries()) {
    if (i === 0) sim.send({ type: 'keysReleased', clientId: c, keys: [...sim.deps.keys()].map((id) => id.slice(c.length + 1)) });
    else sim.send({ type: 'clientDisconnected', clientId: c });
  }
  while (sim.pending.length + sim.steals.length + sim.copies.length > 0) {
    if (sim.pending.length > 0) sim.deliver();
    else if (sim.steals.length > 0) sim.answerSteal();
    else sim.deliverCopy();
  }
  // Actors lent to each other in a cycle outlive the release (a reference count cannot see
  // cycles), with the lineage they need; the invariants checked they are really held. The
  // owner leaving takes them.
  const left = sim.s.tasksByState();
  const stray = [...left.waiting, ...left.queued, ...left.processing, ...left.memory].filter((id) => !sim.actors.includes(id));
  if (stray.length > 0) fail(`scheduler still holds ${JSON.stringify(left)} after the release`);
  if (sim.s.size !== 0) sim.send({ type: 'clientDisconnected', clientId: clients[0]! });
  while (sim.pending.length > 0) sim.deliver();
  if (sim.s.size !== 0) fail(`scheduler still holds ${JSON.stringify(sim.s.tasksByState())}`);
  for (const [w, ids] of sim.held) if (ids.size > 0) fail(`${w} still holds ${[...ids].join(',')}`);
}

const { seeds, from } = seedsToRun(300);

t.test('random simulations keep every invariant', async (t) => {
  const started = performance.now();
  let failures = 0;
  for (const seed of seeds) {
    try {
      runSeed(seed);
    } catch (error) {
      failures++;
      t.fail((error as Error).message, { stack: (error as Error).stack });
      if (failures >= 3) break;
    }
  }
  t.equal(failures, 0, 'all seeds pass');
  if (seeds.length >= 100) t.ok((totals.get('direct:several') ?? 0) > 0 && (totals.get('direct:cancelled') ?? 0) > 0, 'direct runs of several tasks (puts of several values) were simulated, and some cancelled');
  if (seeds.length >= 100) t.ok((totals.get('replicate:asked') ?? 0) > 0, "copies a client asked for were simulated");
  if (seeds.length >= 100) t.ok((totals.get('replicate:again') ?? 0) > 0, "a retiring worker's failed copies sent again elsewhere were simulated");
  t.comment(`${seeds.length} seeds (${from}) in ${Math.round(performance.now() - started)} ms`);
  t.comment(`commands: ${[...totals].map(([k, v]) => `${k}=${v}`).join(' ')}`);
});
