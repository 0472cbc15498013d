// Tasks of the ETL example: extract from several sources, transform each, join them,
// and load the result through a flaky sink that fails once and succeeds on retry.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { task } from 'floe';

export interface Sale {
  region: string;
  product: string;
  amount: number;
}

/** Extract: one source's rows (deterministic fake data). */
export const extract = task(import.meta.url, (source: string, rows: number): Sale[] => {
  const products = ['kettle', 'lamp', 'chair', 'desk'];
  return Array.from({ length: rows }, (_, i) => ({
    region: source,
    product: products[(i * 7 + source.length) % products.length] ?? 'kettle',
    amount: ((i * 37) % 100) + 1,
  }));
});

/** Transform: drop small orders and total per product. */
export const transform = task(import.meta.url, (rows: Sale[], minAmount: number) => {
  const totals: Record<string, number> = {};
  for (const row of rows) if (row.amount >= minAmount) totals[row.product] = (totals[row.product] ?? 0) + row.amount;
  return { region: rows[0]?.region ?? 'unknown', totals };
});

/** Join: all regions into one report. */
export const combine = task(import.meta.url, (parts: { region: string; totals: Record<string, number> }[]) => {
  const byProduct: Record<string, number> = {};
  for (const part of parts) for (const [p, n] of Object.entries(part.totals)) byProduct[p] = (byProduct[p] ?? 0) + n;
  return { regions: parts.map((p) => p.region).sort(), byProduct };
});

/**
 * Load: writes the report. The first attempt of each run fails like a flaky network
 * sink would (a marker file remembers it); the task's `retries` option recovers.
 */
export const load = task(
  import.meta.url,
  async (report: { regions: string[]; byProduct: Record<string, number> }, dir: string, runId: string) => {
    await mkdir(dir, { recursive: true });
    const marker = join(dir, `${runId}.attempted`);
    if (!existsSync(marker)) {
      await writeFile(marker, 'first attempt failed\n');
      throw new Error('warehouse connection reset (simulated flaky sink)');
    }
    const out = join(dir, `${runId}.json`);
    await writeFile(out, JSON.stringify(report));
    return { path: out, rows: Object.keys(report.byProduct).length };
  },
  { retries: 3, retryDelayMs: 50, retryBackoff: 2 },
);
