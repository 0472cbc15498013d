#!/usr/bin/env node
/**
 * The `floe` command. Every command has --help; common flags also come from the
 * environment (FLOE_NATS, FLOE_CLUSTER, FLOE_LOG_LEVEL).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { TIMER_MAX_MS } from '../src/util/clock.ts';
import { DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS } from '../src/worker/heartbeat.ts';
import { exitWithParent, LOG_LEVELS } from './common.ts';
import { withWorkerMallocEnv } from './malloc-env.ts';
import { clusterNodeFlags, type ClusterRole } from './node-flags.ts';
import { relaunch, watchRelauncher } from './relaunch.ts';
// Each command's module is loaded when it runs: a worker does not load the bench harness
// (and through it the OpenTelemetry SDK), nor a coordinator the client.
import type { benchCommand } from './commands/bench.ts';
import type { coordinatorCommand } from './commands/coordinator.ts';
import type { localCommand } from './commands/local.ts';
import type { runCommand } from './commands/run.ts';
import type { statusCommand } from './commands/status.ts';
import type { workerCommand } from './commands/worker.ts';

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer`);
    return n;
  };
}

function positiveNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number`);
    return n;
  };
}

function fraction(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError(`${what} must be a number in (0, 1]`);
    return n;
  };
}

function nonNegativeInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    return n;
  };
}

/** An integer from `min` to `max`, said to be `what` (`noun`) when it is not. */
function integerIn(what: string, noun: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be ${noun} from ${min} to ${max}`);
    return n;
  };
}

/** A duration in ms for a timer: from `min` to TIMER_MAX_MS (a longer timer would fire at once). */
const milliseconds = (what: string, min: 0 | 1) => integerIn(what, 'a whole number of milliseconds', min, TIMER_MAX_MS);
const portNumber = (what: string) => integerIn(what, 'a port number', 0, 65535);

const natsOption = (required: boolean): Option =>
  new Option('--nats <url>', `NATS server URL(s), comma-separated${required ? '' : ' (default: the embedded mode)'}`).env('FLOE_NATS');
const clusterOption = (): Option =>
  new Option('--cluster <name>', 'cluster name (several clusters can share one NATS)').env('FLOE_CLUSTER').default('default');
const logLevelOption = (): Option =>
  new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('FLOE_LOG_LEVEL').default('info');

const otlpOption = (): Option =>
  new Option('--otlp <url>', 'export traces and metrics over OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318').env('OTEL_EXPORTER_OTLP_ENDPOINT');

const program = new Command()
  .name('floe')
  .description('floe: a distributed task execution engine for TypeScript')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('run')
  .description('run a flow file (its default export is a flow) and print its result')
  .argument('<flow-file>', 'a .ts or .js module whose default export is made with flow()')
  .argument('[params...]', 'parameters passed to the flow (JSON values, otherwise strings)')
  .addOption(natsOption(false))
  .addOption(clusterOption())
  .option('--threads <n>', 'embedded mode: pool threads per worker (default: available cores)', positiveInt('--threads'))
  .option('--workers <n>', 'embedded mode: worker nodes (default: 1)', positiveInt('--workers'))
  .option('--json', 'print the result as JSON')
  .option('--progress-interval <ms>', 'without a terminal: print a progress line this often', milliseconds('--progress-interval', 1), 1000)
  .option('--no-progress', 'do not show progress')
  .addOption(otlpOption())
  .addOption(logLevelOption().default('warn'))
  .action(async (file: string, params: string[], opts: Parameters<typeof runCommand>[2]) => {
    const { runCommand } = await import('./commands/run.ts');
    process.exitCode = await runCommand(file, params, opts);
  });

program
  .command('coordinator')
  .description('run the coordinator (scheduler) of a cluster')
  .addOption(natsOption(true).makeOptionMandatory())
  .addOption(clusterOption())
  .option('--heartbeat-timeout <ms>', 'declare a worker lost after this much silence (0: never)', milliseconds('--heartbeat-timeout', 0), 15_000)
  .option('--client-timeout <ms>', "drop a client after this much silence and release its results (0: never)", milliseconds('--client-timeout', 0), 60_000)
  .option('--worker-saturation <x>', 'tasks sent to a worker at once, per thread (more hides latency, less balances better)', positiveNumber('--worker-saturation'), 2)
  .option('--no-stealing', 'do not let idle workers take queued tasks from busy ones')
  .option('--no-probes', 'find dead workers and clients only by their timeouts, not by probing those silent for 1.5 heartbeats')
  .option('--early-per-worker <n>', 'tasks sent ahead, per worker, to the worker computing all their missing inputs (0: off)', nonNegativeInt('--early-per-worker'), 1024)
  .addOption(otlpOption())
  .addOption(logLevelOption())
  .action(async (opts: Parameters<typeof coordinatorCommand>[0]) => {
    const { coordinatorCommand } = await import('./commands/coordinator.ts');
    process.exitCode = await coordinatorCommand(opts);
  });

program
  .command('worker')
  .description('run a worker node: a thread pool that runs tasks and serves their results to peers')
  .addOption(natsOption(true).makeOptionMandatory())
  .addOption(clusterOption())
  .option('--threads <n>', 'pool threads (default: available cores)', positiveInt('--threads'))
  .option('--memory-limit <size>', 'bytes of results this worker may hold in memory, e.g. 4GiB (also declared as resource memory)')
  .option('--memory-target <fraction>', 'spill results to disk past this fraction of --memory-limit (default 0.6)', fraction('--memory-target'))
  .option('--memory-pause <fraction>', 'start no new tasks past this fraction of --memory-limit (default 0.8)', fraction('--memory-pause'))
  .option('--spill-dir <dir>', 'where spilled results go (default: a private directory under the system temp dir)')
  .option('--name <name>', 'display name')
  .option('--resources <list>', 'resources this worker offers, e.g. gpu=1,ssd=1')
  .option('--host <host>', 'address the data plane (gRPC) listens on', '127.0.0.1')
  .option('--port <port>', 'data plane port (0: any free port)', portNumber('--port'), 0)
  .option('--advertise-host <host>', 'host other workers use to reach this one (default: --host)')
  .option('--heartbeat-interval <ms>', 'how often to tell the coordinator this worker is alive', milliseconds('--heartbeat-interval', 1), DEFAULT_WORKER_HEARTBEAT_INTERVAL_MS)
  .option(
    '--retire-timeout <ms>',
    'on SIGINT/SIGTERM, wait this long for the cluster to take over this worker\'s tasks and results (0: leave at once)',
    milliseconds('--retire-timeout', 0),
    30_000,
  )
  .option('--no-nanny', 'run the worker in this process instead of a supervised child process that is restarted when it crashes')
  .option('--restarts-max <n>', 'nanny: crash restarts allowed within --restarts-window before giving up', nonNegativeInt('--restarts-max'), 10)
  .option('--restarts-window <ms>', 'nanny: the window --restarts-max counts in', milliseconds('--restarts-window', 1), 60_000)
  .addOption(otlpOption())
  .addOption(logLevelOption())
  .action(async (opts: Parameters<typeof workerCommand>[0]) => {
    const { workerCommand } = await import('./commands/worker.ts');
    process.exitCode = await workerCommand(opts);
  });

program
  .command('local')
  .description('run a whole cluster on this machine: nats-server, a coordinator and N workers')
  .option('--workers <n>', 'worker processes', positiveInt('--workers'), 2)
  .option('--threads <n>', 'pool threads per worker (default: available cores)', positiveInt('--threads'))
  .addOption(new Option('--nats <url>', 'use this NATS instead of starting nats-server').env('FLOE_NATS'))
  .addOption(clusterOption())
  .addOption(otlpOption())
  .addOption(logLevelOption().default('warn'))
  .action(async (opts: Parameters<typeof localCommand>[0]) => {
    const { localCommand } = await import('./commands/local.ts');
    process.exitCode = await localCommand(opts);
  });

program
  .command('status')
  .description("show a cluster's workers, tasks in flight, keys held and tasks waiting (and why)")
  .addOption(natsOption(true).makeOptionMandatory())
  .addOption(clusterOption())
  .option('--json', 'print JSON')
  .option('--timeout <ms>', 'how long to wait for the coordinator', milliseconds('--timeout', 1), 5000)
  .addOption(otlpOption())
  .addOption(logLevelOption().default('warn'))
  .action(async (opts: Parameters<typeof statusCommand>[0]) => {
    const { statusCommand } = await import('./commands/status.ts');
    process.exitCode = await statusCommand(opts);
  });

program
  .command('bench')
  .description('run the benchmark harness: task-lag, throughput, latency, tree-reduce, actor-calls, transfer, recovery, straggler, scheduler, scale, tracing')
  .argument('[scenario...]', 'scenarios to run (default: all)')
  .addOption(new Option('--mode <mode>', 'embedded (in this process) or local (nats-server + coordinator + 2 workers × 1 thread)').choices(['embedded', 'local']).default('local'))
  .option('--vs-dask', 'run the same shapes on a Dask LocalCluster (needs python3-distributed)')
  .option('--vs-bullmq', 'run throughput, latency and the two chain shapes on BullMQ (needs redis-server; starts its own)')
  .option('--json <file>', 'write all results, with the machine, as JSON')
  .option('--svg <file>', 'write the task-lag chart as SVG')
  .option('--quick', 'small sizes: the whole suite in a minute or two')
  .option('--warm-up <seconds>', 'seconds of mixed work the cluster (and each peer) does before the first scenario, so that V8 has compiled what runs (default: 20, quick: 5)', nonNegativeInt('--warm-up'))
  .addOption(otlpOption())
  .addOption(logLevelOption().default('warn'))
  .action(async (names: string[], opts: Parameters<typeof benchCommand>[1]) => {
    const { benchCommand } = await import('./commands/bench.ts');
    process.exitCode = await benchCommand(names, opts);
  });

/**
 * The role whose V8 flags (node-flags.ts) a command's process must start with, by starting
 * itself again with them (relaunch.ts) unless they are given: `run` and `bench` run a
 * client, `coordinator` the coordinator, and `worker --no-nanny` a worker node (a nanny's
 * child is started with them). So a cluster started by hand, in a container or on many
 * hosts runs as `floe local` and the bench do.
 */
function roleOf(argv: readonly string[]): ClusterRole | undefined {
  const command = argv[2];
  if (command === 'run' || command === 'bench') return 'client';
  if (command === 'coordinator') return 'coordinator';
  if (command === 'worker' && argv.includes('--no-nanny')) return 'worker';
  return undefined;
}

const role = roleOf(process.argv);
const roleFlags = role === undefined ? [] : clusterNodeFlags(role);
if (roleFlags.length > 0) {
  process.exitCode = await relaunch(roleFlags, role === 'worker' ? withWorkerMallocEnv(process.env) : process.env);
} else {
  watchRelauncher();
  const stopWatchingParent = exitWithParent();
  await program.parseAsync(process.argv);
  stopWatchingParent();
}
