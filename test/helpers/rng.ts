/** The seeded PRNG of the random tests: the bench's (bench/stats.ts), so that both draw the same sequences. */
export { mulberry32 } from '../../bench/stats.ts';

/**
 * The seeds a random test runs: FLOE_SEED alone (to replay a failure), else FLOE_SEEDS of
 * them (default `count`) from FLOE_SEEDS_FROM (default 1: CI runs the same seeds every
 * time). `FLOE_SEEDS_FROM=random` starts at a random seed, so that each soak (`npm run
 * soak`) tries seeds no run tried before; a failure names its seed either way.
 */
export function seedsToRun(count: number): { seeds: number[]; from: string } {
  const only = process.env.FLOE_SEED;
  if (only !== undefined) return { seeds: [Number(only)], from: `FLOE_SEED=${only}` };
  const n = Number(process.env.FLOE_SEEDS ?? count);
  const asked = process.env.FLOE_SEEDS_FROM;
  const first = asked === 'random' ? 1 + Math.floor(Math.random() * 2 ** 31) : Number(asked ?? 1);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(n)) throw new Error(`FLOE_SEEDS_FROM and FLOE_SEEDS must be whole numbers (or FLOE_SEEDS_FROM=random), got ${asked} and ${n}`);
  return { seeds: Array.from({ length: n }, (_, i) => first + i), from: `seeds ${first} to ${first + n - 1}` };
}
