/**
 * A task batch as it crosses to its pool thread: a few flat arrays instead of an object
 * per request. Posting a message costs per object and per string in it (structured
 * clone), and the requests of a batch mostly repeat the same few strings (module URL,
 * export, serializer): packed, each distinct string goes once, the numbers go as one
 * Float64Array and every request's argument and input bytes as one buffer, moved rather
 * than copied. The thread makes the requests again (unpackBatch) before it runs them.
 */
import type { SerializerRef } from '../graph/spec.ts';
import type { ThreadBatch, ThreadDep, ThreadRequest } from './protocol.ts';

/** What the worker posts to a pool thread for a batch (see ThreadBatch). */
export interface PackedBatch {
  batchId: number;
  cells: Int32Array;
  /** Strings of the batch, each repeated one once (a task's own key is not looked up: it is its own); the numbers below refer to them by index. */
  strings: string[];
  /** REQ_FIELDS numbers per request (REQ_* offsets). */
  reqs: Float64Array;
  /** DEP_FIELDS numbers per input (DEP_* offsets), the inputs of request 0 first. */
  deps: Float64Array;
  /** Argument and input bytes of every request, one after another. */
  bytes: Uint8Array;
}

const REQ_TASK_KEY = 0;
const REQ_NAME = 1;
const REQ_MODULE = 2;
const REQ_EXPORT = 3;
const REQ_SERIALIZER_ID = 4;
const REQ_SERIALIZER_MODULE = 5;
const REQ_ATTEMPT = 6;
/** -1: none. */
const REQ_TRACE_PARENT = 7;
/** -1: none. */
const REQ_CONTEXT_REF = 8;
const REQ_ARGS_END = 9;
const REQ_DEPS = 10;
const REQ_FIELDS = 11;

const DEP_KEY = 0;
const DEP_SERIALIZER_ID = 1;
const DEP_SERIALIZER_MODULE = 2;
/** NaN: none (ThreadDep.from absent). */
const DEP_FROM = 3;
const DEP_BYTES_END = 4;
const DEP_FIELDS = 5;
/** A slot per string field of a request and of an input (packBatch's cache of the last string). */
const FIELD_SLOTS = REQ_FIELDS + DEP_FIELDS;

export function isPackedBatch(msg: unknown): msg is PackedBatch {
  return typeof msg === 'object' && msg !== null && (msg as Partial<PackedBatch>).strings !== undefined;
}

/**
 * Packs requests for a pool thread, request i with context `contextRefs[i]` when given
 * (instead of its own contextRef). `requests` are not changed; the packed bytes are a
 * copy, and the returned buffer is the one to move with the message.
 */
export function packBatch(
  batchId: number,
  requests: readonly ThreadRequest[],
  cells: Int32Array,
  contextRefs: readonly (number | undefined)[] = [],
): { packed: PackedBatch; transfer: ArrayBuffer } {
  const strings: string[] = [];
  const index = new Map<string, number>();
  // The last string of each field and its index: the requests of a batch mostly share their
  // name, module, export and serializers, so most fields are found without hashing.
  const lastString: (string | undefined)[] = new Array<string | undefined>(FIELD_SLOTS).fill(undefined);
  const lastIndex = new Array<number>(FIELD_SLOTS).fill(0);
  const at = (slot: number, s: string): number => {
    if (lastString[slot] === s) return lastIndex[slot]!;
    let i = index.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      index.set(s, i);
    }
    lastString[slot] = s;
    lastIndex[slot] = i;
    return i;
  };
  let depCount = 0;
  let byteCount = 0;
  for (const req of requests) {
    depCount += req.deps.length;
    byteCount += req.args.byteLength;
    for (const dep of req.deps) byteCount += dep.bytes.byteLength;
  }
  const reqs = new Float64Array(requests.length * REQ_FIELDS);
  const deps = new Float64Array(depCount * DEP_FIELDS);
  // One spare byte, so that no request's view covers the whole buffer: a task handed such
  // a view could otherwise move (detach) the bytes of the requests after it.
  const bytes = new Uint8Array(byteCount + 1);
  let r = 0;
  let d = 0;
  let b = 0;
  for (let i = 0; i < requests.length; i++) {
    const req = requests[i]!;
    // A task's key is its own: not looked up (and hashed) to share it.
    reqs[r + REQ_TASK_KEY] = strings.push(req.taskKey) - 1;
    reqs[r + REQ_NAME] = at(REQ_NAME, req.name);
    reqs[r + REQ_MODULE] = at(REQ_MODULE, req.module);
    reqs[r + REQ_EXPORT] = at(REQ_EXPORT, req.exportName);
    reqs[r + REQ_SERIALIZER_ID] = at(REQ_SERIALIZER_ID, req.serializer.id);
    reqs[r + REQ_SERIALIZER_MODULE] = at(REQ_SERIALIZER_MODULE, req.serializer.module);
    reqs[r + REQ_ATTEMPT] = req.attempt;
    reqs[r + REQ_TRACE_PARENT] = req.traceParent === undefined ? -1 : at(REQ_TRACE_PARENT, req.traceParent);
    reqs[r + REQ_CONTEXT_REF] = contextRefs[i] ?? req.contextRef ?? -1;
    bytes.set(req.args, b);
    b += req.args.byteLength;
    reqs[r + REQ_ARGS_END] = b;
    reqs[r + REQ_DEPS] = req.deps.length;
    r += REQ_FIELDS;
    for (const dep of req.deps) {
      // An input made earlier in the batch (a chain's) has that request's key: its string is sent once.
      const from = dep.from;
      const maker = from !== undefined && from >= 0 && from < i ? requests[from] : undefined;
      deps[d + DEP_KEY] = maker !== undefined && maker.taskKey === dep.key ? reqs[from! * REQ_FIELDS + REQ_TASK_KEY]! : at(REQ_FIELDS + DEP_KEY, dep.key);
      deps[d + DEP_SERIALIZER_ID] = at(REQ_FIELDS + DEP_SERIALIZER_ID, dep.serializer.id);
      deps[d + DEP_SERIALIZER_MODULE] = at(REQ_FIELDS + DEP_SERIALIZER_MODULE, dep.serializer.module);
      deps[d + DEP_FROM] = dep.from ?? Number.NaN;
      bytes.set(dep.bytes, b);
      b += dep.bytes.byteLength;
      deps[d + DEP_BYTES_END] = b;
      d += DEP_FIELDS;
    }
  }
  return { packed: { batchId, cells, strings, reqs, deps, bytes }, transfer: bytes.buffer };
}

/**
 * The requests of a packed batch. Their bytes are views into the batch's buffer; requests
 * with the same serializer share one SerializerRef.
 */
export function unpackBatch(packed: PackedBatch): ThreadBatch {
  const { strings, reqs: nums, deps: depNums, bytes } = packed;
  const str = (i: number): string => strings[i]!;
  const refs = new Map<number, SerializerRef>();
  const serializerRef = (id: number, module: number): SerializerRef => {
    const k = id * strings.length + module;
    let ref = refs.get(k);
    if (ref === undefined) refs.set(k, (ref = { id: str(id), module: str(module) }));
    return ref;
  };
  const reqs: ThreadRequest[] = [];
  let d = 0;
  let b = 0;
  for (let r = 0; r < nums.length; r += REQ_FIELDS) {
    const argsEnd = nums[r + REQ_ARGS_END]!;
    const args = bytes.subarray(b, argsEnd);
    b = argsEnd;
    const deps: ThreadDep[] = [];
    const depEnd = d + nums[r + REQ_DEPS]! * DEP_FIELDS;
    for (; d < depEnd; d += DEP_FIELDS) {
      const end = depNums[d + DEP_BYTES_END]!;
      const dep: ThreadDep = {
        key: str(depNums[d + DEP_KEY]!),
        serializer: serializerRef(depNums[d + DEP_SERIALIZER_ID]!, depNums[d + DEP_SERIALIZER_MODULE]!),
        bytes: bytes.subarray(b, end),
      };
      const from = depNums[d + DEP_FROM]!;
      if (!Number.isNaN(from)) dep.from = from;
      b = end;
      deps.push(dep);
    }
    const req: ThreadRequest = {
      taskKey: str(nums[r + REQ_TASK_KEY]!),
      name: str(nums[r + REQ_NAME]!),
      module: str(nums[r + REQ_MODULE]!),
      exportName: str(nums[r + REQ_EXPORT]!),
      args,
      deps,
      serializer: serializerRef(nums[r + REQ_SERIALIZER_ID]!, nums[r + REQ_SERIALIZER_MODULE]!),
      attempt: nums[r + REQ_ATTEMPT]!,
    };
    const traceParent = nums[r + REQ_TRACE_PARENT]!;
    if (traceParent >= 0) req.traceParent = str(traceParent);
    const contextRef = nums[r + REQ_CONTEXT_REF]!;
    if (contextRef >= 0) req.contextRef = contextRef;
    reqs.push(req);
  }
  return { batchId: packed.batchId, reqs, cells: packed.cells };
}
