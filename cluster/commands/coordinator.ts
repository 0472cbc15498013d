/**
 * `floe coordinator`: the scheduler process of a cluster, on NATS.
 */
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { connectNats } from '../../src/transport/nats/nats-transport.ts';
import { makeLogger, shutdownSignal } from '../common.ts';
import { startTelemetry } from '../telemetry.ts';

export interface CoordinatorCommandOptions {
  nats: string;
  cluster: string;
  heartbeatTimeout: number;
  clientTimeout: number;
  workerSaturation: number;
  stealing: boolean;
  /** False with --no-probes. */
  probes: boolean;
  earlyPerWorker: number;
  logLevel: string;
  otlp?: string;
}

export async function coordinatorCommand(opts: CoordinatorCommandOptions): Promise<number> {
  // Before the coordinator exists: its metric instruments come from the provider registered now.
  const telemetry = await startTelemetry('floe-coordinator', opts.otlp);
  const logger = makeLogger('floe-coordinator', opts.logLevel);
  const transport = await connectNats({ servers: opts.nats.split(','), name: 'floe-coordinator', logger });
  const coordinator = new Coordinator({
    transport,
    cluster: opts.cluster,
    logger,
    heartbeatTimeoutMs: opts.heartbeatTimeout,
    clientTimeoutMs: opts.clientTimeout,
    probes: opts.probes,
    scheduler: { workerSaturation: opts.workerSaturation, stealing: opts.stealing, earlyPerWorker: opts.earlyPerWorker },
  });
  coordinator.start();
  await transport.flush();
  logger.info({ nats: opts.nats, cluster: opts.cluster }, 'coordinator ready');
  const signal = await shutdownSignal();
  logger.info({ signal }, 'coordinator stopping');
  await coordinator.close();
  await transport.close();
  await telemetry?.shutdown();
  return 0;
}
