/**
 * What a worker sends the coordinator (`Envelope { worker_events: WorkerEvents }`): its
 * completions (one TaskFinished per task) are written straight into one buffer (see
 * proto-write.ts), as the coordinator's per-task messages are; the rest of the message
 * (registration, failures, steals, metrics...: per message, not per task) is encoded by
 * protobufjs and copied in after them.
 *
 * The output is exactly what protobufjs' generated encoder writes given `toProtoBody(msg)`
 * (fields in number order: worker_id, register, finished, then the rest);
 * test/unit/events-encode.test.ts holds the two to it. Field numbers: proto/floe.proto
 * (Envelope.worker_events = 15, WorkerEvents, TaskFinished, SerializerRef).
 */
import type protobuf from 'protobufjs';
import { registerToProto, toProtoBody } from './codec-encode.ts';
import type { WireFinished, WireOf } from './messages.ts';
import { messageField, type Out, resultRefSize, startEnvelope, stringField, uint64Size, varintSize, writeResultRef } from './proto-write.ts';

type Events = WireOf<'workerEvents'>;

/** Encodes a whole workerEvents control message (the envelope included). */
export function encodeWorkerEventsMessage(msg: Events, lookupType: (name: string) => protobuf.Type): Uint8Array {
  const { finished } = msg;
  // Field 2 (registration, once per worker) and fields 4 on by protobufjs, unless only
  // the three flags and the epoch are set (the usual report: completions, maybe a heartbeat).
  const type = (): protobuf.Type => lookupType('floe.v1.WorkerEvents');
  const register = msg.register == null ? undefined : type().encode({ register: registerToProto(msg.register) }).finish();
  const tail = flagsOnly(msg) ? undefined : type().encode(toProtoBody({ ...msg, workerId: undefined as unknown as string, register: undefined, finished: [] })).finish();
  const sizes = new Uint32Array(finished.length);
  let body = stringField(msg.workerId) + (register?.length ?? 0) + (tail?.length ?? 7 + varintSize(msg.epoch >>> 0));
  for (let i = 0; i < finished.length; i++) {
    const size = finishedSize(finished[i]!);
    sizes[i] = size;
    body += messageField(size);
  }
  const w = startEnvelope(122, body);
  if (msg.workerId != null) w.varint(10).string(msg.workerId);
  if (register !== undefined) w.raw(register);
  for (let i = 0; i < finished.length; i++) {
    w.varint(26).varint(sizes[i]!);
    writeFinished(w, finished[i]!);
  }
  if (tail !== undefined) w.raw(tail);
  else {
    w.varint(40).varint(msg.heartbeat ? 1 : 0).varint(48).varint(msg.goodbye ? 1 : 0).varint(80).varint(msg.retiring ? 1 : 0);
    w.varint(120).varint(msg.epoch >>> 0);
  }
  return w.finish('workerEvents');
}

/** Nothing after the completions but heartbeat, goodbye, retiring and the epoch (always written: they are set); no submission passed on. */
function flagsOnly(msg: Events): boolean {
  return (
    msg.failed.length === 0 && msg.stolen.length === 0 && msg.stealRefused.length === 0 && msg.replicated.length === 0 && msg.replicateFailed.length === 0 &&
    msg.metrics == null && msg.missing.length === 0 && msg.seceded.length === 0 && msg.rejoined.length === 0 && msg.straggling.length === 0 && msg.relayed.length === 0 &&
    msg.heartbeat != null && msg.goodbye != null && msg.retiring != null && msg.epoch != null
  );
}

function finishedSize(f: WireFinished): number {
  let n = stringField(f.id);
  if (f.runId != null) n += 1 + uint64Size(f.runId);
  n += resultRefSize(f);
  if (f.durationMs != null) n += 9;
  if (f.startedAtMs != null) n += 9;
  return n;
}

function writeFinished(w: Out, f: WireFinished): void {
  if (f.id != null) w.varint(10).string(f.id);
  if (f.runId != null) w.varint(16).uint64(f.runId);
  writeResultRef(w, 3, f);
  if (f.durationMs != null) w.varint(57).double(f.durationMs);
  if (f.startedAtMs != null) w.varint(65).double(f.startedAtMs);
}
