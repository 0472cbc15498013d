/**
 * glibc malloc settings for worker processes, set in the environment of every worker
 * that floe starts (the nanny's child, `floe local` and test/bench clusters). glibc reads
 * them once, when the process starts, so they cannot be set from inside the worker.
 *
 * Why: moving a result over the gRPC data plane allocates a fresh buffer per chunk on both
 * sides (grpc-js frames each message into a new Buffer when sending and concatenates each
 * received one). With glibc's defaults those ~1 MiB buffers are often mmap()ed, or freed
 * in a batch by a V8 GC and trimmed from the heap, so every chunk lands on new pages: the
 * sending worker took ~17,000 page faults per 100 MiB (about as many as the 25,600 pages
 * the receiver must fill anyway) and spent 2-3x the CPU of the same transfer with these
 * settings (bench/transfer.ts, `floe bench transfer`).
 *
 * - MALLOC_MMAP_THRESHOLD_: allocations below 4 MiB come from the heap and are reused.
 *   Results are larger than that as a rule and stay mmap()ed: freeing one returns its
 *   memory to the system at once.
 * - MALLOC_TRIM_THRESHOLD_: keep up to 64 MiB of free heap instead of trimming at 128 KiB.
 * - MALLOC_TOP_PAD_: grow the heap 16 MiB at a time.
 *
 * Setting any of them turns off glibc's dynamic mmap threshold. A value already in the
 * environment wins, so an operator can tune or undo them. Other C libraries ignore them.
 */

/** The settings and their values (bytes, as glibc reads them from the environment). */
export const WORKER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(16 * 1024 * 1024),
};

/** `env` plus each of {@link WORKER_MALLOC_ENV} that `env` does not set already. */
export function withWorkerMallocEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(WORKER_MALLOC_ENV)) {
    if (out[name] === undefined || out[name] === '') out[name] = value;
  }
  return out;
}
