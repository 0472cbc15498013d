/**
 * The narrow interface every control-plane transport implements: NATS-style subjects
 * with publish, subscribe and request/reply. The NATS adapter (transport/nats) and the
 * in-process bus (transport/inproc) behave the same way, so the coordinator, workers
 * and clients never know which one they run on.
 */

export type Headers = Record<string, string>;

export interface TransportMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Headers | undefined;
  /** True when the sender waits for a reply (request/reply). */
  readonly expectsReply: boolean;
  /** Answers a request; a no-op for plain publishes. */
  respond(data: Uint8Array, headers?: Headers): void;
  /** Where `respond` sends (undefined for plain publishes): what `Transport.relay` passes on. */
  readonly replyTo: string | undefined;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Headers;
  /**
   * Sends the request another way than publishing it on `subject` (a client's direct stream
   * to a worker: client/direct.ts), given the subject its answer must come to. It throws when
   * it cannot send; `fail` fails the request later, before its answer (its way broke). The
   * answer still comes over the transport.
   */
  sendVia?: (replyTo: string, data: Uint8Array, fail: (error: Error) => void) => void;
}

export interface Transport {
  /** Fire-and-forget. Delivery is asynchronous: handlers never run inside `publish`. */
  publish(subject: string, data: Uint8Array, headers?: Headers): void;
  /**
   * Passes a request on: publishes `data` to `subject` so that its handler's `respond`
   * answers `request`'s sender, not the relaying party. A plain publish when `request`
   * expects no reply.
   */
  relay(subject: string, data: Uint8Array, request: TransportMessage): void;
  /** Exact subject match. The handler must not throw; errors are its own to report. */
  subscribe(subject: string, handler: (msg: TransportMessage) => void): Subscription;
  /** Rejects with REQUEST_TIMEOUT when nobody answers in time or nobody listens. */
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<TransportMessage>;
  /** Resolves when everything published so far has been handed to the server/bus. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /**
   * Largest message (payload plus encoded headers) the server accepts, in bytes;
   * `publish`, `request` and `respond` throw LIMIT_EXCEEDED above it. Undefined means
   * unlimited (the in-process bus).
   */
  readonly maxPayloadBytes?: number;
  /**
   * Registers a listener called each time the connection is re-established after a loss
   * (subscriptions are registered with the server again by then). Messages published
   * while disconnected may be lost (core NATS is at-most-once): use this to re-announce
   * state. The in-process bus never reconnects.
   */
  onReconnect?(listener: () => void): void;
}
