/**
 * The two messages a client sends per task, encoded straight into one buffer: the submit
 * message (`Envelope { submit: SubmitGraph }`), in a pass that sizes every task and a pass
 * that writes, and the releases (`Envelope { client_batch: ClientBatch }`). protobufjs'
 * Writer allocates an operation object per field and a fork per sub-message, several
 * hundred bytes of garbage per task, all alive until the message is done; a submission of
 * thousands of tasks paid for that in young-generation collections.
 *
 * The bytes are exactly those of protobufjs' generated encoder given `toProtoBody(msg)`
 * (fields in number order, a field written when it is set, even to its default; strings
 * written as protobufjs writes them); test/unit/client-encode.test.ts holds the two to it.
 * Field numbers: proto/floe.proto (Envelope.submit = 10, Envelope.client_batch = 12,
 * SubmitGraph, TaskSpec, SerializerRef, ResourceAmount, MissingResult, DirectRun, ClientBatch).
 *
 * The tasks of a submission mostly come from a few task definitions, and share most of
 * their fields (module, export name, the options): those are encoded once (SharedFields)
 * and copied as bytes into each task, after comparing the values they were encoded from.
 */
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import type { MissingResult, WireDirectRun, WireOf } from './messages.ts';
import { Out, messageField, specSize, specTailSize, startEnvelope, stringField, uint64Size, varintSize, writeSpec, writeSpecTail } from './proto-write.ts';

/** Encodes a whole submit control message (the envelope included). */
export function encodeSubmitMessage(msg: WireOf<'submit'>): Uint8Array {
  const { tasks } = msg;
  // Task sizes and shared fields are needed twice (sizing, then writing): kept per task.
  const taskSizes = new Uint32Array(tasks.length);
  const shared = new Array<SharedFields | undefined>(tasks.length);
  const encodedBefore = sharedEncoded;
  let body = stringField(msg.clientId) + stringField(msg.requestId);
  for (let i = 0; i < tasks.length; i++) {
    const spec = tasks[i]!;
    const fields = sharedFieldsOf(spec, sharedEncoded - encodedBefore < SHARED_ENCODED_MAX);
    shared[i] = fields;
    const size = fields === undefined ? specSize(spec) : taskSize(spec, fields);
    taskSizes[i] = size;
    body += 1 + varintSize(size) + size;
  }
  for (const key of msg.wants) body += stringField(key);
  const missing = msg.missing ?? [];
  for (const m of missing) body += messageField(missingSize(m));
  if (msg.progress != null) body += 2;
  const direct = msg.direct;
  if (direct !== undefined) body += messageField(directSize(direct));
  body += stringField(msg.coordinatorIncarnation);
  const w = startEnvelope(82, body);
  if (msg.clientId != null) w.varint(10).string(msg.clientId);
  if (msg.requestId != null) w.varint(18).string(msg.requestId);
  for (let i = 0; i < tasks.length; i++) {
    w.varint(26).varint(taskSizes[i]!);
    const fields = shared[i];
    if (fields === undefined) writeSpec(w, tasks[i]!);
    else writeTask(w, tasks[i]!, fields);
  }
  for (const key of msg.wants) w.varint(34).string(key);
  for (const m of missing) {
    w.varint(42).varint(missingSize(m));
    if (m.key != null) w.varint(10).string(m.key);
    if (m.workerId != null) w.varint(18).string(m.workerId);
  }
  if (msg.progress != null) w.varint(48).varint(msg.progress ? 1 : 0);
  if (direct !== undefined) {
    w.varint(58).varint(directSize(direct));
    if (direct.workerId != null) w.varint(10).string(direct.workerId);
    if (direct.epoch != null) w.varint(16).varint(direct.epoch);
    if (direct.runId != null) w.varint(24).uint64(direct.runId);
  }
  if (msg.coordinatorIncarnation != null) w.varint(66).string(msg.coordinatorIncarnation);
  return w.finish('submit');
}

/** Encodes a whole clientBatch control message (the envelope included). */
export function encodeClientBatchMessage(msg: WireOf<'clientBatch'>): Uint8Array {
  let body = stringField(msg.clientId);
  for (const key of msg.release) body += stringField(key);
  for (const key of msg.cancel) body += stringField(key);
  if (msg.hello != null) body += 2;
  if (msg.bye != null) body += 2;
  body += stringField(msg.coordinatorIncarnation);
  if (msg.heartbeatIntervalMs) body += 1 + varintSize(msg.heartbeatIntervalMs);
  const w = startEnvelope(98, body);
  if (msg.clientId != null) w.varint(10).string(msg.clientId);
  for (const key of msg.release) w.varint(18).string(key);
  for (const key of msg.cancel) w.varint(26).string(key);
  if (msg.hello != null) w.varint(32).varint(msg.hello ? 1 : 0);
  if (msg.bye != null) w.varint(40).varint(msg.bye ? 1 : 0);
  if (msg.coordinatorIncarnation != null) w.varint(50).string(msg.coordinatorIncarnation);
  if (msg.heartbeatIntervalMs) w.varint(56).varint(msg.heartbeatIntervalMs);
  return w.finish('clientBatch');
}

function directSize(d: WireDirectRun): number {
  return stringField(d.workerId) + 1 + varintSize(d.epoch) + 1 + uint64Size(d.runId);
}

function missingSize(m: MissingResult): number {
  return stringField(m.key) + stringField(m.workerId);
}

/** Bytes of a TaskSpec whose shared fields are `fields` (as proto-write's specSize counts them). */
function taskSize(spec: TaskSpec, fields: SharedFields): number {
  let n = stringField(spec.key) + stringField(spec.name) + fields.head.length + fields.tail.length;
  if (spec.args != null) n += 1 + varintSize(spec.args.length) + spec.args.length;
  for (const dep of spec.deps) n += stringField(dep);
  n += stringField(spec.traceParent) + stringField(spec.actor);
  if (spec.restartsMax != null) n += 2 + varintSize(spec.restartsMax >>> 0);
  if (spec.holdsActors != null) for (const id of spec.holdsActors) n += 1 + stringField(id);
  return n;
}

/** A TaskSpec's fields in number order, as proto-write's writeSpec writes them, the shared ones copied. */
function writeTask(w: Out, spec: TaskSpec, fields: SharedFields): void {
  if (spec.key != null) w.varint(10).string(spec.key);
  if (spec.name != null) w.varint(18).string(spec.name);
  w.raw(fields.head);
  if (spec.args != null) w.varint(42).bytes(spec.args);
  for (const dep of spec.deps) w.varint(50).string(dep);
  w.raw(fields.tail);
  if (spec.traceParent != null) w.varint(114).string(spec.traceParent);
  if (spec.actor != null) w.varint(122).string(spec.actor);
  if (spec.restartsMax != null) w.varint(128).varint(spec.restartsMax >>> 0);
  if (spec.holdsActors != null) for (const id of spec.holdsActors) w.varint(138).string(id);
}

/** Fields 3-4 (module, exportName) of `spec`, as writeSpec writes them. */
function writeHead(w: Out, spec: TaskSpec): void {
  if (spec.module != null) w.varint(26).string(spec.module);
  if (spec.exportName != null) w.varint(34).string(spec.exportName);
}

/**
 * The fields of a TaskSpec that tasks of one definition share, encoded: `head` is fields
 * 3-4, `tail` fields 7-13 (the name, field 2, is written per task: a task may be named
 * per call); and the values they were encoded from, compared field by field with each
 * spec that would use them (a spec is a plain object that may have been changed since, so
 * its identity or its definition's is not enough).
 */
interface SharedFields {
  readonly head: Uint8Array;
  readonly tail: Uint8Array;
  readonly module: string | undefined;
  readonly exportName: string | undefined;
  readonly serializer: SerializerRef | undefined;
  readonly priority: number | undefined;
  readonly retries: number | undefined;
  readonly retryDelayMs: number | undefined;
  readonly retryBackoff: number | undefined;
  readonly timeoutMs: number | undefined;
  /** Resource names and amounts in the order the encoder visits them. */
  readonly resources: readonly (string | number | undefined)[];
}

/** Shared fields kept: a submission interleaving the tasks of more definitions encodes theirs again as they come. */
const SHARED_KEPT_MAX = 8;
/**
 * Shared fields one message may encode; its other tasks that match none kept are written
 * field by field. Tasks whose options differ call by call (a priority each) would
 * otherwise pay for encoding their fields twice.
 */
const SHARED_ENCODED_MAX = 16;
const recent: SharedFields[] = [];
/** Shared fields encoded so far (by all messages). */
let sharedEncoded = 0;

/** The shared fields of `spec`: ones kept, when they were encoded from the same values, or new ones (when `mayEncode`). */
function sharedFieldsOf(spec: TaskSpec, mayEncode: boolean): SharedFields | undefined {
  for (let i = 0; i < recent.length; i++) {
    const fields = recent[i]!;
    if (!sameShared(fields, spec)) continue;
    if (i > 0) {
      // The most recently used first: a submission is mostly runs of one definition's tasks.
      recent[i] = recent[0]!;
      recent[0] = fields;
    }
    return fields;
  }
  if (!mayEncode) return undefined;
  const fields = encodeShared(spec);
  sharedEncoded += 1;
  if (recent.length === SHARED_KEPT_MAX) recent.pop();
  recent.unshift(fields);
  return fields;
}

function sameShared(f: SharedFields, spec: TaskSpec): boolean {
  const s = spec.serializer;
  return (
    f.module === spec.module &&
    f.exportName === spec.exportName &&
    (s == null ? f.serializer === undefined : f.serializer !== undefined && f.serializer.id === s.id && f.serializer.module === s.module) &&
    sameNumber(f.priority, spec.priority) &&
    sameNumber(f.retries, spec.retries) &&
    sameNumber(f.retryDelayMs, spec.retryDelayMs) &&
    sameNumber(f.retryBackoff, spec.retryBackoff) &&
    sameNumber(f.timeoutMs, spec.timeoutMs) &&
    sameResources(f.resources, spec.resources)
  );
}

/** Equal values that encode the same: 0 is not -0 (their doubles differ), NaN never matches (its bits may differ). */
function sameNumber(a: number | undefined, b: number | undefined): boolean {
  return a === b && (a !== 0 || 1 / a === 1 / b!);
}

function sameResources(entries: readonly (string | number | undefined)[], resources: Record<string, number>): boolean {
  let i = 0;
  for (const name in resources) {
    if (i >= entries.length || entries[i] !== name || !sameNumber(entries[i + 1] as number | undefined, resources[name])) return false;
    i += 2;
  }
  return i === entries.length;
}

function encodeShared(spec: TaskSpec): SharedFields {
  const resources: (string | number | undefined)[] = [];
  for (const name in spec.resources) resources.push(name, spec.resources[name]);
  const s = spec.serializer;
  return {
    head: encodeWith(writeHead, stringField(spec.module) + stringField(spec.exportName), spec),
    tail: encodeWith(writeSpecTail, specTailSize(spec), spec),
    module: spec.module,
    exportName: spec.exportName,
    serializer: s == null ? undefined : { id: s.id, module: s.module },
    priority: spec.priority,
    retries: spec.retries,
    retryDelayMs: spec.retryDelayMs,
    retryBackoff: spec.retryBackoff,
    timeoutMs: spec.timeoutMs,
    resources,
  };
}

/** Some fields of `spec`, `size` bytes, written by `write` into a buffer of their own. */
function encodeWith(write: (w: Out, spec: TaskSpec) => void, size: number, spec: TaskSpec): Uint8Array {
  const w = new Out(Buffer.alloc(size));
  write(w, spec);
  return w.finish('task spec');
}

