/**
 * What the coordinator sends a worker (`Envelope { worker_batch: WorkerBatch }`), encoded
 * straight into one buffer (see proto-write.ts), as the client's messages are. An
 * assignment's spec is copied as the bytes it arrived in from its client (spec-bytes.ts)
 * rather than written field by field: most of an assignment is its spec, and it never
 * changes on the way. Replicate orders (draining a retiring worker; rare) go through
 * protobufjs.
 *
 * Without received spec bytes, the output is exactly what protobufjs' generated encoder
 * writes given `toProtoBody(msg)`; test/unit/worker-encode.test.ts holds the two to it.
 * Field numbers: proto/floe.proto (Envelope.worker_batch = 14, WorkerBatch, Assign,
 * DepLocation, Holder, RunRef, SerializerRef).
 */
import type protobuf from 'protobufjs';
import type { WireAssign, WireDepLocation, WireOf } from './messages.ts';
import { messageField, type Out, resultRefSize, specSize, startEnvelope, stringField, uint64Size, varintSize, writeResultRef, writeSpec } from './proto-write.ts';
import { receivedSpecBytes } from './spec-bytes.ts';

type Batch = WireOf<'workerBatch'>;
type RunRef = Batch['cancel'][number];
type Holder = WireDepLocation['holders'][number];

/** Encodes a whole workerBatch control message (the envelope included). */
export function encodeWorkerBatchMessage(msg: Batch, lookupType: (name: string) => protobuf.Type): Uint8Array {
  const { assign } = msg;
  // Sizes are needed twice (the length prefix, then the write): an assignment's and its spec's.
  const sizes = new Uint32Array(assign.length * 2);
  // ...and so is each spec's received bytes (a new view each time they are asked for).
  const received = assign.map((a) => receivedSpecBytes(a.spec));
  let body = 0;
  for (let i = 0; i < assign.length; i++) {
    const a = assign[i]!;
    const spec = received[i]?.length ?? specSize(a.spec);
    const size = assignSize(a, spec);
    sizes[2 * i] = size;
    sizes[2 * i + 1] = spec;
    body += messageField(size);
  }
  for (const c of msg.cancel) body += messageField(runRefSize(c));
  for (const id of msg.release) body += stringField(id);
  for (const s of msg.steal) body += messageField(runRefSize(s));
  const replicate = msg.replicate.length === 0 ? [] : msg.replicate.map((r) => lookupType('floe.v1.Replicate').encode(r).finish());
  for (const r of replicate) body += messageField(r.length);
  if (msg.retired != null) body += 2;
  if (msg.reregister != null) body += 2;
  for (const id of msg.clientsGone) body += stringField(id);
  if (msg.epoch != null) body += 1 + varintSize(msg.epoch >>> 0);

  const w = startEnvelope(114, body);
  for (let i = 0; i < assign.length; i++) {
    w.varint(10).varint(sizes[2 * i]!);
    writeAssign(w, assign[i]!, sizes[2 * i + 1]!, received[i]);
  }
  for (const c of msg.cancel) writeRunRef(w, 18, c);
  for (const id of msg.release) w.varint(26).string(id);
  for (const s of msg.steal) writeRunRef(w, 34, s);
  for (const r of replicate) w.varint(42).bytes(r);
  if (msg.retired != null) w.varint(48).varint(msg.retired ? 1 : 0);
  if (msg.reregister != null) w.varint(56).varint(msg.reregister ? 1 : 0);
  for (const id of msg.clientsGone) w.varint(66).string(id);
  if (msg.epoch != null) w.varint(72).varint(msg.epoch >>> 0);
  return w.finish('workerBatch');
}

function assignSize(a: WireAssign, specBytes: number): number {
  let n = stringField(a.id);
  if (a.runId != null) n += 1 + uint64Size(a.runId);
  if (a.attempt != null) n += 1 + varintSize(a.attempt >>> 0);
  n += messageField(specBytes);
  for (const d of a.deps) n += messageField(depSize(d));
  n += stringField(a.traceParent);
  if (a.order != null) n += 1 + uint64Size(a.order);
  if (a.tellClient != null) n += 2;
  return n;
}

function writeAssign(w: Out, a: WireAssign, specBytes: number, received: Uint8Array | undefined): void {
  if (a.id != null) w.varint(10).string(a.id);
  if (a.runId != null) w.varint(16).uint64(a.runId);
  if (a.attempt != null) w.varint(24).varint(a.attempt >>> 0);
  w.varint(34);
  if (received !== undefined) {
    w.bytes(received);
  } else {
    w.varint(specBytes);
    writeSpec(w, a.spec);
  }
  for (const d of a.deps) {
    w.varint(42).varint(depSize(d));
    writeDep(w, d);
  }
  if (a.traceParent != null) w.varint(50).string(a.traceParent);
  if (a.order != null) w.varint(56).uint64(a.order);
  if (a.tellClient != null) w.varint(64).varint(a.tellClient ? 1 : 0);
}

function depSize(d: WireDepLocation): number {
  let n = stringField(d.id);
  for (const h of d.holders) n += messageField(holderSize(h));
  return n + resultRefSize(d);
}

function writeDep(w: Out, d: WireDepLocation): void {
  if (d.id != null) w.varint(10).string(d.id);
  for (const h of d.holders) {
    w.varint(18).varint(holderSize(h));
    if (h.workerId != null) w.varint(10).string(h.workerId);
    if (h.address != null) w.varint(18).string(h.address);
  }
  writeResultRef(w, 3, d);
}

function holderSize(h: Holder): number {
  return stringField(h.workerId) + stringField(h.address);
}

function runRefSize(r: RunRef): number {
  return stringField(r.id) + (r.runId == null ? 0 : 1 + uint64Size(r.runId));
}

function writeRunRef(w: Out, tag: number, r: RunRef): void {
  w.varint(tag).varint(runRefSize(r));
  if (r.id != null) w.varint(10).string(r.id);
  if (r.runId != null) w.varint(16).uint64(r.runId);
}
