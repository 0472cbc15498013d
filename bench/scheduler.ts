/**
 * The scheduler scenario as a standalone script (the harness runs it as `floe bench scheduler`):
 *
 *   node --import=tsx bench/scheduler.ts [N]          (N tasks per graph, default 100000)
 *   STEALING=0 node --import=tsx bench/scheduler.ts   (work stealing off)
 */
import { chainGraph, independentGraph, runGraph, type SchedulerRun } from './scenarios/scheduler.ts';

const N = Number(process.argv[2] ?? 100_000);
const stealing = process.env.STEALING !== '0';

function print(name: string, r: SchedulerRun): void {
  console.log(
    `${name.padEnd(12)} ${String(r.tasks).padStart(8)} tasks  ${r.totalUs.toFixed(2).padStart(6)} µs/task ` +
      `(submit ${r.submitUs.toFixed(2)}, run ${r.runUs.toFixed(2)}, release ${r.releaseUs.toFixed(2)})  ${Math.round(r.heapBytesPerTask)} heap B/task held`,
  );
}

console.log(`scheduler bench: 16 workers x 4 threads, node ${process.version}`);
print('independent', runGraph('independent', independentGraph(N), stealing));
print('chains', runGraph('chains', chainGraph(N), stealing));
