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

export interface DataPlane {
  /** Starts serving `source`; resolves to the address others fetch from. */
  serve(name: string, source: ObjectSource): Promise<string>;
  /** Fetches one result; rejects with RESULT_UNAVAILABLE when the holder does not have it. */
  fetch(address: string, id: string, options?: FetchOptions): Promise<FetchedObject>;
  /** Stops serving `address` (if this instance served it) and closes client connections. */
  close(): Promise<void>;
}
