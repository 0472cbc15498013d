/**
 * Between timed runs: wait until the cluster holds nothing of the run just released, so
 * that the next run is timed on its own tasks only, not also on the cluster letting go of
 * the previous run's tasks and results (the client sends releases in batches, and the
 * coordinator and workers then drop records and results). bench/dask_bench.py waits the
 * same way on the Dask side (until_let_go): for its scheduler, then for its workers' data.
 *
 * First the coordinator's view: no task and no result left. The coordinator has then told
 * the workers, and each deletes its results once the message reaches it, after the
 * coordinator is done: a worker's main thread took about 1 µs per task to let go of a 100k
 * run (2026-12-06, `/proc` CPU from the release to 1.5 s later). So then the workers' own
 * view: a heartbeat from each that came after the coordinator was idle (WorkerStatus
 * metricsAgeMs), showing nothing held, running or assigned. That waits up to a heartbeat
 * interval (1 s by default); past WORKERS_WAIT_MS it says which workers it did not see let
 * go, and goes on. (Twice in lab runs a worker never let go; the second time its
 * heartbeats showed one task assigned, nothing running or held, for good. That is what an
 * early run the scheduler took back in the turn it sent it left on its worker until
 * 2026-12-06: the worker handled the cancel before the assignment, both being in one
 * message; see src/worker/control-events.ts.)
 *
 * Measured on the throughput scenario: a 10k run that began while the cluster still let go
 * of the previous rep's 100k gave medians of 25.2k and 25.5k tasks/s in two runs of `floe
 * bench throughput`, against 33.9k, 43.3k and 39.0k in three with the coordinator's wait
 * (2026-12-04, 2 cores). With the coordinator's wait alone, the workers' deletions still
 * ran into the next run: 10k runs right after a 100k one ran at 21.7–39.7k tasks/s, fresh
 * ones at 42.1–73.6k (2026-12-06, lab runs of the scenario's sequence).
 */
import { isIdle, type ClusterStatus } from '../src/client/cluster-status.ts';
import type { Client } from '../src/index.ts';

/** Between status requests while waiting for heartbeats: asking in a tight loop would load the cluster it waits on. */
const HEARTBEAT_POLL_MS = 20;

/** How long to wait for the workers once the coordinator has let go: five default heartbeat intervals. */
const WORKERS_WAIT_MS = 5_000;

type WorkerStatus = ClusterStatus['workers'][number];

/**
 * Whether a worker's last heartbeat came less than `sinceMs` before the status was made
 * (so after the coordinator was idle) and shows it holds nothing. A worker that has sent
 * no heartbeat (none yet, or heartbeats off) holds nothing the coordinator does not know of.
 */
export function workerLetGo(w: WorkerStatus, sinceMs: number): boolean {
  const m = w.metrics;
  if (m === undefined) return true;
  return w.metricsAgeMs < sinceMs && m.held === 0 && m.executing === 0 && m.tasks === 0;
}

export async function untilLetGo(client: Client, scenario: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  let status = await client.status();
  const inTime = (): void => {
    if (performance.now() <= deadline) return;
    const workers = status.workers.map((w) => ({ id: w.id, held: w.held, processing: w.processing, metrics: w.metrics, metricsAgeMs: w.metricsAgeMs }));
    throw new Error(`${scenario}: the cluster still holds tasks a minute after their release: ${JSON.stringify({ tasks: status.tasks, workers })}`);
  };
  while (!isIdle(status)) {
    inTime();
    status = await client.status();
  }
  // The idle status was made before now; each status asked for from here on is made after
  // it is asked for, so a heartbeat younger than the time since is younger than idleness.
  const idleAt = performance.now();
  for (;;) {
    const askedAt = performance.now();
    status = await client.status();
    const behind = status.workers.filter((w) => !workerLetGo(w, askedAt - idleAt));
    if (behind.length === 0) return;
    if (askedAt - idleAt > WORKERS_WAIT_MS) {
      // The coordinator holds nothing: say what the workers report, and go on.
      const reports = behind.map((w) => ({ id: w.id, metrics: w.metrics, metricsAgeMs: w.metricsAgeMs }));
      console.error(`[bench] ${scenario}: workers not seen letting go ${WORKERS_WAIT_MS} ms after the coordinator did; going on: ${JSON.stringify(reports)}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_POLL_MS));
  }
}
