/** The seeded PRNG of the random tests: the bench's (bench/stats.ts), so that both draw the same sequences. */
export { mulberry32 } from '../../bench/stats.ts';
