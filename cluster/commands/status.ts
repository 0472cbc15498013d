/**
 * `floe status`: asks the coordinator for a snapshot and prints it.
 */
import { requestClusterStatus } from '../../src/client/cluster-status.ts';
import { subjects, type WireClusterStatus } from '../../src/transport/messages.ts';
import { connectNats } from '../../src/transport/nats/nats-transport.ts';
import { makeLogger } from '../common.ts';
import { startTelemetry } from '../telemetry.ts';

export interface StatusCommandOptions {
  nats: string;
  cluster: string;
  json?: boolean;
  timeout: number;
  otlp?: string;
  logLevel: string;
}

export async function fetchStatus(nats: string, cluster: string, timeoutMs: number): Promise<WireClusterStatus> {
  const transport = await connectNats({ servers: nats.split(','), name: 'floe-status' });
  try {
    return await requestClusterStatus(transport, subjects(cluster).status, timeoutMs);
  } finally {
    await transport.close();
  }
}

export async function statusCommand(opts: StatusCommandOptions): Promise<number> {
  const telemetry = await startTelemetry('floe-client', opts.otlp);
  const logger = makeLogger('floe-status', opts.logLevel);
  let status: WireClusterStatus;
  try {
    status = await fetchStatus(opts.nats, opts.cluster, opts.timeout);
  } catch (error) {
    logger.error({ nats: opts.nats, cluster: opts.cluster, err: error }, 'no coordinator answered');
    console.error(`floe status: no coordinator answered for cluster '${opts.cluster}' at ${opts.nats}: ${(error as Error).message}`);
    return 1;
  } finally {
    await telemetry?.shutdown();
  }
  if (opts.json === true) {
    console.log(JSON.stringify(status));
    return 0;
  }
  console.log(formatStatus(status));
  return 0;
}

export function formatStatus(status: WireClusterStatus): string {
  const lines: string[] = [];
  lines.push(`clients: ${status.clients}   workers: ${status.workers.length}`);
  const tasks = Object.entries(status.tasks).filter(([, n]) => n > 0);
  lines.push(`tasks: ${tasks.length === 0 ? 'none' : tasks.map(([s, n]) => `${s}=${n}`).join('  ')}`);
  lines.push('');
  lines.push(['worker', 'threads', 'running', 'in flight', 'keys held', 'held MB', 'rss MB', 'heartbeat', 'started over', 'resources'].join('\t'));
  for (const w of status.workers) {
    const m = w.metrics;
    const resources = Object.entries(w.resources).map(([k, v]) => `${k}=${v}`).join(',') || '-';
    lines.push(
      [
        `${w.name === w.id ? w.id : `${w.name} (${w.id})`}${w.retiring ? ', retiring' : ''}`,
        w.threads,
        m?.executing ?? '-',
        w.processing,
        w.held,
        m ? (m.heldBytes / 1e6).toFixed(1) : '-',
        m ? (m.rssBytes / 1e6).toFixed(0) : '-',
        // How long ago the numbers of `running`, `held MB` and `rss MB` came.
        m ? `${(w.metricsAgeMs / 1000).toFixed(1)} s ago` : '-',
        // Times the coordinator had it start over (declared lost, then back): 1 less than its incarnation.
        Math.max(0, w.epoch - 1),
        resources,
      ].join('\t'),
    );
  }
  if (status.waiting.length > 0) {
    lines.push('');
    lines.push('waiting:');
    for (const w of status.waiting.slice(0, 50)) lines.push(`  ${w.id}: ${w.reason}`);
    if (status.waiting.length > 50) lines.push(`  ... and ${status.waiting.length - 50} more`);
  }
  return lines.join('\n');
}
