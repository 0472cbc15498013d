// Monte Carlo estimate of pi with a tree reduction: `chunks` sampling tasks, then
// pairwise additions (log2(chunks) levels), so no single task sums everything.
//
//   floe run examples/monte-carlo-pi/flow.ts [chunks] [samplesPerChunk]
import { flow, type Future } from 'floe';
import { add, estimate, sample, type Tally } from './tasks.ts';

export default flow('monte-carlo-pi', (chunks: number = 32, samplesPerChunk: number = 200_000) => {
  let level: Future<Tally>[] = Array.from({ length: chunks }, (_, i) => sample(i + 1, samplesPerChunk));
  while (level.length > 1) {
    const next: Future<Tally>[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1];
      next.push(right === undefined ? left : add(left, right));
    }
    level = next;
  }
  const total = level[0]!;
  return { pi: estimate(total), samples: total };
});
