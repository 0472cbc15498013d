/**
 * Client.putMany: a list of values put on the workers, a future per value, as Dask's
 * `scatter` of a list. The values are dealt to the workers in turn (or all go to the one
 * named), and each worker's share goes in a few uploads rather than one per value: an
 * upload carries up to UPLOAD_VALUES_MAX values and UPLOAD_BYTES_MAX bytes (a bigger value
 * goes alone), with one submission of as many tasks of the builtin `put` (client/put.ts,
 * worker/puts.ts), fewer if that submission would not fit in a message. A small put costs about a round trip to the worker and one to the
 * coordinator, so a thousand small values put one by one took over a second; in uploads,
 * a few.
 *
 * All or nothing: every value is serialized before anything is sent, and if an upload
 * fails, no new one starts, the futures of the values put are let go of, and the call
 * fails with the upload's error, naming the first of its values by its place in the list.
 */
import { FloeError } from '../errors.ts';
import { asFloeError, type Future } from './future.ts';
import { FRAME_OVERHEAD_BYTES } from '../transport/split.ts';
import { checkPutOptions, preparePut, type PreparedPut, type PutOptions, type Putter, type PutTarget } from './put.ts';

/** Uploads under way at once. */
const UPLOADS_AT_ONCE = 4;
/** Most values in one upload. */
export const UPLOAD_VALUES_MAX = 256;
/** Values share an upload up to this many bytes in all. */
export const UPLOAD_BYTES_MAX = 1024 * 1024;
/**
 * Most bytes of an upload's submission: it travels in the put's header (at most 64 KiB,
 * dataplane/grpc-put.ts), and the worker passes it on to the coordinator in a report, one
 * message that must fit the transport's limit with room for its frame (transport/split.ts).
 */
const SUBMISSION_BYTES_MAX = 56 * 1024;
const REPORT_ROOM_BYTES = FRAME_OVERHEAD_BYTES + 512;

/** Values of the list (by place) going to one worker in one upload. */
interface PlannedUpload {
  worker: PutTarget;
  indices: number[];
}

export async function putMany(putter: Putter, values: readonly unknown[], options: PutOptions | undefined): Promise<Future<unknown>[]> {
  if (!Array.isArray(values)) {
    throw new FloeError('INVALID_ARGUMENT', `putMany(values): values must be an array (got ${values === null ? 'null' : typeof values}); put() takes one value`);
  }
  if (options !== undefined) checkPutOptions(options);
  const n = values.length;
  const prepared: PreparedPut[] = [];
  for (let i = 0; i < n; i++) {
    try {
      prepared.push(await preparePut(values[i], options));
    } catch (error) {
      throw failedAt(error, i, n, 0, 'nothing was put');
    }
  }
  if (n === 0) return [];
  const uploads = plan(await putter.pickWorkers(options?.worker, false, n), prepared, valuesPerUpload(putter, prepared[0]!));
  const futures = new Array<Future<unknown>>(n);
  // The uploads that failed; no new one starts once one has.
  const failed: { upload: PlannedUpload; error: unknown }[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (failed.length === 0 && next < uploads.length) {
      const upload = uploads[next++]!;
      try {
        const made = await putter.upload(upload.worker, upload.indices.map((i) => prepared[i]!));
        upload.indices.forEach((index, k) => (futures[index] = made[k]!));
      } catch (error) {
        failed.push({ upload, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(UPLOADS_AT_ONCE, uploads.length) }, lane));
  if (failed.length === 0) return futures;
  for (const future of futures) future?.release();
  const first = failed.reduce((a, b) => (b.upload.indices[0]! < a.upload.indices[0]! ? b : a));
  throw failedAt(first.error, first.upload.indices[0]!, n, first.upload.indices.length - 1, 'the values put were let go of');
}

/**
 * The uploads: each worker's values (in the list's order) cut into uploads, and the
 * workers' uploads taken in turn, so that the first ones under way go to different workers.
 */
function plan(targets: readonly PutTarget[], prepared: readonly PreparedPut[], valuesMax: number): PlannedUpload[] {
  const byWorker = new Map<string, PlannedUpload[]>();
  const open = new Map<string, { upload: PlannedUpload; bytes: number }>();
  targets.forEach((worker, index) => {
    const bytes = prepared[index]!.bytes.byteLength;
    const current = open.get(worker.id);
    if (current !== undefined && current.upload.indices.length < valuesMax && current.bytes + bytes <= UPLOAD_BYTES_MAX) {
      current.upload.indices.push(index);
      current.bytes += bytes;
      return;
    }
    const upload = { worker, indices: [index] };
    open.set(worker.id, { upload, bytes });
    const list = byWorker.get(worker.id);
    if (list === undefined) byWorker.set(worker.id, [upload]);
    else list.push(upload);
  });
  const lists = [...byWorker.values()];
  const uploads: PlannedUpload[] = [];
  for (let round = 0; lists.some((l) => round < l.length); round++) {
    for (const list of lists) if (round < list.length) uploads.push(list[round]!);
  }
  return uploads;
}

/** How many values an upload may carry for its submission to fit (SUBMISSION_BYTES_MAX and the transport's limit). */
function valuesPerUpload(putter: Putter, value: PreparedPut): number {
  const transportMax = putter.maxPayloadBytes === undefined ? Number.POSITIVE_INFINITY : putter.maxPayloadBytes - REPORT_ROOM_BYTES;
  const fit = Math.floor((Math.min(SUBMISSION_BYTES_MAX, transportMax) - 64) / putter.submissionBytesPerValue(value.serializer));
  return Math.max(1, Math.min(UPLOAD_VALUES_MAX, fit));
}

/** The error of the value at `index` of `n` (and of `others` put with it), naming its place. */
function failedAt(error: unknown, index: number, n: number, others: number, after: string): FloeError {
  const floeError = asFloeError(error);
  const withIt = others === 0 ? '' : ` (and the ${others} other value${others === 1 ? '' : 's'} put with it)`;
  return new FloeError(floeError.code, `putMany: value ${index} of ${n}${withIt}: ${floeError.message} (${after})`, {
    cause: floeError, retryable: floeError.retryable, taskKey: floeError.taskKey,
  });
}
