/**
 * The messages several direct decoders read (see proto-read.ts): TaskSpec (a submission's
 * tasks, an assignment's spec), SerializerRef, ResourceAmount, ErrorInfo and RunRef. Each
 * reads the length-delimited sub-message at the cursor and gives what codec-decode.ts
 * gives for it. Field numbers: proto/floe.proto; a `case` is a whole tag, (field << 3) |
 * wire type, and any other tag goes to `unknown` (skipped, or malformed when the field is
 * known).
 */
import type { ErrorInfo } from '../errors.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import { errorInfo, intern, NO_BYTES, NO_RESOURCES, nonEmpty, serializerRef } from './decode-shared.ts';
import type { WireRunRef } from './messages.ts';
import { type ProtoReader, StringSlot } from './proto-read.ts';
import { DecodedSpec } from './spec-bytes.ts';

// What most specs of a message share, read as the bytes of the last one (ProtoReader.repeated).
const NAME = new StringSlot(intern);
const MODULE = new StringSlot(intern);
const EXPORT_NAME = new StringSlot(intern);
const SERIALIZER_ID = new StringSlot();
const SERIALIZER_MODULE = new StringSlot();

/**
 * A TaskSpec, not yet checked for its required fields (missingSpecField): an Assign may
 * carry its spec twice, and then only the last counts, as in protobufjs. With `message`,
 * the spec remembers the bytes it came in (its range of `message`, see spec-bytes.ts).
 */
export function readSpec(r: ProtoReader, message?: Uint8Array): TaskSpec {
  const outer = r.enter();
  const start = r.pos;
  let key = '';
  let name = '';
  let module = '';
  let exportName = '';
  let args: Uint8Array = NO_BYTES;
  const deps: string[] = [];
  let serializer: SerializerRef | undefined;
  let priority = 0;
  let retries = 0;
  let retryDelayMs = 0;
  let retryBackoff = 0;
  let timeoutMs = 0;
  // Made on the first entry: a spec with none shares NO_RESOURCES.
  let resources: Record<string, number> | undefined;
  let traceParent = '';
  let actor = '';
  let restartsMax = 0;
  let holdsActors: string[] | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: key = r.stringMarked(r.keys.current); break;
      case 18: name = r.repeated(NAME); break;
      case 26: module = r.repeated(MODULE); break;
      case 34: exportName = r.repeated(EXPORT_NAME); break;
      case 42: args = r.bytes(); break;
      case 50: deps.push(r.stringAsMarked(r.keys.previous)); break;
      case 58: serializer = readSerializer(r); break;
      case 65: priority = r.double(); break;
      case 72: retries = r.uint32(); break;
      case 81: retryDelayMs = r.double(); break;
      case 89: retryBackoff = r.double(); break;
      case 97: timeoutMs = r.double(); break;
      case 106: readResource(r, (resources ??= {})); break;
      case 114: traceParent = r.string(); break;
      case 122: actor = r.string(); break;
      case 128: restartsMax = r.uint32(); break;
      case 138: (holdsActors ??= []).push(r.string()); break;
      default: r.unknown(tag, 17);
    }
  }
  const end = r.end;
  r.leave(outer);
  r.keys.next(); // this spec's key is the one before for the next spec's inputs
  const decoded = new DecodedSpec(
    key, name, module, exportName, args, deps, serializer ?? serializerRef('', ''),
    priority, retries, retryDelayMs, retryBackoff, timeoutMs, resources ?? NO_RESOURCES,
  );
  if (message !== undefined) DecodedSpec.setBytes(decoded, message, start, end);
  const spec: TaskSpec = decoded;
  // The optional fields only when set, as codec-decode.ts sets them.
  if (traceParent !== '') spec.traceParent = traceParent;
  if (actor !== '') spec.actor = actor;
  if (restartsMax !== 0) spec.restartsMax = restartsMax;
  if (holdsActors !== undefined) spec.holdsActors = holdsActors;
  return spec;
}

export function readSerializer(r: ProtoReader): SerializerRef {
  const outer = r.enter();
  let id = '';
  let module = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) id = r.repeated(SERIALIZER_ID);
    else if (tag === 18) module = r.repeated(SERIALIZER_MODULE);
    else r.unknown(tag, 2);
  }
  r.leave(outer);
  return serializerRef(id, module);
}

/** A ResourceAmount, set in `out` (a later entry of the same name wins, as in codec-decode.ts). */
export function readResource(r: ProtoReader, out: Record<string, number>): void {
  const outer = r.enter();
  let name = '';
  let amount = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) name = r.string();
    else if (tag === 17) amount = r.double();
    else r.unknown(tag, 2);
  }
  r.leave(outer);
  out[name] = amount;
}

export function readError(r: ProtoReader): ErrorInfo {
  const outer = r.enter();
  let code = '';
  let message = '';
  let retryable = false;
  let stack = '';
  let taskKey = '';
  let originalName = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: code = r.string(); break;
      case 18: message = r.string(); break;
      case 24: retryable = r.bool(); break;
      case 34: stack = r.string(); break;
      case 42: taskKey = r.string(); break;
      case 50: originalName = r.string(); break;
      default: r.unknown(tag, 6);
    }
  }
  r.leave(outer);
  return errorInfo(code, message, retryable, stack, taskKey, originalName);
}

/** What an absent ErrorInfo reads as where one is required (TaskFailed.error). */
export function noError(): ErrorInfo {
  return errorInfo('', '', false, '', '', '');
}

export function readRunRef(r: ProtoReader): WireRunRef {
  const outer = r.enter();
  let id = '';
  let runId = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) id = r.string();
    else if (tag === 16) runId = r.uint64();
    else r.unknown(tag, 2);
  }
  r.leave(outer);
  return { id: nonEmpty(id, 'run.id'), runId };
}
