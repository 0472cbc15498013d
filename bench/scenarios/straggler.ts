/**
 * straggler: N tiny tasks of one kind, all short but one, which keeps its thread busy for
 * seconds (a kind of task learned short that for once runs long), on the shared cluster (2
 * workers × 1 thread). When are the other tasks done, against the same flow without the
 * straggler? Two shapes: independent tasks, and chains of 10 with the straggler in the
 * middle of one (that chain's tail waits for it; no other task should). Every result is
 * checked. See the README's "Stragglers" in How it works for what the workers and the
 * scheduler do about it.
 */
import type { Client, Future } from '../../src/index.ts';
import type { MetricSpec, Scenario } from '../harness.ts';
import { spinAt } from '../tasks.ts';
import { sizeLabel } from './throughput.ts';

/** One flow: seconds until all but the straggler's chain were done, and until all were. */
interface FlowRun {
  othersS: number;
  allS: number;
  correct: boolean;
}

export interface StragglerShapeRaw {
  /** The flow without a straggler: when all were done. */
  cleanS: number;
  /** The same flow with one: when all but the straggler's chain were done, and when all were. */
  othersS: number;
  allS: number;
  correct: boolean;
}

export interface StragglerRaw {
  n: number;
  spinMs: number;
  shapes: Record<string, StragglerShapeRaw>;
}

/** Shape name → chain length (1: independent tasks). */
const SHAPES: Record<string, number> = { independent: 1, 'chains of 10': 10 };
const size = (quick: boolean): number => (quick ? 2000 : 10_000);
const spinMs = (quick: boolean): number => (quick ? 500 : 2000);

/**
 * Submits `n` tasks in chains of `chain` (each task takes the one before as input, but a
 * chain's first), the one at index `at` spinning `ms` (at < 0: none), and times them.
 */
async function runFlow(client: Client, n: number, chain: number, at: number, ms: number): Promise<FlowRun> {
  const t0 = performance.now();
  const futures: Future<number>[] = [];
  for (let i = 0; i < n; i++) futures.push(client.submit(spinAt, i, at, ms, i % chain === 0 ? null : futures[i - 1]!));
  const stuck = at < 0 ? -1 : Math.floor(at / chain);
  const indexes = [...futures.keys()];
  const others = indexes.filter((i) => Math.floor(i / chain) !== stuck);
  const theirs = indexes.filter((i) => Math.floor(i / chain) === stuck);
  const otherValues = await client.gather(others.map((i) => futures[i]!));
  const othersS = (performance.now() - t0) / 1000;
  const theirValues = await client.gather(theirs.map((i) => futures[i]!));
  const allS = (performance.now() - t0) / 1000;
  for (const f of futures) f.release();
  const correct = otherValues.every((v, k) => v === others[k]) && theirValues.every((v, k) => v === theirs[k]);
  return { othersS, allS, correct };
}

export const stragglerScenario: Scenario<StragglerRaw> = {
  name: 'straggler',
  title: 'Straggler: tiny tasks beside one of their kind that runs seconds',
  warmup: true,
  reps: (quick) => (quick ? 1 : 3),
  note: (quick) =>
    `${sizeLabel(size(quick))} tasks, one spinning ${spinMs(quick) / 1000} s${quick ? ' (full: 10k, 2 s)' : ''}; independent, and in chains of 10 with the straggler mid-chain`,
  dask: false,
  metrics(): MetricSpec[] {
    return Object.keys(SHAPES).flatMap((shape): MetricSpec[] => [
      { key: `${shape}: no straggler`, unit: 's', better: 'lower' },
      { key: `${shape}: others done`, unit: 's', better: 'lower' },
      { key: `${shape}: straggler done`, unit: 's', better: 'lower' },
    ]).concat([{ key: 'results correct', unit: 'of 1', better: 'higher' }]);
  },
  async run(ctx) {
    const client = await ctx.client();
    const n = size(ctx.quick);
    const ms = spinMs(ctx.quick);
    const shapes: Record<string, StragglerShapeRaw> = {};
    for (const [shape, chain] of Object.entries(SHAPES)) {
      const clean = await runFlow(client, n, chain, -1, 0);
      // In the middle of the flow, and of its chain.
      const straggling = await runFlow(client, n, chain, n / 2 + Math.floor(chain / 2), ms);
      shapes[shape] = { cleanS: clean.allS, othersS: straggling.othersS, allS: straggling.allS, correct: clean.correct && straggling.correct };
    }
    return { n, spinMs: ms, shapes };
  },
  measure(raw) {
    const values: Record<string, number> = {};
    let correct = true;
    for (const [shape, r] of Object.entries(raw.shapes)) {
      values[`${shape}: no straggler`] = r.cleanS;
      values[`${shape}: others done`] = r.othersS;
      values[`${shape}: straggler done`] = r.allS;
      correct &&= r.correct;
    }
    values['results correct'] = correct ? 1 : 0;
    return { values };
  },
};
