/**
 * recovery: a flow of N independent 5 ms tasks on 2 workers; one worker is killed (SIGKILL)
 * once a third of the results are in. Completion time against the same flow with no fault
 * on the same cluster; every result is checked. Always on a local cluster of its own, with
 * the default heartbeat timeout (15 s) and heartbeats (1 s): the coordinator's probes find
 * the killed worker gone within about two seconds (src/coordinator/probes.ts).
 */
import type { Future } from '../../src/index.ts';
import type { Scenario } from '../harness.ts';
import { busyDouble } from '../tasks.ts';

export interface RecoveryRaw {
  n: number;
  noFaultS: number;
  faultS: number;
  correct: boolean;
  killedAfter: number;
}

const size = (quick: boolean): number => (quick ? 1000 : 5000);
const TASK_MS = 5;

/** Runs the flow; `onProgress(done)` is called as results arrive. Returns seconds and correctness. */
async function runFlow(futures: Future<number>[], onProgress: (done: number) => void): Promise<{ seconds: number; correct: boolean }> {
  const t0 = performance.now();
  let done = 0;
  let correct = true;
  await Promise.all(
    futures.map(async (f, i) => {
      const v = await f.result();
      if (v !== i * 2) correct = false;
      onProgress(++done);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const f of futures) f.release();
  return { seconds, correct };
}

export const recoveryScenario: Scenario<RecoveryRaw> = {
  name: 'recovery',
  title: 'Recovery: one of two workers killed during a flow of 5 ms tasks',
  warmup: false,
  reps: (quick) => (quick ? 1 : 2),
  note: (quick) =>
    `${size(quick)} tasks × ${TASK_MS} ms${quick ? ' (full: 5,000)' : ''}; own local cluster, default heartbeat timeout (15 s), a killed worker found by probes`,
  dask: false,
  metrics: () => [
    { key: 'no fault', unit: 's', better: 'lower' },
    { key: 'one worker killed', unit: 's', better: 'lower' },
    { key: 'slowdown', unit: '×', better: 'lower' },
    { key: 'results correct', unit: 'of 1', better: 'higher' },
  ],
  async run(ctx) {
    const n = size(ctx.quick);
    const cluster = await ctx.startCluster({});
    try {
      const { client, handle } = cluster;
      const flow = (): Future<number>[] => Array.from({ length: n }, (_, i) => client.submit(busyDouble, i, TASK_MS));
      await runFlow(Array.from({ length: 50 }, (_, i) => client.submit(busyDouble, i, 1)), () => undefined); // warm-up
      const clean = await runFlow(flow(), () => undefined);
      const victim = handle.workers[1]!;
      let killedAfter = 0;
      const faulty = await runFlow(flow(), (done) => {
        if (killedAfter === 0 && done >= n / 3) {
          killedAfter = done;
          victim.kill('SIGKILL');
        }
      });
      return { n, noFaultS: clean.seconds, faultS: faulty.seconds, correct: clean.correct && faulty.correct, killedAfter };
    } finally {
      await cluster.stop();
    }
  },
  measure: (raw) => ({
    values: {
      'no fault': raw.noFaultS,
      'one worker killed': raw.faultS,
      slowdown: raw.faultS / raw.noFaultS,
      'results correct': raw.correct ? 1 : 0,
    },
  }),
};
