/**
 * The embedded default: coordinator, worker node(s) and client in this process, on the
 * in-process bus and data plane, with a real Piscina pool per worker. Same code paths
 * as a cluster, different transport.
 */
import { availableParallelism } from 'node:os';
import { Coordinator } from '../coordinator/coordinator.ts';
import { InprocDataPlane } from '../dataplane/inproc.ts';
import { FloeError } from '../errors.ts';
import { checkResources, parseSize } from '../graph/validate-options.ts';
import { checkSchedulerConfig } from '../scheduler/config.ts';
import type { SchedulerConfig } from '../scheduler/types.ts';
import { InprocBus } from '../transport/inproc/bus.ts';
import type { Logger } from '../util/logger.ts';
import { InlineExecutor } from '../worker/executor.ts';
import type { Executor } from '../worker/executor.ts';
import { PoolExecutor } from '../worker/executor-pool.ts';
import { memoryPolicyOf } from '../worker/memory.ts';
import { WorkerNode } from '../worker/node.ts';
import { Client } from './client.ts';
import { checkDirectSubmit } from './direct.ts';

export interface LocalOptions {
  /** Worker nodes in this process. Default 1. */
  workers?: number;
  /** Pool threads per worker. Default: available cores. */
  threads?: number;
  /** 'pool' (Piscina threads, default) or 'inline' (main thread; for debugging). */
  executor?: 'pool' | 'inline';
  /** Module URL each pool thread imports first, e.g. to register an OpenTelemetry SDK there (see PoolExecutorOptions). */
  threadSetup?: string;
  /** Resources each worker declares, e.g. { gpu: 1, memory: '8GiB' } (amounts, or sizes as task resources take them). */
  resources?: Record<string, number | string>;
  scheduler?: Partial<SchedulerConfig>;
  logger?: Logger;
  /**
   * Memory limit of each worker's results, in bytes or as a size ('512MiB'): past 60% of it
   * results spill to disk, past 80% the worker takes no new work. Default: no limit.
   */
  memoryLimit?: number | string;
  /** Fraction of memoryLimit past which results spill to disk. Default 0.6. */
  memoryTargetFraction?: number;
  /** Fraction of memoryLimit past which a worker takes no new work. Default 0.8. */
  memoryPauseFraction?: number;
  /**
   * Send a lone task (no inputs, submitted on its own) straight to the worker that made
   * this client's latest result, which starts it at once if it has a free thread: one hop
   * less per sequential task (see client/direct.ts). The coordinator still owns the task.
   * Default true.
   */
  directSubmit?: boolean;
}

const KNOWN = new Set(['workers', 'threads', 'executor', 'resources', 'scheduler', 'logger', 'memoryLimit', 'memoryTargetFraction', 'memoryPauseFraction', 'threadSetup', 'directSubmit']);

/** Everything an embedded client owns; exposed for tests and `floe status`. */
export interface LocalCluster {
  coordinator: Coordinator;
  workers: WorkerNode[];
  /** The in-process bus everything talks over (tests connect to it to send raw messages). */
  bus: InprocBus;
  /** Cluster name used in subjects. */
  cluster: string;
}

const clusters = new WeakMap<Client, LocalCluster>();

export function localClusterOf(client: Client): LocalCluster | undefined {
  return clusters.get(client);
}

export async function startLocal(options: LocalOptions = {}): Promise<Client> {
  validateLocalOptions(options);
  const memoryLimitBytes = options.memoryLimit === undefined ? undefined : parseSize(options.memoryLimit, 'options.memoryLimit');
  if (memoryLimitBytes !== undefined && (!Number.isSafeInteger(memoryLimitBytes) || memoryLimitBytes < 1)) {
    throw new FloeError('INVALID_OPTION', `options.memoryLimit must be at least 1 byte (got ${String(options.memoryLimit)})`);
  }
  // The workers' memory options, validated here, before anything starts.
  const memory = { memoryLimitBytes, memoryTargetFraction: options.memoryTargetFraction, memoryPauseFraction: options.memoryPauseFraction };
  memoryPolicyOf(memory, { limit: 'options.memoryLimit', target: 'options.memoryTargetFraction', pause: 'options.memoryPauseFraction' });
  const resources = options.resources === undefined ? {} : checkResources(options.resources, 'options.resources');
  const cluster = 'local';
  const bus = new InprocBus();
  const dataPlane = new InprocDataPlane();
  const coordinator = new Coordinator({
    transport: bus.connect(),
    cluster,
    ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    // Its client lives and dies with this process; others on the bus (tests) may set their own.
    clientTimeoutMs: 0,
  });
  coordinator.start();
  const threads = options.threads ?? availableParallelism();
  const workers: WorkerNode[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const executor: Executor = options.executor === 'inline' ? new InlineExecutor() : new PoolExecutor({ threads, ...(options.threadSetup === undefined ? {} : { threadSetup: options.threadSetup }) });
    workers.push(
      new WorkerNode({
        transport: bus.connect(),
        cluster,
        executor,
        dataPlane: dataPlane.peer(),
        workerId: `local-${i}`,
        resources,
        ...(options.logger ? { logger: options.logger } : {}),
        ...memory,
      }),
    );
  }
  await Promise.all(workers.map((w) => w.start()));
  const client = new Client({
    transport: bus.connect(),
    dataPlane: dataPlane.peer(),
    cluster,
    heartbeatIntervalMs: 0,
    ...(options.directSubmit === undefined ? {} : { directSubmit: options.directSubmit }),
    onClose: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await coordinator.close();
    },
  });
  clusters.set(client, { coordinator, workers, bus, cluster });
  return client;
}

function validateLocalOptions(options: LocalOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new FloeError('INVALID_OPTION', 'Client.local(options): options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new FloeError('INVALID_OPTION', `options.${key} is not a Client.local option`);
  }
  const positive = (name: 'workers' | 'threads'): void => {
    const v = options[name];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) {
      throw new FloeError('INVALID_OPTION', `options.${name} must be a positive integer (got ${String(v)})`);
    }
  };
  positive('workers');
  positive('threads');
  if (options.executor !== undefined && options.executor !== 'pool' && options.executor !== 'inline') {
    throw new FloeError('INVALID_OPTION', `options.executor must be 'pool' or 'inline' (got ${String(options.executor)})`);
  }
  checkDirectSubmit(options.directSubmit);
  if (options.scheduler !== undefined) checkSchedulerConfig(options.scheduler, 'options.scheduler');
}
