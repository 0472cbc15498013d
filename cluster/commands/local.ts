/**
 * `floe local`: a cluster on this machine until Ctrl-C or SIGTERM.
 */
import { shutdownSignal } from '../common.ts';
import { startLocalCluster } from '../local-cluster.ts';

export interface LocalCommandOptions {
  workers: number;
  threads?: number;
  nats?: string;
  cluster: string;
  logLevel: string;
  otlp?: string;
}

export async function localCommand(opts: LocalCommandOptions): Promise<number> {
  const stopping = shutdownSignal();
  let handle;
  try {
    handle = await startLocalCluster({
      workers: opts.workers,
      cluster: opts.cluster,
      logLevel: opts.logLevel,
      ...(opts.otlp !== undefined ? { otlp: opts.otlp } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      ...(opts.nats !== undefined ? { nats: opts.nats } : {}),
    });
  } catch (error) {
    console.error(`floe local: ${(error as Error).message}`);
    return 1;
  }
  console.log(`floe local: cluster '${handle.cluster}' is up: NATS ${handle.url}, 1 coordinator, ${opts.workers} workers`);
  console.log(`  run a flow:   floe run flow.ts --nats ${handle.url}`);
  console.log(`  status:       floe status --nats ${handle.url}`);
  console.log(`  from code:    await Client.connect({ nats: '${handle.url}' })`);
  console.log('  Ctrl-C stops everything.');
  const signal = await stopping;
  console.log(`floe local: ${signal}: stopping`);
  await handle.stop();
  return 0;
}
