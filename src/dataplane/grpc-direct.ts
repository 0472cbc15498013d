/**
 * Direct streams over the gRPC data plane (`floe.v1.DataPlane/Direct`, bidirectional): a
 * client sends a worker lone tasks (DirectSubmit: the submit message and the reply subject
 * the coordinator answers on), the worker sends back the key updates of the runs it started
 * for them (each an encoded control message). See client/direct.ts and worker/direct.ts.
 *
 * Over NATS, a submission and its key update each take two hops through nats-server; here
 * each is one write on a connection the client has to the worker anyway. The messages are
 * small, so neither side waits for 'drain': a stream carries at most one lone task's
 * submission and update at a time per sequential caller.
 *
 * A DirectSubmit that cannot be read ends the stream with INVALID_ARGUMENT: there is no
 * reply subject to answer it on, and the client takes an ended stream as lost (it asks
 * the coordinator for what it was owed on it).
 */
import { status as Status, type Client, type ClientDuplexStream, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from '../util/logger.ts';
import { Out, stringField, messageField } from '../transport/proto-write.ts';
import { ProtoReader, asBuffer } from '../transport/proto-read.ts';
import type { DirectEvents, DirectStream, DirectSubmission } from './dataplane.ts';

export const DIRECT_PATH = '/floe.v1.DataPlane/Direct';

/**
 * Largest DirectSubmit a stream carries (both sides' gRPC message limit). A lone task with
 * bigger arguments goes the coordinator's way: `send` returns false for it.
 */
export const DIRECT_SUBMIT_BYTES_MAX = 256 * 1024;

/** DirectSubmit.reply_to (1) and .submit (2), both length-delimited. */
const REPLY_TO_TAG = (1 << 3) | 2;
const SUBMIT_TAG = (2 << 3) | 2;

export function serializeDirectSubmit(message: DirectSubmission): Buffer {
  const size = stringField(message.replyTo) + messageField(message.submit.byteLength);
  return new Out(Buffer.allocUnsafe(size)).varint(REPLY_TO_TAG).string(message.replyTo).varint(SUBMIT_TAG).bytes(message.submit).finish('DirectSubmit');
}

/** A DirectSubmit the server could not read; the handler ends the stream with its reason. */
export interface BadDirectSubmit {
  bad: string;
}

export function deserializeDirectSubmit(bytes: Buffer): DirectSubmission | BadDirectSubmit {
  const r = new ProtoReader(bytes, 0, bytes.byteLength);
  let replyTo = '';
  let submit: Uint8Array | undefined;
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag === REPLY_TO_TAG) replyTo = r.string();
      else if (tag === SUBMIT_TAG) submit = r.bytes();
      else r.unknown(tag, 2);
    }
  } catch (error) {
    return { bad: `malformed DirectSubmit: ${(error as Error).message}` };
  }
  if (replyTo === '') return { bad: 'DirectSubmit.reply_to is missing' };
  if (submit === undefined || submit.byteLength === 0) return { bad: 'DirectSubmit.submit is missing' };
  return { replyTo, submit };
}

/** The worker's messages go as they are: each is an encoded control message. */
function serializeBytes(message: Uint8Array): Buffer {
  return asBuffer(message);
}

function deserializeBytes(bytes: Buffer): Uint8Array {
  return bytes;
}

export const DIRECT_METHOD = {
  path: DIRECT_PATH,
  requestStream: true,
  responseStream: true,
  requestSerialize: serializeDirectSubmit,
  requestDeserialize: deserializeDirectSubmit,
  responseSerialize: serializeBytes,
  responseDeserialize: deserializeBytes,
  originalName: 'direct',
} as const;

type DirectCall = ServerDuplexStream<DirectSubmission | BadDirectSubmit, Uint8Array>;

/** The server's handler: each stream is handed to `accept` as a DirectStream. */
export function directHandler(
  accept: (stream: DirectStream<Uint8Array>) => DirectEvents<DirectSubmission>,
  log: Logger,
): (call: DirectCall) => void {
  return (call) => {
    let open = true;
    const stream: DirectStream<Uint8Array> = {
      send: (message) => {
        if (!open) return false;
        call.write(message);
        return true;
      },
      close: () => end(),
    };
    const events = accept(stream);
    const end = (error?: Error): void => {
      if (!open) return;
      open = false;
      events.closed(error);
      if (!call.cancelled && error === undefined) call.end();
    };
    call.on('data', (message: DirectSubmission | BadDirectSubmit) => {
      if (!open) return;
      if ('bad' in message) {
        log.warn({ peer: call.getPeer(), reason: message.bad }, 'data plane: bad direct submission; the stream is ended');
        end(new Error(message.bad));
        call.emit('error', { code: Status.INVALID_ARGUMENT, details: message.bad });
        return;
      }
      events.message(message);
    });
    // The client ended its side (closed, or moved on): this side ends too.
    call.on('end', () => end());
    call.on('cancelled', () => end(new Error('the client cancelled the direct stream')));
    call.on('error', (error: Error) => end(error));
  };
}

/** The client's side: a bidi call to the worker `client` connects to. */
export function openDirectCall(client: Client, address: string, events: DirectEvents<Uint8Array>): DirectStream<DirectSubmission> {
  const call: ClientDuplexStream<DirectSubmission, Uint8Array> = client.makeBidiStreamRequest(
    DIRECT_PATH,
    serializeDirectSubmit,
    deserializeBytes,
  );
  let open = true;
  const end = (error?: Error): void => {
    if (!open) return;
    open = false;
    events.closed(error);
  };
  call.on('data', (message: Uint8Array) => {
    if (open) events.message(message);
  });
  call.on('error', (error: ServiceError) => {
    const failed = new Error(`direct stream to ${address} failed (${Status[error.code] ?? error.code}: ${error.details || error.message})`, { cause: error });
    end(error.code === Status.UNIMPLEMENTED ? Object.assign(failed, { unsupported: true }) : failed);
  });
  // The worker ended the stream (it closes): nothing more comes on it.
  call.on('end', () => end(new Error(`the worker at ${address} ended the direct stream`)));
  return {
    send: (message) => {
      // The serialized size at most: a UTF-8 char is up to 3 bytes per UTF-16 unit, and two tags and lengths fit in 16.
      if (!open || message.submit.byteLength + message.replyTo.length * 3 + 16 > DIRECT_SUBMIT_BYTES_MAX) return false;
      call.write(message);
      return true;
    },
    close: () => {
      if (!open) return;
      end();
      call.cancel();
    },
  };
}
