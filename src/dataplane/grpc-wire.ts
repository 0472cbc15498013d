/**
 * Wire format of the gRPC data plane: raw (de)serializers for `floe.v1.FetchRequest`
 * and `floe.v1.FetchChunk`, the hand-written service definition of `floe.v1.DataPlane`,
 * and the mapping from gRPC statuses to floe error codes.
 *
 * We use protobufjs directly instead of @grpc/proto-loader: FetchChunk is decoded with
 * `Type.decode`, so `data` stays a view into grpc-js's message buffer (no `toObject`
 * copy), and request decoding never throws inside grpc-js (which would answer INTERNAL);
 * a bad request reaches the handler as a `BadRequest` and is answered INVALID_ARGUMENT.
 */
import { status as Status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { FloeError } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { protoRoot } from '../transport/codec.ts';

/** Version of the FetchRequest protocol this build speaks. */
export const FETCH_VERSION = 1;

export const FETCH_PATH = '/floe.v1.DataPlane/Fetch';

/** Longest object id a server accepts (ids are task keys; this only bounds garbage). */
export const FETCH_ID_CHARS_MAX = 4096;

export interface FetchRequestMessage {
  version: number;
  id: string;
}

/** A request the server could not accept; carries the reason for INVALID_ARGUMENT. */
export interface BadRequest {
  bad: string;
}

export type DecodedRequest = FetchRequestMessage | BadRequest;

/** One chunk as sent: the first carries `totalBytes` and `serializer`. */
export interface FetchChunkOut {
  totalBytes?: number;
  serializer?: SerializerRef;
  data: Uint8Array;
}

/** One chunk as received (a protobufjs message; `data` is a view, not a copy). */
export interface FetchChunkIn {
  totalBytes: number | { toNumber(): number };
  serializer: SerializerRef | null | undefined;
  data: Uint8Array;
}

let requestType: protobuf.Type | undefined;
let chunkType: protobuf.Type | undefined;

function fetchRequest(): protobuf.Type {
  requestType ??= protoRoot().lookupType('floe.v1.FetchRequest');
  return requestType;
}

function fetchChunk(): protobuf.Type {
  chunkType ??= protoRoot().lookupType('floe.v1.FetchChunk');
  return chunkType;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function serializeRequest(request: FetchRequestMessage): Buffer {
  return asBuffer(fetchRequest().encode(request).finish());
}

export function deserializeRequest(bytes: Buffer): DecodedRequest {
  let decoded: protobuf.Message & Partial<FetchRequestMessage>;
  try {
    decoded = fetchRequest().decode(bytes);
  } catch (error) {
    return { bad: `malformed FetchRequest: ${(error as Error).message}` };
  }
  const version = decoded.version ?? 0;
  if (version !== FETCH_VERSION) {
    return { bad: `FetchRequest has protocol version ${version}; this server speaks ${FETCH_VERSION}` };
  }
  const id = decoded.id ?? '';
  if (id === '') return { bad: 'FetchRequest.id is missing' };
  if (id.length > FETCH_ID_CHARS_MAX) return { bad: `FetchRequest.id is longer than ${FETCH_ID_CHARS_MAX} chars` };
  return { version, id };
}

/** FetchChunk.data: field 3, wire type 2 (length-delimited). */
const DATA_TAG = (3 << 3) | 2;

/** Where serializeChunk builds each message; grows to the largest chunk, then is reused. */
let scratch = Buffer.allocUnsafe(0);

/**
 * Encodes a chunk into a scratch buffer that the next call overwrites. That is safe only
 * because grpc-js copies a serialized response into its own framed message before it
 * returns from `serializeMessage` (server-interceptors.ts), and it saves a fresh buffer per
 * chunk: on the server, allocating (page-faulting) that memory cost as much as the copy.
 * test/cluster/dataplane.test.ts hashes interleaved parallel streams, which would catch a
 * grpc-js that kept the buffer.
 *
 * Layout: the header fields (first chunk only) as protobufjs encodes them, then `data`
 * written by hand. Field order does not matter to a protobuf decoder.
 */
export function serializeChunk(chunk: FetchChunkOut): Buffer {
  const head = chunk.totalBytes === undefined && chunk.serializer === undefined
    ? undefined
    : fetchChunk().encode({ totalBytes: chunk.totalBytes, serializer: chunk.serializer }).finish();
  const headBytes = head?.byteLength ?? 0;
  const dataBytes = chunk.data.byteLength;
  const size = headBytes + 1 + varintBytes(dataBytes) + dataBytes;
  if (scratch.byteLength < size) scratch = Buffer.allocUnsafe(size);
  if (head !== undefined) scratch.set(head, 0);
  let at = headBytes;
  scratch[at++] = DATA_TAG;
  for (let n = dataBytes; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      scratch[at++] = n;
      break;
    }
    scratch[at++] = (n % 128) | 0x80;
  }
  scratch.set(chunk.data, at);
  return scratch.subarray(0, size);
}

function varintBytes(n: number): number {
  let bytes = 1;
  for (let rest = Math.floor(n / 128); rest > 0; rest = Math.floor(rest / 128)) bytes += 1;
  return bytes;
}

export function deserializeChunk(bytes: Buffer): FetchChunkIn {
  return fetchChunk().decode(bytes) as unknown as FetchChunkIn;
}

export function chunkTotalBytes(chunk: FetchChunkIn): number {
  const total = chunk.totalBytes;
  return typeof total === 'number' ? total : total.toNumber();
}

/** Service definition for grpc-js `Server.addService` (server side needs only these). */
export const DATA_PLANE_SERVICE = {
  Fetch: {
    path: FETCH_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: serializeRequest,
    requestDeserialize: deserializeRequest,
    responseSerialize: serializeChunk,
    responseDeserialize: deserializeChunk,
    originalName: 'fetch',
  },
} satisfies ServiceDefinition;

/** Statuses that mean "the holder is gone or overloaded": retry elsewhere or later. */
const WORKER_LOST_STATUSES: ReadonlySet<number> = new Set([
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  // Cancelled by the peer (we map our own cancellations before getting here), e.g. a
  // server shutting down mid-stream.
  Status.CANCELLED,
]);

/** Turns a failed Fetch call into a FloeError (see GrpcDataPlane for the contract). */
export function errorFromStatus(error: ServiceError, address: string, id: string): FloeError {
  const details = error.details || error.message;
  if (error.code === Status.NOT_FOUND) {
    return new FloeError('RESULT_UNAVAILABLE', `result ${id} is not held at ${address}: ${details}`, {
      cause: error,
    });
  }
  if (WORKER_LOST_STATUSES.has(error.code) || droppedConnection(error)) {
    return new FloeError(
      'WORKER_LOST',
      `data plane at ${address} is unreachable while fetching ${id} (${Status[error.code]}: ${details})`,
      { cause: error, retryable: true },
    );
  }
  return new FloeError(
    'INTERNAL',
    `fetching ${id} from ${address} failed with ${Status[error.code] ?? error.code}: ${details}`,
    { cause: error },
  );
}

/**
 * A peer process that dies mid-stream surfaces in grpc-js as INTERNAL with an
 * RST_STREAM / session error rather than UNAVAILABLE; it is still a lost worker.
 */
function droppedConnection(error: ServiceError): boolean {
  return error.code === Status.INTERNAL && /RST_STREAM|Session closed|Connection dropped|ECONNRESET/.test(error.details);
}
