/**
 * V8 flags for the processes floe starts itself: the coordinator and workers of `floe
 * local` and of test and bench clusters, the worker a nanny runs, and the client of `floe
 * run` and `floe bench`; and for a coordinator or worker node started by hand (`floe
 * coordinator`, `floe worker --no-nanny`), which starts itself again with them (cli.ts).
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
 * `--min-semi-space-size`, coordinator only: V8 starts the young generation at 1 MiB and
 * grows it only after scavenges that keep much, and shrinks it again when the process is
 * idle, so a coordinator between bursts of work scavenged its way back up on every burst:
 * 30 scavenges for 5 rounds of 10,000 no-op tasks on a local cluster, against 7 with the
 * space held at its full size, and the coordinator's CPU per task fell from 31 to 26 µs
 * (medians of 5 interleaved pairs, `bench/cpu-per-task.ts`). The cost is up to twice the
 * space in resident memory while busy. Workers do not get it: the flag holds for every
 * isolate in the process, so each of a worker's pool threads would hold that much too.
 *
 * The client, `floe run` and `floe bench` (cluster/relaunch.ts): a client keeps every
 * future, key state and result of a submission alive until it is gathered and released, so
 * its scavenges keep much of what they see. Running a client on V8's default, the bench
 * client used 11.6–13.7 µs of CPU per task in linear-100x10 rounds on a local cluster; with
 * 64 MiB, 6.6–9.1 (`/proc` per thread, six runs alternated). In the embedded mode, where
 * the client's process is the whole cluster, `floe bench task-lag throughput --mode
 * embedded` went from 1.12 / 0.17 / 1.29 s of total lag and 60.6k / 49.3k no-op tasks/s to
 * 0.67 / 0.08 / 0.72 s and 74.4k / 58.9k. Only the maximum, as for workers: the embedded
 * mode has pool threads.
 *
 * A size already given (either flag, in the process's own flags or in NODE_OPTIONS) means
 * none is added, so an operator can tune or undo both. Programs that make their own
 * clients take them from NODE_OPTIONS or their command line (README: "A client's young generation").
 *
 * `--single-threaded-gc`, workers only: each isolate (the main thread and each pool
 * thread) collects its own garbage on its own thread, instead of handing marking,
 * sweeping and scavenging to V8's helper threads (four per process). A worker's cores
 * belong to its pool threads, and the helpers compete with them for those cores. Moving a
 * result between workers allocates about three times its size in buffers on the receiving
 * side (the HTTP/2 reads, grpc-js's message copies, the result itself) and once more on the
 * sending side, and V8 answers each 64 MiB of new buffers with a full mark of the heap:
 * five per 100 MiB on the receiver. On 2 cores the helpers' share of that marking took as
 * much CPU as the receiver's main thread (`perf` over the transfer windows: 60 ms of
 * helper-thread GC per 100 MiB moved). In two alternated pairs of `floe bench transfer
 * throughput`, floe moved 809 and 850 MB/s worker to worker with the flag against 687 and
 * 605 without (raw TCP 960-1,080 in all four), and throughput stayed within its noise
 * (155k / 107k no-op tasks/s at 10k, 104k / 91k at 100k, against 125k / 99k and 95k /
 * 92k); two pairs of `floe bench task-lag latency` showed no difference either way.
 * Given on the command line (`--single-threaded-gc`, its `--no-` form, or
 * `--single-threaded`), the operator's choice stands.
 *
 * `--no-memory-reducer`, every process floe starts: V8's memory reducer, once a process has
 * gone quiet after a major collection (8 s on, and the bench's pauses between rounds were
 * quiet enough), runs up to three collections in a row that shrink the heap, and these do
 * not keep alive the hidden classes (maps) that no live object has at that moment.
 * Optimized code refers to the maps it was made for only weakly, so such a collection, made
 * while no message was being handled, threw away the optimized code of nearly everything a
 * process runs per message (the protobuf readers, the run bookkeeping, nats.js' parser,
 * Piscina's hand-over): 55-60 functions at once (`--trace-deopt`: "marking dependent code
 * ... reason: weak objects", each time just before a "Mark-Compact (reduce)" of
 * `--trace-gc`). The next rounds ran slower code and compiled it again on V8's helper
 * threads beside the work: in two lab runs of 22 rounds of each task-lag shape, both workers
 * lost their code that way at round 20-21, one then spent 42-64 ms of CPU compiling in each
 * of the next four rounds (0-3 ms in most rounds before), and those rounds had 1.3-1.8 s of
 * total lag against 0.5-0.9 in the rounds before. With the reducer off, 30 rounds of each
 * shape had no such collection and no mass deoptimization in any process; three alternated
 * pairs of `floe bench task-lag` gave 0.49 / 0.61 / 0.59 s (linear-100x10) and 0.47 / 0.65
 * / 0.59 (tree-100x10) with the flag against 0.69 / 0.60 / 0.58 and 0.72 / 0.54 / 0.53
 * without, the slowest repetitions 0.61-0.83 s against 0.61-1.07. What it costs: a quiet
 * process keeps the heap it grew to until its next collection; 40 s after a 300,000-task
 * run, the coordinator and workers held 609 / 300 / 236 MB of memory without the reducer
 * and 619 / 230 / 242 MB with it (it had given nothing back by then either).
 * Given on the command line (`--memory-reducer` or its `--no-` form), the operator's choice
 * stands. Node does not take this flag in NODE_OPTIONS: a program with its own client needs
 * it on node's own command line.
 *
 * `--expose-gc`, every process floe starts: lets the process collect its young generation
 * when its I/O goes quiet (util/idle-gc.ts), so that the next burst does not stop for a
 * scavenge of itself. It also gives every script in the process, tasks included, a global
 * `gc` function. Given on the command line or in NODE_OPTIONS (`--expose-gc` or its `--no-`
 * form), the operator's choice stands; without the flag a process simply makes no idle
 * collections.
 */

export const YOUNG_GENERATION_MIB = 64;

/** `client`: a process that runs a client (and in the embedded mode, the whole cluster). */
export type ClusterRole = 'coordinator' | 'worker' | 'client';

const MAX_FLAG = '--max-semi-space-size';
const MIN_FLAG = '--min-semi-space-size';
const GC_FLAG = '--single-threaded-gc';
const REDUCER_FLAG = '--no-memory-reducer';
const EXPOSE_GC_FLAG = '--expose-gc';

/** A V8 boolean flag as an operator may give it: on, or off (V8 reads `--no-x` and `--nox` alike). */
function eitherWay(name: string): string[] {
  return [`--${name}`, `--no-${name}`, `--no${name}`];
}

/** Flags by which an operator has chosen how V8 threads its garbage collection. */
const GC_THREAD_FLAGS = [...eitherWay('single-threaded-gc'), ...eitherWay('single-threaded')];
/** Flags by which an operator has chosen whether V8's memory reducer runs. */
const REDUCER_FLAGS = eitherWay('memory-reducer');
/** Flags by which an operator has chosen whether code may call V8's collector. */
const EXPOSE_GC_FLAGS = eitherWay('expose-gc');

/** The flags to add to the node command line of a process floe starts (each left out when the operator set it already). */
export function clusterNodeFlags(
  role: ClusterRole,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): string[] {
  // V8 reads `_` and `-` in flag names alike.
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) => arg.replace(/_/g, '-'));
  const isGiven = (flag: string): boolean => given.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
  const flags: string[] = [];
  if (!isGiven(MAX_FLAG) && !isGiven(MIN_FLAG)) {
    flags.push(`${MAX_FLAG}=${YOUNG_GENERATION_MIB}`);
    if (role === 'coordinator') flags.push(`${MIN_FLAG}=${YOUNG_GENERATION_MIB}`);
  }
  if (role === 'worker' && !GC_THREAD_FLAGS.some(isGiven)) flags.push(GC_FLAG);
  if (!REDUCER_FLAGS.some(isGiven)) flags.push(REDUCER_FLAG);
  if (!EXPOSE_GC_FLAGS.some(isGiven)) flags.push(EXPOSE_GC_FLAG);
  return flags;
}
