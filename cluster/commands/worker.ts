/**
 * `floe worker`: a worker node: a Piscina pool, an object store served over gRPC,
 * and a NATS connection to the coordinator.
 */
import { availableParallelism } from 'node:os';
import { GrpcDataPlane } from '../../src/dataplane/grpc.ts';
import { parseSize } from '../../src/graph/validate-options.ts';
import { connectNats } from '../../src/transport/nats/nats-transport.ts';
import { PoolExecutor } from '../../src/worker/executor-pool.ts';
import { WorkerNode } from '../../src/worker/node.ts';
import { makeLogger, parseResources, shutdownSignal } from '../common.ts';

export interface WorkerCommandOptions {
  nats: string;
  cluster: string;
  threads?: number;
  memoryLimit?: string;
  name?: string;
  resources?: string;
  host: string;
  port: number;
  advertiseHost?: string;
  heartbeatInterval: number;
  retireTimeout: number;
  logLevel: string;
}

export async function workerCommand(opts: WorkerCommandOptions): Promise<number> {
  const logger = makeLogger('floe-worker', opts.logLevel);
  const resources = parseResources(opts.resources ?? '', parseSize);
  const memoryLimitBytes = opts.memoryLimit === undefined ? undefined : parseSize(opts.memoryLimit, '--memory-limit');
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
    executor: new PoolExecutor({ threads }),
    dataPlane,
    resources,
    logger,
    heartbeatIntervalMs: opts.heartbeatInterval,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
  });
  await node.start();
  logger.info({ workerId: node.workerId, threads, resources }, 'worker ready');
  const signal = await shutdownSignal();
  if (opts.retireTimeout > 0) {
    logger.info({ signal }, 'worker retiring: handing its work and results to other workers');
    const retired = await node.retire(opts.retireTimeout);
    if (!retired) logger.warn({ timeoutMs: opts.retireTimeout }, 'retirement not confirmed in time; leaving anyway');
  }
  logger.info({ signal }, 'worker stopping');
  await node.close();
  await transport.close();
  return 0;
}
