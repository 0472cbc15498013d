/**
 * `floe worker`: a worker node: a Piscina pool, an object store served over gRPC,
 * and a NATS connection to the coordinator. By default the process is a nanny (see
 * ../nanny.ts) that runs the worker node as a child process and restarts it when it
 * crashes; `--no-nanny` runs the node in this process.
 */
import { availableParallelism } from 'node:os';
import { GrpcDataPlane } from '../../src/dataplane/grpc.ts';
import { parseSize } from '../../src/graph/validate-options.ts';
import { connectNats } from '../../src/transport/nats/nats-transport.ts';
import { PoolExecutor } from '../../src/worker/executor-pool.ts';
import { memoryPolicyOf } from '../../src/worker/memory.ts';
import { WorkerNode } from '../../src/worker/node.ts';
import { makeLogger, parseResources, shutdownSignal } from '../common.ts';
import { runNanny, watchNanny } from '../nanny.ts';
import { clusterNodeFlags } from '../node-flags.ts';
import { startTelemetry } from '../telemetry.ts';

export interface WorkerCommandOptions {
  nats: string;
  cluster: string;
  threads?: number;
  memoryLimit?: string;
  memoryTarget?: number;
  memoryPause?: number;
  spillDir?: string;
  name?: string;
  resources?: string;
  host: string;
  port: number;
  advertiseHost?: string;
  heartbeatInterval: number;
  retireTimeout: number;
  logLevel: string;
  otlp?: string;
  /** false with --no-nanny: run the worker node in this process, unsupervised. */
  nanny: boolean;
  restartsMax: number;
  restartsWindow: number;
}

export async function workerCommand(opts: WorkerCommandOptions): Promise<number> {
  if (opts.nanny) return nannyCommand(opts);
  const telemetry = await startTelemetry('floe-worker', opts.otlp);
  const logger = makeLogger('floe-worker', opts.logLevel);
  const resources = parseResources(opts.resources ?? '', parseSize);
  const memoryLimitBytes = checkMemoryOptions(opts);
  if (memoryLimitBytes !== undefined) resources.memory ??= memoryLimitBytes;
  const threads = opts.threads ?? availableParallelism();
  const transport = await connectNats({ servers: opts.nats.split(','), name: `floe-worker-${opts.name ?? ''}`, logger });
  const dataPlane = new GrpcDataPlane({
    host: opts.host,
    port: opts.port,
    ...(opts.advertiseHost !== undefined ? { advertiseHost: opts.advertiseHost } : {}),
    logger,
  });
  const node = new WorkerNode({
    transport,
    cluster: opts.cluster,
    executor: new PoolExecutor({ threads, ...(telemetry === undefined ? {} : { threadSetup: telemetry.threadSetup }) }),
    dataPlane,
    resources,
    logger,
    heartbeatIntervalMs: opts.heartbeatInterval,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
    ...(opts.memoryTarget !== undefined ? { memoryTargetFraction: opts.memoryTarget } : {}),
    ...(opts.memoryPause !== undefined ? { memoryPauseFraction: opts.memoryPause } : {}),
    ...(opts.spillDir !== undefined ? { spillDir: opts.spillDir } : {}),
  });
  await node.start();
  logger.info({ workerId: node.workerId, threads, resources }, 'worker ready');
  // A nanny that is gone (even SIGKILLed) must not leave this process behind: leave at
  // once, with a goodbye so the coordinator reschedules without waiting for heartbeats.
  const signal = await Promise.race([shutdownSignal(), watchNanny()]);
  if (opts.retireTimeout > 0 && signal !== 'nanny exited') {
    logger.info({ signal }, 'worker retiring: handing its work and results to other workers');
    const retired = await node.retire(opts.retireTimeout);
    if (!retired) logger.warn({ timeoutMs: opts.retireTimeout }, 'retirement not confirmed in time; leaving anyway');
  }
  logger.info({ signal }, 'worker stopping');
  await node.close();
  await transport.close();
  await telemetry?.shutdown();
  return 0;
}

/** The supervisor: checks what it can up front (a bad option should not crash-loop), then runs the child. */
async function nannyCommand(opts: WorkerCommandOptions): Promise<number> {
  const logger = makeLogger('floe-nanny', opts.logLevel);
  parseResources(opts.resources ?? '', parseSize);
  checkMemoryOptions(opts);
  const script = process.argv[1];
  if (script === undefined) throw new Error('floe worker: cannot tell which script to run the worker with');
  return runNanny({
    command: [process.execPath, ...process.execArgv, ...clusterNodeFlags('worker'), script, ...process.argv.slice(2), '--no-nanny'],
    logger,
    restartsMax: opts.restartsMax,
    restartsWindowMs: opts.restartsWindow,
  });
}

/** The memory flags, checked together as the worker node will take them (named as flags); the limit in bytes. */
function checkMemoryOptions(opts: WorkerCommandOptions): number | undefined {
  const memoryLimitBytes = opts.memoryLimit === undefined ? undefined : parseSize(opts.memoryLimit, '--memory-limit');
  memoryPolicyOf(
    { memoryLimitBytes, memoryTargetFraction: opts.memoryTarget, memoryPauseFraction: opts.memoryPause },
    { limit: '--memory-limit', target: '--memory-target', pause: '--memory-pause' },
  );
  return memoryLimitBytes;
}
