// A fan-out whose width is only known while the flow runs: `survey` looks at a region,
// decides how many sites it has, and scores each site in a subtask of its own.
import { getContext, task } from 'floe';

/** A deterministic pseudo-random number in [0, 1) from a string. */
function hash01(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

export const scoreSite = task(import.meta.url, (site: number, region: string): number =>
  Math.round(hash01(`${region}/${site}`) * 100),
);

export interface Survey {
  region: string;
  sites: number;
  best: number;
  total: number;
}

export const survey = task(import.meta.url, async (region: string): Promise<Survey> => {
  const sites = 3 + Math.floor(hash01(region) * 20); // known only now
  const ctx = getContext();
  const scores = await ctx.gather(ctx.map(scoreSite, Array.from({ length: sites }, (_, i) => i), region));
  return { region, sites, best: Math.max(...scores), total: scores.reduce((a, b) => a + b, 0) };
});
