/**
 * The Transport over a real NATS server (core NATS: at-most-once, no JetStream).
 *
 * Semantics match the in-process bus: exact subjects, asynchronous delivery, requests
 * that reject with REQUEST_TIMEOUT on timeout or when nobody listens. On top of that:
 * - the payload limit is the server's `max_payload`, checked here so an oversized
 *   message is a LIMIT_EXCEEDED error instead of the server dropping the connection;
 * - the connection reconnects forever; `onReconnect` listeners run once the server
 *   knows our subscriptions again, so they may re-announce state right away.
 *
 * What a server restart loses (core NATS keeps nothing): messages in flight, and
 * messages published by this client while disconnected. nats.js buffers those, but
 * every reconnect attempt starts with an empty outbound buffer, so in practice they
 * are dropped. Subscriptions survive (nats.js re-sends them on reconnect); messages
 * others published while we were away are not replayed. A request in flight gets no
 * answer and rejects with REQUEST_TIMEOUT.
 */
import {
  AuthorizationError,
  ClosedConnectionError,
  connect,
  ConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  RequestError,
  UserAuthenticationExpiredError,
  type Msg,
  type NatsConnection,
  type Subscription as NatsSubscription,
} from '@nats-io/transport-node';
import { FloeError, isFloeError } from '../../errors.ts';
import { idleGc } from '../../util/idle-gc.ts';
import type { Logger } from '../../util/logger.ts';
import type { Headers, RequestOptions, Subscription, Transport, TransportMessage } from '../transport.ts';
import { encodedHeaderBytes, fromNatsHeaders, toNatsHeaders } from './headers.ts';
import { resolveNatsOptions, type NatsOptions } from './options.ts';
import { NatsRequests } from './requests.ts';

export type { NatsOptions, NatsTlsOptions } from './options.ts';

/**
 * Connects to NATS. Bad options throw INVALID_OPTION naming the option; a first
 * connection that fails (refused, unreachable, handshake timeout) throws
 * REQUEST_TIMEOUT naming the servers, retryable since the server may just not be up
 * yet; rejected credentials throw REQUEST_TIMEOUT with `retryable: false`.
 */
export async function connectNats(options: NatsOptions): Promise<NatsTransport> {
  const resolved = resolveNatsOptions(options);
  let nc: NatsConnection;
  try {
    nc = await connect(resolved.connection);
  } catch (error) {
    const auth = error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError;
    throw new FloeError(
      'REQUEST_TIMEOUT',
      `cannot connect to NATS at ${resolved.servers.join(', ')}: ${describe(error)}`,
      { cause: error, retryable: !auth },
    );
  }
  return new NatsTransport(nc, resolved.logger);
}

export class NatsTransport implements Transport {
  private readonly reconnectListeners: Array<() => void> = [];
  private readonly subs = new Set<NatsSubscription>();
  private lastMaxPayloadBytes: number;
  private closing: Promise<void> | undefined;
  private readonly statusDone: Promise<void>;
  private readonly requests: NatsRequests;

  /** @internal Use {@link connectNats}. */
  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {
    this.lastMaxPayloadBytes = nc.info?.max_payload ?? 1024 * 1024;
    this.requests = new NatsRequests(nc);
    this.statusDone = this.watchStatus();
  }

  /**
   * The connected server's `max_payload`. While disconnected it is the last known value
   * (nats.js forgets the server INFO then and would not check at all).
   */
  get maxPayloadBytes(): number {
    return this.lastMaxPayloadBytes;
  }

  /** Whether the connected server says it is in a cluster (its INFO names one, or other servers' URLs). */
  clustered(): boolean {
    const info = this.nc.info;
    return info?.cluster !== undefined || (info?.connect_urls?.length ?? 0) > 0;
  }

  /** The server we are connected to (`host:port`), for logs. */
  get server(): string {
    return this.nc.getServer();
  }

  publish(subject: string, data: Uint8Array, headers?: Headers): void {
    this.checkOpen();
    idleGc.touch();
    this.checkSize(subject, data, headers);
    const natsHeaders = this.convertHeaders(headers);
    this.guard(subject, () => {
      this.nc.publish(subject, data, natsHeaders === undefined ? undefined : { headers: natsHeaders });
    });
  }

  relay(subject: string, data: Uint8Array, request: TransportMessage): void {
    this.checkOpen();
    idleGc.touch();
    this.checkSize(subject, data, undefined);
    const reply = request.replyTo;
    this.guard(subject, () => {
      this.nc.publish(subject, data, reply === undefined ? undefined : { reply });
    });
  }

  subscribe(subject: string, handler: (msg: TransportMessage) => void): Subscription {
    this.checkOpen();
    const sub = this.guard(subject, () =>
      this.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err !== null) {
            // Only permission violations end a callback subscription; say so loudly.
            this.logger.error({ subject, err: describe(err) }, 'nats subscription ended with an error');
            this.subs.delete(sub);
            return;
          }
          this.dispatch(subject, msg, handler);
        },
      }),
    );
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        if (!this.subs.delete(sub)) return;
        if (!this.nc.isClosed()) sub.unsubscribe();
      },
    };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<TransportMessage> {
    this.checkOpen();
    idleGc.touch();
    const { timeoutMs } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 1) {
      throw new FloeError('INVALID_ARGUMENT', `request timeoutMs must be a number >= 1, got ${String(timeoutMs)}`);
    }
    this.checkSize(subject, data, options.headers);
    const natsHeaders = this.convertHeaders(options.headers);
    let reply: Msg;
    try {
      reply = await this.requests.request(subject, data, Math.ceil(timeoutMs), natsHeaders, options.sendVia);
    } catch (error) {
      throw this.mapError(subject, error);
    }
    return this.message(reply);
  }

  /**
   * Resolves once the server has seen everything published so far (a PING round trip).
   * Rejects with REQUEST_TIMEOUT when the connection drops first: what was pending may be lost.
   */
  async flush(): Promise<void> {
    this.checkOpen();
    try {
      await this.nc.flush();
    } catch (error) {
      throw this.mapError('flush', error);
    }
  }

  /** Registers a listener run after each reconnect, once our subscriptions are back on the server. */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Drains (pending handlers finish, outbound is flushed), then closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.subs.clear();
    try {
      if (!this.nc.isClosed() && !this.nc.isDraining()) await this.nc.drain();
    } catch (error) {
      // Draining fails when the server is gone; closing still releases everything.
      this.logger.warn({ err: describe(error) }, 'nats drain failed; closing');
      await this.nc.close();
    }
    this.requests.close();
    await this.statusDone;
  }

  private dispatch(subject: string, msg: Msg, handler: (msg: TransportMessage) => void): void {
    idleGc.touch();
    try {
      handler(this.message(msg));
    } catch (error) {
      // The contract says handlers must not throw; if one does, keep the subscription
      // (and nats.js' reader loop, which a throw would reach) alive.
      this.logger.error({ subject, err: describe(error) }, 'transport handler threw');
    }
  }

  private message(msg: Msg): TransportMessage {
    const reply = msg.reply;
    return {
      subject: msg.subject,
      data: msg.data,
      headers: fromNatsHeaders(msg.headers),
      expectsReply: reply !== undefined && reply !== '',
      replyTo: reply === undefined || reply === '' ? undefined : reply,
      respond: (data: Uint8Array, headers?: Headers) => {
        if (reply === undefined || reply === '') return;
        this.checkOpen();
        this.checkSize(reply, data, headers);
        const natsHeaders = this.convertHeaders(headers);
        this.guard(reply, () => {
          msg.respond(data, natsHeaders === undefined ? undefined : { headers: natsHeaders });
        });
      },
    };
  }

  private async watchStatus(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        switch (status.type) {
          case 'reconnect':
            this.logger.info({ server: status.server }, 'nats reconnected');
            await this.afterReconnect();
            break;
          case 'disconnect':
            this.logger.warn({ server: status.server }, 'nats disconnected; reconnecting');
            break;
          case 'reconnecting':
            this.logger.debug({}, 'nats reconnect attempt');
            break;
          case 'error':
            this.logger.error({ err: describe(status.error) }, 'nats server reported an error');
            break;
          case 'ldm':
            this.logger.warn({ server: status.server }, 'nats server entering lame duck mode');
            break;
          case 'staleConnection':
            this.logger.warn({}, 'nats connection stale; reconnecting');
            break;
          default:
            this.logger.debug({ status: status.type }, 'nats status');
        }
      }
    } catch (error) {
      this.logger.error({ err: describe(error) }, 'nats status watcher failed');
    }
  }

  private async afterReconnect(): Promise<void> {
    this.lastMaxPayloadBytes = this.nc.info?.max_payload ?? this.lastMaxPayloadBytes;
    // nats.js re-sent our SUBs before the PING of this flush: once it returns, the
    // server routes to us again, so listeners can re-announce and expect answers.
    try {
      await this.nc.flush();
    } catch (error) {
      this.logger.warn({ err: describe(error) }, 'nats flush after reconnect failed');
      return;
    }
    for (const listener of [...this.reconnectListeners]) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: describe(error) }, 'reconnect listener threw');
      }
    }
  }

  private checkOpen(): void {
    if (this.closing !== undefined || this.nc.isClosed()) throw new FloeError('CLIENT_CLOSED', 'transport is closed');
  }

  private checkSize(subject: string, data: Uint8Array, headers: Headers | undefined): void {
    const bytes = data.byteLength + encodedHeaderBytes(headers);
    if (bytes > this.lastMaxPayloadBytes) {
      throw new FloeError(
        'LIMIT_EXCEEDED',
        `message on ${subject} is ${bytes} bytes (payload ${data.byteLength} + headers), over the NATS server's max_payload of ${this.lastMaxPayloadBytes} bytes`,
      );
    }
  }

  private convertHeaders(headers: Headers | undefined): ReturnType<typeof toNatsHeaders> {
    try {
      return toNatsHeaders(headers);
    } catch (error) {
      throw new FloeError('INVALID_ARGUMENT', `invalid headers: ${describe(error)}`, { cause: error });
    }
  }

  /** Runs a nats.js call, turning its synchronous errors into FloeErrors. */
  private guard<T>(subject: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw this.mapError(subject, error);
    }
  }

  private mapError(what: string, error: unknown): FloeError {
    if (isFloeError(error)) return error;
    if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) {
      return new FloeError('CLIENT_CLOSED', 'transport is closed', { cause: error });
    }
    if (error instanceof InvalidSubjectError) {
      return new FloeError('INVALID_ARGUMENT', `invalid subject ${JSON.stringify(what)}: ${describe(error)}`, { cause: error });
    }
    if (error instanceof InvalidArgumentError && describe(error).includes('max_payload')) {
      // Our own check runs first; this is the server announcing a smaller limit meanwhile.
      return new FloeError('LIMIT_EXCEEDED', `message on ${what} is over the NATS server's max_payload`, { cause: error });
    }
    if (error instanceof InvalidArgumentError) {
      return new FloeError('INVALID_ARGUMENT', `${what}: ${describe(error)}`, { cause: error });
    }
    if (error instanceof RequestError || error instanceof ConnectionError) {
      // e.g. a flush pending when the connection drops: retryable once reconnected.
      return new FloeError('REQUEST_TIMEOUT', `nats ${what} failed, connection lost: ${describe(error)}`, { cause: error });
    }
    return new FloeError('INTERNAL', `nats ${what}: ${describe(error)}`, { cause: error });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && error.cause.message !== error.message ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
