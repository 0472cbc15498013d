/**
 * `Client.connect()`: a client of a running cluster, over NATS for control messages
 * and gRPC for results. Same API as the embedded client.
 */
import { GrpcDataPlane } from '../dataplane/grpc.ts';
import { FloeError } from '../errors.ts';
import { connectNats, type NatsOptions } from '../transport/nats/nats-transport.ts';
import type { Logger } from '../util/logger.ts';
import type { Transport } from '../transport/transport.ts';
import { Client } from './client.ts';
import { checkDirectSubmit } from './direct.ts';
import { heartbeatInterval } from './coordinator-link.ts';

export interface ConnectOptions {
  /** NATS server URL(s), or full connection options (auth, TLS). */
  nats: string | string[] | NatsOptions;
  /** Cluster name: several clusters can share one NATS. Default 'default'. */
  cluster?: string;
  /** How long to wait for the coordinator to accept a graph. Default 30 s. */
  submitTimeoutMs?: number;
  /**
   * Send a lone task (no inputs, submitted on its own) straight to the worker that made
   * this client's latest result, which starts it at once if it has a free thread: one hop
   * less per sequential task (see client/direct.ts). The coordinator still owns the task.
   * Default true.
   */
  directSubmit?: boolean;
  /**
   * How often an idle client tells the coordinator it is alive; a client silent past the
   * coordinator's client timeout (60 s by default) is dropped. 0: never. Default 2 s.
   */
  heartbeatIntervalMs?: number;
  logger?: Logger;
}

export const DEFAULT_CLUSTER = 'default';

const CONNECT_OPTIONS = new Set(['nats', 'cluster', 'submitTimeoutMs', 'directSubmit', 'heartbeatIntervalMs', 'logger']);

/**
 * `wrap` (internal: bench/lag-timeline.ts) gives the client its transport through a wrapper,
 * to watch what it sends; the connection itself is closed with the client as usual.
 */
export async function connectClient(options: ConnectOptions, wrap: (transport: Transport) => Transport = (t) => t): Promise<Client> {
  if (typeof options !== 'object' || options === null) {
    throw new FloeError('INVALID_OPTION', 'Client.connect(options): options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!CONNECT_OPTIONS.has(key)) {
      throw new FloeError('INVALID_OPTION', `options.${key} is not a Client.connect option (they are: ${[...CONNECT_OPTIONS].join(', ')}; NATS settings go in options.nats)`);
    }
  }
  const timeoutMs = options.submitTimeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1)) {
    throw new FloeError('INVALID_OPTION', `options.submitTimeoutMs must be a number of milliseconds, 1 or more (got ${String(timeoutMs)})`);
  }
  const cluster = options.cluster ?? DEFAULT_CLUSTER;
  if (!/^[\w-]+$/.test(cluster)) {
    throw new FloeError('INVALID_OPTION', `options.cluster must be letters, digits, '-' or '_' (got ${cluster})`);
  }
  heartbeatInterval(options.heartbeatIntervalMs);
  checkDirectSubmit(options.directSubmit);
  const natsOptions: NatsOptions =
    typeof options.nats === 'string' || Array.isArray(options.nats) ? { servers: options.nats } : options.nats;
  const transport = await connectNats({ name: 'floe-client', ...natsOptions, ...(options.logger ? { logger: options.logger } : {}) });
  const dataPlane = new GrpcDataPlane(options.logger ? { logger: options.logger } : {});
  return new Client({
    transport: wrap(transport),
    dataPlane,
    cluster,
    ...(options.submitTimeoutMs !== undefined ? { submitTimeoutMs: options.submitTimeoutMs } : {}),
    ...(options.directSubmit !== undefined ? { directSubmit: options.directSubmit } : {}),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    onClose: async () => {
      await dataPlane.close();
      await transport.close();
    },
  });
}
