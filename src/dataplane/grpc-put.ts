/**
 * Puts over the gRPC data plane (`floe.v1.DataPlane/Put`, client streaming): a client
 * sends a worker a value it serialized (Client.put, client/put.ts), with the submission
 * that makes it a task of that client; the worker stores it and passes the submission on
 * (worker/puts.ts). The value's bytes go from the client to the worker and nowhere else.
 *
 * The first PutChunk carries the header (the reply subject, the submission and the value's
 * size), every chunk carries data. The server copies the chunks into one SharedArrayBuffer
 * of the announced size (pool threads read it without a copy, as they read fetched inputs),
 * and answers once the worker took the value: an empty PutReply, or a status whose details
 * say why not. A stream whose chunks disagree with its header is answered INVALID_ARGUMENT.
 */
import type { ServerHttp2Session } from 'node:http2';
import { status as Status, type Client, type Metadata, type Server, type ServerReadableStream, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { ATTR, recordFailure, withSpan, type Span } from '../telemetry/trace.ts';
import { FloeError, isFloeError } from '../errors.ts';
import { Out, messageField, stringField, uint64Size } from '../transport/proto-write.ts';
import { ProtoReader } from '../transport/proto-read.ts';
import type { Logger } from '../util/logger.ts';
import type { PutRequest } from './dataplane.ts';
import { copyIntoShared } from './shared-copy.ts';
import { callSpan } from './grpc-server.ts';

export const PUT_PATH = '/floe.v1.DataPlane/Put';

/** Data bytes per PutChunk. */
export const PUT_CHUNK_BYTES = 1024 * 1024;
/** Largest reply subject and submission a put's header carries. */
export const PUT_HEADER_BYTES_MAX = 64 * 1024;
/** Largest PutChunk (both sides' gRPC message limit for puts). */
export const PUT_MESSAGE_BYTES_MAX = PUT_CHUNK_BYTES + PUT_HEADER_BYTES_MAX;

/**
 * The receive window a server opens to each client connection and stream, for puts. A put
 * is the one call whose server receives the bulk of the bytes, and grpc-js leaves its
 * server's HTTP/2 windows at 64 KiB (its `grpc-node.flow_control_window` option is the
 * client's): the client then waits a round trip per 64 KiB. Widened, a 64 MiB put between
 * two processes went at 266–425 MiB/s instead of 121–152 (2 cores, lab script, 2026-12-07).
 */
export const PUT_WINDOW_BYTES = 64 * 1024 * 1024;

/**
 * Widens the HTTP/2 receive windows of every session `server` accepts from now on (call it
 * once the server is bound). grpc-js offers no option for it, so this reaches its HTTP/2
 * servers through a private field; returns how many it found (0: a grpc-js without that
 * field, and puts go at the default window's pace; test/unit/grpc-put.test.ts notices).
 */
export function widenReceiveWindows(server: Server, bytes = PUT_WINDOW_BYTES): number {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return 0;
  let found = 0;
  for (const h2 of servers.keys()) {
    if (typeof (h2 as { on?: unknown }).on !== 'function') continue;
    (h2 as { on(event: 'session', listener: (session: ServerHttp2Session) => void): void }).on('session', (session) => {
      session.setLocalWindowSize(bytes);
      session.settings({ initialWindowSize: Math.min(bytes, 2 ** 31 - 1) });
    });
    found += 1;
  }
  return found;
}

/** PutChunk.reply_to (1), .submit (2), .total_bytes (3), .data (4), .copy (5), .value_bytes (6, packed or not). */
const REPLY_TO_TAG = (1 << 3) | 2;
const SUBMIT_TAG = (2 << 3) | 2;
const TOTAL_BYTES_TAG = 3 << 3;
const DATA_TAG = (4 << 3) | 2;
const COPY_TAG = 5 << 3;
const VALUE_BYTES_TAG = 6 << 3;
const VALUE_BYTES_PACKED_TAG = (6 << 3) | 2;

export interface PutChunk {
  /** The header, on the first chunk only. `valueBytes`: several values (PutRequest.sizes). */
  header?: { replyTo: string; submit: Uint8Array; totalBytes: number; copy?: boolean; valueBytes?: readonly number[] };
  data: Uint8Array;
}

export function serializePutChunk(chunk: PutChunk): Buffer {
  const { header, data } = chunk;
  let size = messageField(data.byteLength);
  // Fields in number order, empty ones left out, as protobufjs writes them (repeated numbers packed).
  const replyTo = header !== undefined && header.replyTo !== '' ? header.replyTo : undefined;
  const copy = header?.copy === true;
  const sizes = header?.valueBytes !== undefined && header.valueBytes.length > 0 ? header.valueBytes : undefined;
  let sizesBytes = 0;
  if (sizes !== undefined) for (const n of sizes) sizesBytes += uint64Size(n);
  if (replyTo !== undefined) size += stringField(replyTo);
  if (header !== undefined) size += messageField(header.submit.byteLength) + 1 + uint64Size(header.totalBytes) + (copy ? 2 : 0);
  if (sizes !== undefined) size += messageField(sizesBytes);
  const w = new Out(Buffer.allocUnsafe(size));
  if (replyTo !== undefined) w.varint(REPLY_TO_TAG).string(replyTo);
  if (header !== undefined) w.varint(SUBMIT_TAG).bytes(header.submit).varint(TOTAL_BYTES_TAG).uint64(header.totalBytes);
  w.varint(DATA_TAG).bytes(data);
  if (copy) w.varint(COPY_TAG).varint(1);
  if (sizes !== undefined) {
    w.varint(VALUE_BYTES_PACKED_TAG).varint(sizesBytes);
    for (const n of sizes) w.uint64(n);
  }
  return w.finish('PutChunk');
}

/** A PutChunk the server could not read. */
export interface BadPutChunk {
  bad: string;
}

export function deserializePutChunk(bytes: Buffer): PutChunk | BadPutChunk {
  const r = new ProtoReader(bytes, 0, bytes.byteLength);
  let replyTo: string | undefined;
  let submit: Uint8Array | undefined;
  let totalBytes: number | undefined;
  let copy = false;
  let data: Uint8Array = new Uint8Array(0);
  const sizes: number[] = [];
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag === REPLY_TO_TAG) replyTo = r.string();
      else if (tag === SUBMIT_TAG) submit = r.bytes();
      else if (tag === TOTAL_BYTES_TAG) totalBytes = r.uint64();
      else if (tag === DATA_TAG) data = r.bytes();
      else if (tag === COPY_TAG) copy = r.bool();
      else if (tag === VALUE_BYTES_TAG) sizes.push(r.uint64());
      else if (tag === VALUE_BYTES_PACKED_TAG) {
        const outer = r.enter();
        while (r.pos < r.end) sizes.push(r.uint64());
        r.leave(outer);
      } else r.unknown(tag, 6);
    }
  } catch (error) {
    return { bad: `malformed PutChunk: ${(error as Error).message}` };
  }
  if (replyTo === undefined && submit === undefined && totalBytes === undefined && !copy && sizes.length === 0) return { data };
  // A copy's answer goes nowhere: it needs no reply subject.
  if (!copy && (replyTo === undefined || replyTo === '')) return { bad: 'PutChunk.reply_to is missing' };
  if (submit === undefined || submit.byteLength === 0) return { bad: 'PutChunk.submit is missing' };
  if (totalBytes === undefined || !Number.isSafeInteger(totalBytes)) return { bad: 'PutChunk.total_bytes is missing' };
  const bad = badSizes(sizes, totalBytes);
  if (bad !== undefined) return { bad };
  const header: NonNullable<PutChunk['header']> = { replyTo: replyTo ?? '', submit, totalBytes };
  if (copy) header.copy = true;
  if (sizes.length > 0) header.valueBytes = sizes;
  return { header, data };
}

/** Why PutChunk.value_bytes does not describe a data of `totalBytes` (undefined: it does, or is empty). */
function badSizes(sizes: readonly number[], totalBytes: number): string | undefined {
  if (sizes.length === 0) return undefined;
  if (sizes.length === 1) return 'PutChunk.value_bytes has one size: a single value has none';
  let sum = 0;
  for (const n of sizes) sum += n;
  if (sum !== totalBytes) return `PutChunk.value_bytes add up to ${sum} bytes, not the ${totalBytes} of total_bytes`;
  return undefined;
}

function serializeEmpty(): Buffer {
  return Buffer.alloc(0);
}

function deserializeEmpty(): Record<string, never> {
  return {};
}

export const PUT_METHOD = {
  path: PUT_PATH,
  requestStream: true,
  responseStream: false,
  requestSerialize: serializePutChunk,
  requestDeserialize: deserializePutChunk,
  responseSerialize: serializeEmpty,
  responseDeserialize: deserializeEmpty,
  originalName: 'put',
} as const;

type PutCall = ServerReadableStream<PutChunk | BadPutChunk, Record<string, never>>;

/** gRPC statuses of the FloeError codes a worker refuses a put with; any other is INTERNAL. */
const STATUS_OF: Readonly<Record<string, Status>> = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  MALFORMED_MESSAGE: Status.INVALID_ARGUMENT,
  LIMIT_EXCEEDED: Status.RESOURCE_EXHAUSTED,
  WORKER_LOST: Status.UNAVAILABLE,
  KEY_CONFLICT: Status.ALREADY_EXISTS,
};

/** The server's handler: assembles the value, then hands it to `accept`, whose outcome is the reply. */
export function putHandler(accept: (put: PutRequest) => Promise<void>, log: Logger): (call: PutCall, reply: sendUnaryData<Record<string, never>>) => void {
  return (call, reply) => {
    let header: PutChunk['header'];
    let out: Uint8Array | undefined;
    let received = 0;
    let failed = false;
    const fail = (code: Status, details: string): void => {
      if (failed) return;
      failed = true;
      log.warn({ peer: call.getPeer(), reason: details }, 'data plane: put refused');
      reply({ code, details });
    };
    call.on('data', (chunk: PutChunk | BadPutChunk) => {
      if (failed) return;
      if ('bad' in chunk) return fail(Status.INVALID_ARGUMENT, chunk.bad);
      if (out === undefined) {
        if (chunk.header === undefined) return fail(Status.INVALID_ARGUMENT, 'the first PutChunk has no header');
        header = chunk.header;
        try {
          out = new Uint8Array(new SharedArrayBuffer(header.totalBytes));
        } catch (error) {
          return fail(Status.RESOURCE_EXHAUSTED, `cannot hold a value of ${header.totalBytes} bytes: ${(error as Error).message}`);
        }
      } else if (chunk.header !== undefined) {
        return fail(Status.INVALID_ARGUMENT, 'a PutChunk after the first has a header');
      }
      if (received + chunk.data.byteLength > out.byteLength) return fail(Status.INVALID_ARGUMENT, `the value is longer than the ${out.byteLength} bytes its header says`);
      copyIntoShared(out, chunk.data, received);
      received += chunk.data.byteLength;
    });
    call.on('end', () => {
      if (failed) return;
      if (out === undefined || header === undefined) return fail(Status.INVALID_ARGUMENT, 'the put sent no PutChunk');
      if (received !== out.byteLength) return fail(Status.INVALID_ARGUMENT, `the value has ${received} of the ${out.byteLength} bytes its header says`);
      const span = storeSpan(call, out.byteLength);
      const put: PutRequest = { replyTo: header.replyTo, submit: header.submit, bytes: out };
      if (header.copy === true) put.copy = true;
      if (header.valueBytes !== undefined) put.sizes = header.valueBytes;
      (span === undefined ? accept(put) : withSpan(span, () => accept(put))).then(
        () => {
          span?.end();
          reply(null, {});
        },
        (error: unknown) => {
          const code = isFloeError(error) ? (STATUS_OF[error.code] ?? Status.INTERNAL) : Status.INTERNAL;
          const message = error instanceof Error ? error.message : String(error);
          if (span !== undefined) {
            recordFailure(span, { code: isFloeError(error) ? error.code : 'INTERNAL', message });
            span.end();
          }
          fail(code, message);
        },
      );
    });
    call.on('error', () => {
      failed = true; // the client went away: nothing is stored
    });
  };
}

/** The worker's side of a traced put: a child of the client's put span. */
function storeSpan(call: PutCall, bytes: number): Span | undefined {
  return callSpan(call.metadata, 'put.store', { [ATTR.bytes]: bytes });
}

/**
 * The client's side: streams `put` to the worker `client` connects to, in chunks, waiting
 * for 'drain' when grpc-js buffers; resolves when the worker took it.
 */
export function sendPut(client: Client, address: string, put: PutRequest, metadata: Metadata, signal?: AbortSignal): Promise<void> {
  if (put.submit.byteLength + put.replyTo.length * 3 > PUT_HEADER_BYTES_MAX) {
    return Promise.reject(new FloeError('INTERNAL', `a put's submission of ${put.submit.byteLength} bytes is over the ${PUT_HEADER_BYTES_MAX} a header may carry`));
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => call.cancel();
    const call = client.makeClientStreamRequest(PUT_PATH, serializePutChunk, deserializeEmpty, metadata, (error: ServiceError | null) => {
      signal?.removeEventListener('abort', onAbort);
      if (error === null) resolve();
      else if (signal?.aborted === true) reject(new FloeError('CANCELLED', `the put to ${address} was cancelled`, { cause: error }));
      else reject(putError(error, address));
    });
    if (signal?.aborted === true) call.cancel();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const { bytes } = put;
    let offset = 0;
    const write = (): void => {
      do {
        const end = Math.min(offset + PUT_CHUNK_BYTES, bytes.byteLength);
        const data = bytes.subarray(offset, end);
        const header = { replyTo: put.replyTo, submit: put.submit, totalBytes: bytes.byteLength, copy: put.copy, valueBytes: put.sizes };
        const chunk: PutChunk = offset === 0 ? { header, data } : { data };
        offset = end;
        if (!call.write(chunk) && offset < bytes.byteLength) {
          call.once('drain', write);
          return;
        }
      } while (offset < bytes.byteLength);
      call.end();
    };
    write();
  });
}

function putError(error: ServiceError, address: string): FloeError {
  const details = error.details || error.message;
  const why = `the worker at ${address} did not take the value (${Status[error.code] ?? error.code}: ${details})`;
  switch (error.code) {
    case Status.INVALID_ARGUMENT:
      return new FloeError('INVALID_ARGUMENT', why, { cause: error });
    case Status.RESOURCE_EXHAUSTED:
      return new FloeError('LIMIT_EXCEEDED', why, { cause: error });
    case Status.ALREADY_EXISTS:
      return new FloeError('KEY_CONFLICT', why, { cause: error });
    case Status.UNIMPLEMENTED:
      return new FloeError('INVALID_ARGUMENT', `${why}: it takes no puts (an older worker)`, { cause: error });
    case Status.UNAVAILABLE:
    case Status.CANCELLED:
    case Status.DEADLINE_EXCEEDED:
      return new FloeError('WORKER_LOST', why, { cause: error, retryable: true });
    default:
      return new FloeError('INTERNAL', why, { cause: error });
  }
}
