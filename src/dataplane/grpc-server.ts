/**
 * Server side of the gRPC data plane: the Fetch handler. Streams one object as chunks
 * that are views into the stored bytes (the only copy is protobuf framing), waits for
 * 'drain' when grpc-js buffers too much, stops as soon as the call is cancelled, and
 * caps the number of concurrent streams.
 *
 * Memory bound: grpc-js's response stream is an objectMode Writable (high-water mark 16
 * messages), so one stream holds at most ~17 framed chunks; the whole server at most
 * about streamsMax × 17 × chunkBytes (64 × 17 MiB with defaults) beyond the stored bytes.
 */
import { status as Status, type Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import type { Attributes } from '@opentelemetry/api';
import { isFloeError } from '../errors.ts';
import type { Logger } from '../util/logger.ts';
import type { ObjectSource } from './dataplane.ts';
import type { DecodedRequest, FetchChunkOut } from './grpc-wire.ts';
import { ATTR, SpanKind, contextFromTraceparent, recordFailure, startSpan, tracingEnabled, type Span } from '../telemetry/trace.ts';
import { keyOf } from '../graph/task-id.ts';

/** gRPC metadata key of the fetching side's W3C traceparent. */
export const TRACEPARENT_KEY = 'traceparent';

export interface FetchHandlerOptions {
  source: ObjectSource;
  chunkBytes: number;
  streamsMax: number;
  logger: Logger;
}

export type FetchCall = ServerWritableStream<DecodedRequest, FetchChunkOut>;

/** Builds the unary-request, server-streaming Fetch handler. */
export function fetchHandler(options: FetchHandlerOptions): (call: FetchCall) => void {
  let streams = 0;
  return (call) => {
    const request = call.request;
    if ('bad' in request) {
      options.logger.warn({ peer: call.getPeer(), reason: request.bad }, 'data plane: bad fetch request');
      fail(call, Status.INVALID_ARGUMENT, request.bad);
      return;
    }
    if (streams >= options.streamsMax) {
      fail(call, Status.RESOURCE_EXHAUSTED, `data plane is serving ${streams} streams (streamsMax ${options.streamsMax})`);
      return;
    }
    streams += 1;
    const span = serveSpan(call, request.id);
    // The source may load a spilled result back from disk (async); it counts as a stream meanwhile.
    Promise.resolve()
      .then(() => options.source.get(request.id))
      .then((found) => {
        if (found === undefined) {
          fail(call, Status.NOT_FOUND, `result ${request.id} is not held here`);
          if (span !== undefined) recordFailure(span, { code: 'RESULT_UNAVAILABLE', message: `result ${request.id} is not held here` });
          return;
        }
        span?.setAttribute(ATTR.bytes, found.bytes.byteLength);
        return streamChunks(call, found.bytes, { totalBytes: found.bytes.byteLength, serializer: found.serializer }, options.chunkBytes);
      })
      .catch((error: unknown) => {
        if (isFloeError(error) && error.code === 'RESULT_UNAVAILABLE') {
          fail(call, Status.NOT_FOUND, error.message); // e.g. a spilled copy that cannot be read
          return;
        }
        options.logger.error({ id: request.id, err: error }, 'data plane: fetch stream failed');
        fail(call, Status.INTERNAL, `streaming ${request.id} failed: ${(error as Error).message}`);
      })
      .finally(() => {
        span?.end();
        streams -= 1;
      });
  };
}

/** The holder's side of a traced transfer: a child of the fetching worker's transfer span. */
function serveSpan(call: FetchCall, id: string): Span | undefined {
  return callSpan(call.metadata, 'transfer.serve', { [ATTR.taskKey]: keyOf(id) });
}

/**
 * The server's span of a traced call, `name`: a child of the span whose traceparent the
 * caller put in the call's metadata; undefined when untraced.
 */
export function callSpan(metadata: Metadata, name: string, attributes: Attributes): Span | undefined {
  if (!tracingEnabled()) return undefined;
  const traceParent = metadata.get(TRACEPARENT_KEY)[0];
  if (typeof traceParent !== 'string' || traceParent === '') return undefined;
  return startSpan(name, attributes, contextFromTraceparent(traceParent), { kind: SpanKind.SERVER });
}

async function streamChunks(
  call: FetchCall,
  bytes: Uint8Array,
  header: Omit<FetchChunkOut, 'data'>,
  chunkBytes: number,
): Promise<void> {
  let offset = 0;
  // An empty object is still one chunk: the client needs the header.
  do {
    if (call.cancelled) return;
    const end = Math.min(offset + chunkBytes, bytes.byteLength);
    const data = bytes.subarray(offset, end);
    const chunk: FetchChunkOut = offset === 0 ? { ...header, data } : { data };
    offset = end;
    if (!call.write(chunk) && !(await drained(call))) return;
  } while (offset < bytes.byteLength);
  if (!call.cancelled) call.end();
}

/** Resolves true on 'drain', false when the call ends first (cancelled, errored, closed). */
function drained(call: FetchCall): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => {
      call.off('drain', onDrain);
      call.off('cancelled', onStop);
      call.off('close', onStop);
      call.off('error', onStop);
      resolve(ok);
    };
    const onDrain = done(true);
    const onStop = done(false);
    call.on('drain', onDrain);
    call.on('cancelled', onStop);
    call.on('close', onStop);
    call.on('error', onStop);
  });
}

function fail(call: FetchCall, code: Status, details: string): void {
  if (call.cancelled) return;
  call.emit('error', { code, details });
}
