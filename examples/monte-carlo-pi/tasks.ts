// Tasks of the Monte Carlo pi example.
import { task } from 'floe';

/** Throws `n` darts at the unit square with a seeded generator; returns how many hit the circle. */
export const sample = task(import.meta.url, (seed: number, n: number) => {
  let state = (seed * 2654435761) >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const x = next();
    const y = next();
    if (x * x + y * y <= 1) hits++;
  }
  return { hits, n };
});

export interface Tally {
  hits: number;
  n: number;
}

/** One node of the reduction tree. */
export const add = task(import.meta.url, (a: Tally, b: Tally): Tally => ({ hits: a.hits + b.hits, n: a.n + b.n }));

export const estimate = task(import.meta.url, (t: Tally) => (4 * t.hits) / t.n);
