/**
 * The bytes each task spec arrived in. A spec goes from the client to the coordinator and
 * on to a worker unchanged, so the coordinator need not encode it again: the workerBatch
 * encoder (worker-encode.ts) copies the bytes the spec came in, instead of writing its
 * strings and numbers one by one.
 *
 * The bytes are a range of the received message (no copy), which lives as long as a spec
 * decoded from it does. A spec that did not come through decodeMessage has none, and is
 * encoded field by field. (A WeakMap from spec to bytes cost about 2 µs per task in the
 * coordinator's profile; a private field costs nothing.)
 */
import protobuf from 'protobufjs';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';

/**
 * A TaskSpec as decodeMessage makes it. Its one addition, the bytes it came in, is private:
 * invisible to comparisons, copies and JSON (a copied spec is encoded field by field).
 * They are kept as the message and a range of it, not as a view: a view is an object of
 * about a hundred bytes, and a big graph's coordinator holds a spec per task.
 */
export class DecodedSpec implements TaskSpec {
  #message: Uint8Array | undefined;
  #start = 0;
  #end = 0;

  constructor(
    public key: string,
    public name: string,
    public module: string,
    public exportName: string,
    public args: Uint8Array,
    public deps: string[],
    public serializer: SerializerRef,
    public priority: number,
    public retries: number,
    public retryDelayMs: number,
    public retryBackoff: number,
    public timeoutMs: number,
    public resources: Record<string, number>,
  ) {}

  /** @internal */
  static bytesOf(spec: DecodedSpec): Uint8Array | undefined {
    return spec.#message?.subarray(spec.#start, spec.#end);
  }

  /** @internal Bytes [start, end) of `message`. */
  static setBytes(spec: DecodedSpec, message: Uint8Array, start: number, end: number): void {
    spec.#message = message;
    spec.#start = start;
    spec.#end = end;
  }
}

/** The bytes `spec` was decoded from, when it came in a submit message. */
export function receivedSpecBytes(spec: TaskSpec): Uint8Array | undefined {
  return spec instanceof DecodedSpec ? DecodedSpec.bytesOf(spec) : undefined;
}

/** Envelope field of the submit body, and SubmitGraph field of its tasks (proto/floe.proto). */
const ENVELOPE_SUBMIT = 10;
const SUBMIT_TASKS = 3;

/**
 * Remembers, for each of `specs` (decoded from `message`, a submit envelope, in order),
 * the bytes of its TaskSpec: for a submission decoded through protobufjs (an envelope
 * codec.ts does not read directly). The direct decoder (submit-decode.ts) records the same
 * ranges as it reads each spec. The message was decoded whole already, so it is well formed;
 * should the walk below still not find one TaskSpec per spec, nothing is remembered.
 */
export function rememberSpecBytes(message: Uint8Array, specs: readonly TaskSpec[]): void {
  try {
    const body = lengthDelimited(message, 0, message.length, ENVELOPE_SUBMIT);
    if (body.length !== 1) return;
    const tasks = lengthDelimited(message, body[0]![0], body[0]![1], SUBMIT_TASKS);
    if (tasks.length !== specs.length) return;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      if (spec instanceof DecodedSpec) DecodedSpec.setBytes(spec, message, tasks[i]![0], tasks[i]![1]);
    }
  } catch {
    // Not as decodeMessage read it: the specs are encoded field by field instead.
  }
}

/** [start, end) of each length-delimited field `field` of the message in bytes [from, to). */
function lengthDelimited(bytes: Uint8Array, from: number, to: number, field: number): [number, number][] {
  const out: [number, number][] = [];
  const reader = protobuf.Reader.create(bytes.subarray(0, to));
  reader.pos = from;
  while (reader.pos < to) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === 2) {
      const len = reader.uint32();
      out.push([reader.pos, reader.pos + len]);
      reader.skip(len);
    } else {
      reader.skipType(tag & 7);
    }
  }
  return out;
}
