/**
 * The data plane moves results between workers (and to clients) directly, never
 * through the coordinator. In a cluster it is gRPC (server-streaming Fetch of
 * proto/floe.proto); in embedded mode it is `InprocDataPlane`.
 */
import type { SerializerRef } from '../graph/spec.ts';

export interface FetchedObject {
  serializer: SerializerRef;
  bytes: Uint8Array;
}

/**
 * Reads results from where they live; implemented by a worker's object store. May be
 * async: a result spilled to disk is loaded back (rejecting with a FloeError if it cannot).
 */
export interface ObjectSource {
  get(id: string): FetchedObject | undefined | Promise<FetchedObject | undefined>;
}

export interface FetchOptions {
  /** Aborts the fetch (it rejects with CANCELLED). */
  signal?: AbortSignal;
  /**
   * Receive into a SharedArrayBuffer. A worker sets it for the inputs it stores: its pool
   * threads then get the stored bytes by reference instead of a structured clone, which for
   * a large result costs as much as the network transfer itself. Such bytes are shared by
   * every task on the worker that reads them, so tasks must treat inputs as read-only.
   * A data plane that cannot honour it returns ordinary bytes.
   */
  sharedMemory?: boolean;
}

/**
 * One end of a direct stream between a client and a worker (client/direct.ts,
 * worker/direct.ts): lone tasks go one way, their key updates the other.
 */
export interface DirectStream<Out> {
  /** Sends one message; false when it was not sent (the stream is closed, or the message too big for it). */
  send(message: Out): boolean;
  /** Ends the stream from this side (the other side's `closed` is called). */
  close(): void;
}

/** What a client sends on a direct stream: a submission, and where its answer goes. */
export interface DirectSubmission {
  /** The subject of the client's request the coordinator answers (Transport.request's reply). */
  replyTo: string;
  /** The submit message, encoded. */
  submit: Uint8Array;
}

/**
 * A value a client puts on a worker (Client.put: client/put.ts, worker/puts.ts): its bytes,
 * and the submission that makes it a task of the client, with where its answer goes.
 */
export interface PutRequest {
  /** The subject of the client's request the coordinator answers (Transport.request's reply). */
  replyTo: string;
  /** The submit message, encoded: one task of the builtin `put` per value. */
  submit: Uint8Array;
  /** The value, serialized as the task's spec says; several values (`sizes`) one after another. */
  bytes: Uint8Array;
  /**
   * Several values (Client.putMany, a batch for one worker): each one's size, in the order
   * of the submission's tasks. Undefined for one value.
   */
  sizes?: readonly number[];
  /**
   * A copy of a value put on another worker already (Client.put's `broadcast`): the worker
   * keeps it and tells the coordinator it holds a copy; the submission is not passed on, and
   * `replyTo` is unused.
   */
  copy?: boolean;
}

/** Receives what the other side of a direct stream sends. */
export interface DirectEvents<In> {
  message(message: In): void;
  /**
   * Called once, when the stream ended for any reason; `error` says why, unless it was
   * closed. `unsupported` on it: the other side takes no direct streams (an older worker).
   */
  closed(error?: Error & { unsupported?: boolean }): void;
}

export interface DataPlane {
  /** Starts serving `source`; resolves to the address others fetch from. */
  serve(name: string, source: ObjectSource): Promise<string>;
  /**
   * Takes clients' direct streams (call before `serve`): `accept` gets each new stream and
   * returns what receives its messages. Only a data plane between processes has them; in
   * one process, the bus is as quick.
   */
  acceptDirect?(accept: (stream: DirectStream<Uint8Array>) => DirectEvents<DirectSubmission>): void;
  /** Opens a direct stream to the worker serving at `address`. */
  openDirect?(address: string, events: DirectEvents<Uint8Array>): DirectStream<DirectSubmission>;
  /**
   * Takes clients' puts (call before `serve`): `accept` stores one and resolves, or rejects
   * with a FloeError saying why not, which the putting client gets.
   */
  acceptPuts?(accept: (put: PutRequest) => Promise<void>): void;
  /**
   * Puts a value on the worker serving at `address`; resolves once it took it. `signal`
   * aborts an upload still going (it rejects with CANCELLED; the worker stores nothing).
   */
  put?(address: string, put: PutRequest, options?: { signal?: AbortSignal }): Promise<void>;
  /** Fetches one result; rejects with RESULT_UNAVAILABLE when the holder does not have it. */
  fetch(address: string, id: string, options?: FetchOptions): Promise<FetchedObject>;
  /** Stops serving `address` (if this instance served it) and closes client connections. */
  close(): Promise<void>;
}
