/**
 * Results of a task batch as a pool thread posts them to the worker (runtime/run-batch.ts):
 * the numbers of the successful runs in one Float64Array and their small results in one
 * shared buffer, instead of a structured clone of two objects per result. Failures are
 * rare and go as they are, in their place in the order. The worker makes the responses
 * again (unpackResults), in the order they were added.
 */
import type { SerializerRef } from '../graph/spec.ts';
import type { ThreadResponse } from './protocol.ts';

/** A failed run of a post: `index` into the batch's requests. */
type Failed = { index: number; response: ThreadResponse };

type Ok = Extract<ThreadResponse, { type: 'ok' }>;

const OK_INDEX = 0;
const OK_STARTED_AT_MS = 1;
const OK_DURATION_MS = 2;
/** NaN: not timed. */
const OK_SERIALIZE_MS = 3;
/** Index into `serializers`. */
const OK_SERIALIZER = 4;
/** Where its bytes are: start and end in `shared`, or (-1 - i, 0) for `own[i]`; NaN: failed (OK_END is its index into `failed`). */
const OK_START = 5;
const OK_END = 6;
const OK_FIELDS = 7;

/** One post of a batch's results. */
export interface PackedResults {
  batchId: number;
  /** OK_FIELDS numbers per run (a failed one has only OK_INDEX, OK_START and OK_END). */
  ok: Float64Array;
  serializers: SerializerRef[];
  /** Small results, one after another (see run-batch.ts). */
  shared: Uint8Array;
  /** Results that own their buffer, moved. */
  own: Uint8Array[];
  failed: Failed[];
}

/** Builds one post: add() results, then take() the message. */
export class ResultsPacker {
  #ok: number[] = [];
  #serializers: SerializerRef[] = [];
  #own: Uint8Array[] = [];
  #failed: Failed[] = [];

  get size(): number {
    return this.#ok.length / OK_FIELDS;
  }

  failed(index: number, res: ThreadResponse): void {
    this.#failed.push({ index, response: res });
    this.#ok.push(index, 0, 0, 0, 0, Number.NaN, this.#failed.length - 1);
  }

  /** A result copied into the shared buffer at [start, end). */
  shared(index: number, res: Ok, start: number, end: number): void {
    this.#push(index, res, start, end);
  }

  /** A result that owns its buffer (moved with the post). */
  own(index: number, res: Ok, bytes: Uint8Array): void {
    this.#own.push(bytes);
    this.#push(index, res, -this.#own.length, 0);
  }

  #push(index: number, res: Ok, start: number, end: number): void {
    let s = this.#serializers.indexOf(res.serializer);
    if (s < 0) s = this.#serializers.push(res.serializer) - 1;
    this.#ok.push(index, res.startedAtMs, res.durationMs, res.serializeMs ?? Number.NaN, s, start, end);
  }

  /** The message with `shared` as its shared buffer; the packer starts over. */
  take(batchId: number, shared: Uint8Array): PackedResults {
    const msg: PackedResults = { batchId, ok: Float64Array.from(this.#ok), serializers: this.#serializers, shared, own: this.#own, failed: this.#failed };
    this.#ok = [];
    this.#serializers = [];
    this.#own = [];
    this.#failed = [];
    return msg;
  }
}

/** The responses of a post, by index into the batch. */
export function unpackResults(msg: PackedResults, each: (index: number, res: ThreadResponse) => void): void {
  const { ok, serializers, shared, own, failed } = msg;
  for (let o = 0; o < ok.length; o += OK_FIELDS) {
    const start = ok[o + OK_START]!;
    if (Number.isNaN(start)) {
      const f = failed[ok[o + OK_END]!]!;
      each(f.index, f.response);
      continue;
    }
    const bytes = start >= 0 ? shared.subarray(start, ok[o + OK_END]) : own[-1 - start]!;
    const res: Ok = {
      type: 'ok',
      bytes,
      serializer: serializers[ok[o + OK_SERIALIZER]!]!,
      startedAtMs: ok[o + OK_STARTED_AT_MS]!,
      durationMs: ok[o + OK_DURATION_MS]!,
    };
    const serializeMs = ok[o + OK_SERIALIZE_MS]!;
    if (!Number.isNaN(serializeMs)) res.serializeMs = serializeMs;
    each(ok[o + OK_INDEX]!, res);
  }
}
