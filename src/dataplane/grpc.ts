/**
 * Cluster data plane: results move directly between worker processes over gRPC
 * (server-streaming `floe.v1.DataPlane/Fetch`, chunked and backpressured).
 *
 * Error contract of `fetch()` (codes, never message text):
 * - RESULT_UNAVAILABLE: the holder does not have the id, or the stream was truncated;
 * - WORKER_LOST (retryable): the holder is unreachable, died mid-stream, timed out, or is
 *   over its `streamsMax` (RESOURCE_EXHAUSTED); the message names the address;
 * - CANCELLED: the caller's signal aborted;
 * - CLIENT_CLOSED: this data plane was closed;
 * - MALFORMED_MESSAGE: the holder sent an inconsistent stream;
 * - INTERNAL: any other gRPC status, with its details.
 *
 * Throughput: grpc-js defaults (64 KiB HTTP/2 windows, 4 MiB messages) reach only a
 * fraction of a raw TCP copy; we raise the client's flow-control window and send
 * 1 MiB chunks (see GRPC_CHANNEL_OPTIONS and bench/transfer.ts).
 */
import {
  Client,
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { FloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { silentLogger, type Logger } from '../util/logger.ts';
import type { DataPlane, DirectEvents, DirectStream, DirectSubmission, FetchOptions, FetchedObject, ObjectSource, PutRequest } from './dataplane.ts';
import { DIRECT_METHOD, DIRECT_SUBMIT_BYTES_MAX, directHandler, openDirectCall } from './grpc-direct.ts';
import { fetchHandler, TRACEPARENT_KEY } from './grpc-server.ts';
import { PUT_MESSAGE_BYTES_MAX, PUT_METHOD, putHandler, sendPut, widenReceiveWindows } from './grpc-put.ts';
import { activeTraceparent } from '../telemetry/trace.ts';
import { copyIntoShared } from './shared-copy.ts';
import {
  DATA_PLANE_SERVICE,
  FETCH_PATH,
  FETCH_VERSION,
  chunkTotalBytes,
  deserializeChunk,
  errorFromStatus,
  serializeRequest,
  type FetchChunkIn,
} from './grpc-wire.ts';

export interface GrpcDataPlaneOptions {
  /** Interface to bind (default '127.0.0.1'; '0.0.0.0' or '::' for all). */
  host?: string;
  /** Port to bind; 0 picks any free port (default 0). */
  port?: number;
  /** Host that other processes use to reach this one (default: `host`). */
  advertiseHost?: string;
  /** Bytes per streamed chunk (default 1 MiB, 4 KiB..16 MiB). */
  chunkBytes?: number;
  /** Concurrent Fetch streams served; beyond it callers get WORKER_LOST (default 64). */
  streamsMax?: number;
  /** Grace period for in-flight streams on close() before they are cut (default 5000). */
  closeTimeoutMs?: number;
  /**
   * A fetch that receives nothing for this long fails with WORKER_LOST (default 10000).
   * A holder whose host is cut off sends no reset: without this the fetch would wait
   * for the operating system's TCP timeout (minutes).
   */
  stallTimeoutMs?: number;
  /**
   * Raw grpc-js options merged over floe's tuned defaults, for both the server and the
   * client channels (each ignores what does not apply). An escape hatch for tuning.
   */
  grpcOptions?: ChannelOptions;
  logger?: Logger;
}

export const CHUNK_BYTES_DEFAULT = 1024 * 1024;
export const CHUNK_BYTES_MIN = 4 * 1024;
export const CHUNK_BYTES_MAX = 16 * 1024 * 1024;
export const STREAMS_MAX_DEFAULT = 64;
export const CLOSE_TIMEOUT_MS_DEFAULT = 5000;
export const STALL_TIMEOUT_MS_DEFAULT = 10_000;

/** Room for the protobuf header (total_bytes, serializer ref) around one chunk. */
const CHUNK_OVERHEAD_BYTES = 64 * 1024;

/**
 * HTTP/2 flow control is what limits grpc-js throughput: with the default 64 KiB
 * window the sender stalls once per window for a round trip. 'grpc-node.flow_control_window'
 * sets both the stream's initial window (SETTINGS) and the connection window
 * (setLocalWindowSize) of the client, which is the receiving side here.
 */
const FLOW_CONTROL_WINDOW_BYTES = 64 * 1024 * 1024;

function channelOptions(chunkBytes: number): ChannelOptions {
  return {
    'grpc.max_receive_message_length': chunkBytes + CHUNK_OVERHEAD_BYTES,
    // Fetch requests are a version and an id; direct submissions and put chunks are bounded.
    'grpc.max_send_message_length': Math.max(DIRECT_SUBMIT_BYTES_MAX, PUT_MESSAGE_BYTES_MAX),
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    // A restarted worker on the same address becomes reachable again quickly.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 5000,
    // Our own channel per data plane: close() must not affect other instances.
    'grpc.use_local_subchannel_pool': 1,
    // Notice a silent peer (a host cut off) on idle connections too.
    'grpc.keepalive_time_ms': 5000,
    'grpc.keepalive_timeout_ms': 5000,
    'grpc.keepalive_permit_without_calls': 1,
  };
}

function serverOptions(chunkBytes: number): ChannelOptions {
  return {
    'grpc.max_send_message_length': chunkBytes + CHUNK_OVERHEAD_BYTES,
    // Fetch requests are a version and an id; direct submissions and put chunks are bounded.
    'grpc.max_receive_message_length': Math.max(DIRECT_SUBMIT_BYTES_MAX, PUT_MESSAGE_BYTES_MAX),
    // Accept the clients' keepalive pings (see channelOptions).
    'grpc.http2.min_ping_interval_without_data_ms': 4000,
  };
}

export class GrpcDataPlane implements DataPlane {
  private readonly host: string;
  private readonly port: number;
  private readonly advertiseHost: string;
  private readonly chunkBytes: number;
  private readonly streamsMax: number;
  private readonly closeTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly grpcOptions: ChannelOptions;
  private readonly log: Logger;
  private server: Server | undefined;
  private accept: ((stream: DirectStream<Uint8Array>) => DirectEvents<DirectSubmission>) | undefined;
  private acceptPut: ((put: PutRequest) => Promise<void>) | undefined;
  private readonly clients = new Map<string, Client>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: GrpcDataPlaneOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new FloeError('INVALID_OPTION', 'options must be an object');
    }
    this.host = hostOption('host', options.host ?? '127.0.0.1');
    this.port = intOption('port', options.port ?? 0, 0, 65535);
    this.advertiseHost = hostOption('advertiseHost', options.advertiseHost ?? this.host);
    this.chunkBytes = intOption('chunkBytes', options.chunkBytes ?? CHUNK_BYTES_DEFAULT, CHUNK_BYTES_MIN, CHUNK_BYTES_MAX);
    this.streamsMax = intOption('streamsMax', options.streamsMax ?? STREAMS_MAX_DEFAULT, 1, 1_000_000);
    this.closeTimeoutMs = intOption('closeTimeoutMs', options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS_DEFAULT, 0, 3_600_000);
    this.stallTimeoutMs = intOption('stallTimeoutMs', options.stallTimeoutMs ?? STALL_TIMEOUT_MS_DEFAULT, 1, 3_600_000);
    if (options.grpcOptions !== undefined && (typeof options.grpcOptions !== 'object' || options.grpcOptions === null)) {
      throw new FloeError('INVALID_OPTION', 'options.grpcOptions must be an object of grpc-js channel options');
    }
    this.grpcOptions = { ...options.grpcOptions };
    this.log = options.logger ?? silentLogger;
  }

  /** Starts the gRPC server; resolves to "<advertiseHost>:<port>". One source per instance. */
  async serve(name: string, source: ObjectSource): Promise<string> {
    if (this.closed) throw new FloeError('CLIENT_CLOSED', 'data plane is closed');
    if (this.server !== undefined) {
      throw new FloeError('INVALID_ARGUMENT', `data plane already serves; cannot also serve ${name}`);
    }
    const server = new Server({ ...serverOptions(this.chunkBytes), ...this.grpcOptions });
    const fetch = fetchHandler({ source, chunkBytes: this.chunkBytes, streamsMax: this.streamsMax, logger: this.log });
    const accept = this.accept;
    const acceptPut = this.acceptPut;
    server.addService(
      { ...DATA_PLANE_SERVICE, ...(accept === undefined ? {} : { Direct: DIRECT_METHOD }), ...(acceptPut === undefined ? {} : { Put: PUT_METHOD }) },
      { Fetch: fetch, ...(accept === undefined ? {} : { Direct: directHandler(accept, this.log) }), ...(acceptPut === undefined ? {} : { Put: putHandler(acceptPut, this.log) }) },
    );
    this.server = server;
    const bind = `${bracket(this.host)}:${this.port}`;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(bind, ServerCredentials.createInsecure(), (error, bound) => {
        if (error) reject(new FloeError('INVALID_ARGUMENT', `data plane ${name} cannot listen on ${bind}: ${error.message}`, { cause: error }));
        else resolve(bound);
      });
    }).catch((error: unknown) => {
      this.server = undefined;
      server.forceShutdown();
      throw error;
    });
    if (acceptPut !== undefined && widenReceiveWindows(server) === 0) this.log.warn({ name }, 'data plane: could not widen the HTTP/2 windows of puts (grpc-js changed?); puts go slower');
    const address = `${bracket(this.advertiseHost)}:${port}`;
    this.log.info({ name, bind: `${bracket(this.host)}:${port}`, address }, 'data plane serving');
    return address;
  }

  /** Takes clients' direct streams (grpc-direct.ts); call before `serve`. */
  acceptDirect(accept: (stream: DirectStream<Uint8Array>) => DirectEvents<DirectSubmission>): void {
    this.accept = accept;
  }

  /** Takes clients' puts (grpc-put.ts); call before `serve`. */
  acceptPuts(accept: (put: PutRequest) => Promise<void>): void {
    this.acceptPut = accept;
  }

  /** Puts a value on the worker at `address` (grpc-put.ts), on the channel fetches use. */
  put(address: string, put: PutRequest, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.closed) return Promise.reject(new FloeError('CLIENT_CLOSED', 'data plane is closed'));
    try {
      return sendPut(this.clientFor(address), address, put, traceMetadata(), options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Opens a direct stream to the worker at `address`, on the channel fetches use. */
  openDirect(address: string, events: DirectEvents<Uint8Array>): DirectStream<DirectSubmission> {
    if (this.closed) throw new FloeError('CLIENT_CLOSED', 'data plane is closed');
    return openDirectCall(this.clientFor(address), address, events);
  }

  /** Fetches one result from the data plane at `address` (see the module doc for errors). */
  fetch(address: string, id: string, options: FetchOptions = {}): Promise<FetchedObject> {
    const { signal } = options;
    if (this.closed) return Promise.reject(new FloeError('CLIENT_CLOSED', `data plane is closed; cannot fetch ${id}`));
    if (signal?.aborted) return Promise.reject(cancelled(id, address));
    let client: Client;
    try {
      client = this.clientFor(address);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const call = client.makeServerStreamRequest(
        FETCH_PATH,
        serializeRequest,
        deserializeChunk,
        { version: FETCH_VERSION, id },
        traceMetadata(),
        {},
      );
      const received = new Received(id, address, options.sharedMemory === true);
      let settled = false;
      const settle = (error: FloeError | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(stall);
        signal?.removeEventListener('abort', onAbort);
        if (error !== undefined) {
          call.cancel();
          reject(error);
          return;
        }
        const result = received.result();
        if (result instanceof FloeError) reject(result);
        else resolve(result);
      };
      const onAbort = (): void => settle(cancelled(id, address));
      signal?.addEventListener('abort', onAbort, { once: true });
      const stalled = (): void =>
        settle(new FloeError('WORKER_LOST', `fetch of ${id} from ${address}: nothing received for ${this.stallTimeoutMs} ms`));
      let stall = setTimeout(stalled, this.stallTimeoutMs);

      call.on('data', (chunk: FetchChunkIn) => {
        if (settled) return;
        clearTimeout(stall);
        stall = setTimeout(stalled, this.stallTimeoutMs);
        const error = received.add(chunk);
        if (error !== undefined) settle(error);
      });
      call.on('error', (error: ServiceError) => {
        if (this.closed) settle(new FloeError('CLIENT_CLOSED', `data plane closed while fetching ${id}`, { cause: error }));
        else settle(errorFromStatus(error, address, id));
      });
      call.on('end', () => settle(undefined));
    });
  }

  /** Stops serving (in-flight streams get `closeTimeoutMs`) and closes all channels. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ closeTimeoutMs: this.closeTimeoutMs }, 'data plane: streams still open at close; cutting them');
        server.forceShutdown();
        resolve();
      }, this.closeTimeoutMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private clientFor(address: string): Client {
    let client = this.clients.get(address);
    if (client === undefined) {
      if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(address)) {
        throw new FloeError('INVALID_ARGUMENT', `data plane address must be "host:port" (got ${JSON.stringify(address)})`);
      }
      client = new Client(address, credentials.createInsecure(), {
        ...channelOptions(this.chunkBytes),
        ...this.grpcOptions,
      });
      this.clients.set(address, client);
    }
    return client;
  }
}

/** The chunks of one fetched object, copied into one buffer of the size its first chunk announces. */
class Received {
  private out: Uint8Array | undefined;
  private serializer: SerializerRef | undefined;
  private bytes = 0;

  constructor(
    private readonly id: string,
    private readonly address: string,
    /** Into a SharedArrayBuffer (see FetchOptions.sharedMemory). */
    private readonly shared: boolean,
  ) {}

  /** Takes one chunk; an error if the stream is inconsistent (it is then to be cut). */
  add(chunk: FetchChunkIn): FloeError | undefined {
    const { id, address } = this;
    if (this.out === undefined) {
      const total = chunkTotalBytes(chunk);
      if (!Number.isSafeInteger(total) || total < 0 || !chunk.serializer) {
        return new FloeError('MALFORMED_MESSAGE', `first chunk of ${id} from ${address} has no valid header`);
      }
      // One allocation of the announced size; every chunk is copied into it once.
      this.out = new Uint8Array(this.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total));
      this.serializer = { id: chunk.serializer.id, module: chunk.serializer.module };
    }
    const out = this.out;
    if (this.bytes + chunk.data.byteLength > out.byteLength) {
      return new FloeError('MALFORMED_MESSAGE', `${id} from ${address} is longer than its ${out.byteLength} bytes`);
    }
    if (this.shared) copyIntoShared(out, chunk.data, this.bytes);
    else out.set(chunk.data, this.bytes);
    this.bytes += chunk.data.byteLength;
    return undefined;
  }

  /** The object once the stream has ended, or why it is not whole. */
  result(): FetchedObject | FloeError {
    const { id, address, out, serializer } = this;
    if (out === undefined || serializer === undefined) {
      return new FloeError('RESULT_UNAVAILABLE', `fetch of ${id} from ${address} ended without data (truncated)`);
    }
    if (this.bytes !== out.byteLength) {
      return new FloeError('RESULT_UNAVAILABLE', `fetch of ${id} from ${address} truncated: ${this.bytes} of ${out.byteLength} bytes`);
    }
    return { serializer, bytes: out };
  }
}

/** Call metadata carrying the active span's traceparent (empty when untraced). */
function traceMetadata(): Metadata {
  const metadata = new Metadata();
  const traceParent = activeTraceparent();
  if (traceParent !== '') metadata.set(TRACEPARENT_KEY, traceParent);
  return metadata;
}

function cancelled(id: string, address: string): FloeError {
  return new FloeError('CANCELLED', `fetch of ${id} from ${address} was cancelled`);
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FloeError('INVALID_OPTION', `options.${name} must be an integer in ${min}..${max} (got ${String(value)})`);
  }
  return value;
}

function hostOption(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || /[\s/]/.test(value)) {
    throw new FloeError('INVALID_OPTION', `options.${name} must be a non-empty host name or IP (got ${JSON.stringify(value)})`);
  }
  return value;
}
