/**
 * What the coordinator sends a worker (`Envelope { worker_batch: WorkerBatch }`), read
 * straight from its bytes (proto-read.ts): the mirror of worker-encode.ts, and what a
 * worker's main thread reads per task. Gives exactly what codec-decode.ts gives for the
 * same bytes; test/unit/direct-decode*.test.ts hold the two to it. Field numbers:
 * proto/floe.proto (WorkerBatch, Assign, DepLocation, Holder, Replicate, RunRef).
 */
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import { missing, missingSpecField, NO_BYTES, nonEmpty, serializerRef } from './decode-shared.ts';
import type { WireAssign, WireDepLocation, WireOf, WireReplicate, WireRunRef } from './messages.ts';
import { malformed, type ProtoReader, StringSlot } from './proto-read.ts';
import { readRunRef, readSerializer, readSpec } from './spec-read.ts';

type Holder = WireDepLocation['holders'][number];

/** Holders of a batch's inputs are mostly the same few workers (ProtoReader.repeated). */
const HOLDER_ID = new StringSlot();
const HOLDER_ADDRESS = new StringSlot();

/** The WorkerBatch `r` is over. */
export function decodeWorkerBatchBody(r: ProtoReader): WireOf<'workerBatch'> {
  const assign: WireAssign[] = [];
  const cancel: WireRunRef[] = [];
  const release: string[] = [];
  const steal: WireRunRef[] = [];
  const replicate: WireReplicate[] = [];
  let retired = false;
  let reregister = false;
  const clientsGone: string[] = [];
  let epoch = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: assign.push(readAssign(r)); break;
      case 18: cancel.push(readRunRef(r)); break;
      case 26: release.push(r.string()); break;
      case 34: steal.push(readRunRef(r)); break;
      case 42: replicate.push(readReplicate(r)); break;
      case 48: retired = r.bool(); break;
      case 56: reregister = r.bool(); break;
      case 66: clientsGone.push(r.string()); break;
      case 72: epoch = r.uint32(); break;
      default: r.unknown(tag, 9);
    }
  }
  return { type: 'workerBatch', assign, cancel, release, steal, replicate, retired, reregister, clientsGone, epoch };
}

function readAssign(r: ProtoReader): WireAssign {
  const outer = r.enter();
  let id = '';
  let runId = 0;
  let attempt = 0;
  let spec: TaskSpec | undefined;
  const deps: WireDepLocation[] = [];
  let traceParent = '';
  let order = 0;
  let tellClient = false;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: id = r.stringMarked(r.ids.current); break;
      case 16: runId = r.uint64(); break;
      case 24: attempt = r.uint32(); break;
      // A second spec replaces the first (protobufjs does not merge them): checked once read.
      case 34: spec = readSpec(r); break;
      case 42: deps.push(readLocation(r, 'dep')); break;
      case 50: traceParent = r.string(); break;
      case 56: order = r.uint64(); break;
      case 64: tellClient = r.bool(); break;
      default: r.unknown(tag, 8);
    }
  }
  r.leave(outer);
  r.ids.next(); // this assignment's id is the one before for the next one's inputs
  if (spec === undefined) throw malformed('assign without spec');
  const field = missingSpecField(spec);
  if (field !== '') throw missing(`assign.spec.${field}`);
  const assign: WireAssign = { id: nonEmpty(id, 'assign.id'), runId, attempt, spec, deps };
  if (traceParent !== '') assign.traceParent = traceParent;
  if (order !== 0) assign.order = order;
  if (tellClient) assign.tellClient = true;
  return assign;
}

/**
 * A DepLocation, or a Replicate: their first four fields are the same, and fields 5 and 6
 * (the inline result) are unknown to a Replicate.
 */
function readLocation(r: ProtoReader, what: 'dep' | 'replicate'): WireDepLocation {
  const fieldsMax = what === 'dep' ? 6 : 4;
  const outer = r.enter();
  let id = '';
  const holders: Holder[] = [];
  let nbytes = 0;
  let serializer: SerializerRef | undefined;
  let inline: Uint8Array = NO_BYTES;
  let hasInline = false;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: id = r.stringAsMarked(r.ids.previous); break;
      case 18: holders.push(readHolder(r)); break;
      case 24: nbytes = r.uint64(); break;
      case 34: serializer = readSerializer(r); break;
      case 42: if (fieldsMax === 6) inline = r.bytes(); else r.unknown(tag, fieldsMax); break;
      case 48: if (fieldsMax === 6) hasInline = r.bool(); else r.unknown(tag, fieldsMax); break;
      default: r.unknown(tag, fieldsMax);
    }
  }
  r.leave(outer);
  return {
    id: nonEmpty(id, what === 'dep' ? 'dep.id' : 'replicate.id'),
    holders,
    nbytes,
    serializer: serializer ?? serializerRef('', ''),
    inline: hasInline ? inline : undefined,
  };
}

function readReplicate(r: ProtoReader): WireReplicate {
  const { id, holders, nbytes, serializer } = readLocation(r, 'replicate');
  return { id, holders, nbytes, serializer };
}

function readHolder(r: ProtoReader): Holder {
  const outer = r.enter();
  let workerId = '';
  let address = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) workerId = r.repeated(HOLDER_ID);
    else if (tag === 18) address = r.repeated(HOLDER_ADDRESS);
    else r.unknown(tag, 2);
  }
  r.leave(outer);
  return { workerId, address };
}
