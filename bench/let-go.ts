/**
 * Between timed runs: wait until the cluster holds nothing of the run just released, so
 * that the next run is timed on its own tasks only, not also on the cluster letting go of
 * the previous run's tasks and results (the client sends releases in batches, and the
 * coordinator and workers then drop records and results). bench/dask_bench.py waits the
 * same way on the Dask side (until_let_go).
 *
 * Measured on the throughput scenario: a 10k run that began while the cluster still let go
 * of the previous rep's 100k gave medians of 25.2k and 25.5k tasks/s in two runs of `floe
 * bench throughput`, against 33.9k, 43.3k and 39.0k in three with this wait (2026-12-04, 2
 * cores).
 */
import { isIdle } from '../src/client/cluster-status.ts';
import type { Client } from '../src/index.ts';

export async function untilLetGo(client: Client, scenario: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!isIdle(await client.status())) {
    if (performance.now() > deadline) throw new Error(`${scenario}: the cluster still holds tasks a minute after their release`);
  }
}
