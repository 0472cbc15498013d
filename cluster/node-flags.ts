/**
 * V8 flags for the cluster processes floe starts itself: the coordinator and workers of
 * `floe local` and of test and bench clusters, and the worker a nanny runs.
 *
 * `--max-semi-space-size` (MiB): the young generation. Every task leaves short-lived
 * objects in each process on its path (decoded messages, scheduler commands, encoder
 * state), while the records of a big submission live until its results are released. A
 * scavenge costs in proportion to what survives it, and with V8's default (16 MiB) a
 * 10,000-task submission is scavenged many times while it is alive: in one process
 * running the client, the coordinator and two workers, garbage collection took 37% of
 * the CPU. With 64 MiB it took a third less (`Client.local()`, 10,000 no-op tasks per
 * round, pauses summed with a PerformanceObserver). The space is taken only as it fills,
 * and given back when the process is idle.
 *
 * A value already given (in the process's own flags or in NODE_OPTIONS) wins, so an
 * operator can tune or undo it. Processes started by hand (`floe coordinator`) take it
 * from NODE_OPTIONS.
 */

export const YOUNG_GENERATION_MIB = 64;

const FLAG = '--max-semi-space-size';

/** The flags to add to a cluster process's node command line (none when already set). */
export function clusterNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  if (given.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return [];
  return [`${FLAG}=${YOUNG_GENERATION_MIB}`];
}
