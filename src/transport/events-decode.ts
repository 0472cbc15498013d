/**
 * What a worker reports (`Envelope { worker_events: WorkerEvents }`), read straight from
 * its bytes (proto-read.ts): the mirror of events-encode.ts, and what the coordinator
 * reads per finished task. Gives exactly what codec-decode.ts gives for the same bytes;
 * test/unit/direct-decode*.test.ts hold the two to it. Field numbers: proto/floe.proto
 * (WorkerEvents, WorkerRegister, TaskFinished, TaskFailed, WorkerMetrics, MissingInput,
 * RunRef).
 */
import type { ErrorInfo } from '../errors.ts';
import type { SerializerRef } from '../graph/spec.ts';
import { NO_BYTES, nonEmpty, serializerRef } from './decode-shared.ts';
import type { WireFailed, WireFinished, WireMetrics, WireOf, WireRegister, WireRelayed, WireRunRef } from './messages.ts';
import type { ProtoReader } from './proto-read.ts';
import { noError, readError, readResource, readRunRef, readSerializer } from './spec-read.ts';

type Events = WireOf<'workerEvents'>;

/** The WorkerEvents `r` is over. */
export function decodeWorkerEventsBody(r: ProtoReader): Events {
  let workerId = '';
  let register: WireRegister | undefined;
  const finished: WireFinished[] = [];
  const failed: WireFailed[] = [];
  let heartbeat = false;
  let goodbye = false;
  const stolen: WireRunRef[] = [];
  const stealRefused: WireRunRef[] = [];
  const replicated: string[] = [];
  const replicateFailed: string[] = [];
  let retiring = false;
  let metrics: WireMetrics | undefined;
  const missing: Events['missing'] = [];
  const seceded: WireRunRef[] = [];
  const rejoined: WireRunRef[] = [];
  const straggling: WireRunRef[] = [];
  let epoch = 0;
  const relayed: WireRelayed[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: workerId = r.string(); break;
      case 18: register = readRegister(r); break;
      case 26: finished.push(readFinished(r)); break;
      case 34: failed.push(readFailed(r)); break;
      case 40: heartbeat = r.bool(); break;
      case 48: goodbye = r.bool(); break;
      case 58: stolen.push(readRunRef(r)); break;
      case 66: stealRefused.push(readRunRef(r)); break;
      case 74: replicated.push(r.string()); break;
      case 80: retiring = r.bool(); break;
      case 90: metrics = readMetrics(r); break;
      case 98: missing.push(readMissingInput(r)); break;
      case 106: seceded.push(readRunRef(r)); break;
      case 114: rejoined.push(readRunRef(r)); break;
      case 120: epoch = r.uint32(); break;
      case 130: relayed.push(readRelayed(r)); break;
      case 138: straggling.push(readRunRef(r)); break;
      case 146: replicateFailed.push(r.string()); break;
      default: r.unknown(tag, 18);
    }
  }
  return {
    type: 'workerEvents', workerId: nonEmpty(workerId, 'workerEvents.workerId'), register, finished, failed, heartbeat, goodbye,
    stolen, seceded, rejoined, straggling, stealRefused, replicated, replicateFailed, retiring, metrics, missing, epoch, relayed,
  };
}

function readFinished(r: ProtoReader): WireFinished {
  const outer = r.enter();
  let id = '';
  let runId = 0;
  let nbytes = 0;
  let serializer: SerializerRef | undefined;
  let inline: Uint8Array = NO_BYTES;
  let hasInline = false;
  let durationMs = 0;
  let startedAtMs = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: id = r.string(); break;
      case 16: runId = r.uint64(); break;
      case 24: nbytes = r.uint64(); break;
      case 34: serializer = readSerializer(r); break;
      case 42: inline = r.bytes(); break;
      case 48: hasInline = r.bool(); break;
      case 57: durationMs = r.double(); break;
      case 65: startedAtMs = r.double(); break;
      default: r.unknown(tag, 8);
    }
  }
  r.leave(outer);
  return {
    id: nonEmpty(id, 'finished.id'),
    runId,
    nbytes,
    serializer: serializer ?? serializerRef('', ''),
    inline: hasInline ? inline : undefined,
    durationMs,
    startedAtMs,
  };
}

function readFailed(r: ProtoReader): WireFailed {
  const outer = r.enter();
  let id = '';
  let runId = 0;
  let error: ErrorInfo | undefined;
  let durationMs = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: id = r.string(); break;
      case 16: runId = r.uint64(); break;
      case 26: error = readError(r); break;
      case 33: durationMs = r.double(); break;
      default: r.unknown(tag, 4);
    }
  }
  r.leave(outer);
  return { id: nonEmpty(id, 'failed.id'), runId, error: error ?? noError(), durationMs };
}

function readRegister(r: ProtoReader): WireRegister {
  const outer = r.enter();
  let threads = 0;
  // Always an object of its own (codec-decode.ts shares NO_RESOURCES only among specs).
  const resources: Record<string, number> = {};
  let address = '';
  let name = '';
  let heartbeatIntervalMs = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 8: threads = r.uint32(); break;
      case 18: readResource(r, resources); break;
      case 26: address = r.string(); break;
      case 34: name = r.string(); break;
      case 40: heartbeatIntervalMs = r.uint32(); break;
      default: r.unknown(tag, 5);
    }
  }
  r.leave(outer);
  return { threads, resources, address, name, heartbeatIntervalMs };
}

function readMetrics(r: ProtoReader): WireMetrics {
  const outer = r.enter();
  const m: WireMetrics = { executing: 0, tasks: 0, held: 0, heldBytes: 0, rssBytes: 0, executed: 0, fetched: 0, fetchedBytes: 0 };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 8: m.executing = r.uint32(); break;
      case 16: m.tasks = r.uint32(); break;
      case 24: m.held = r.uint32(); break;
      case 32: m.heldBytes = r.uint64(); break;
      case 40: m.rssBytes = r.uint64(); break;
      case 48: m.executed = r.uint64(); break;
      case 56: m.fetched = r.uint64(); break;
      case 64: m.fetchedBytes = r.uint64(); break;
      default: r.unknown(tag, 8);
    }
  }
  r.leave(outer);
  return m;
}

function readMissingInput(r: ProtoReader): Events['missing'][number] {
  const outer = r.enter();
  let id = '';
  let runId = 0;
  let depId = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: id = r.string(); break;
      case 16: runId = r.uint64(); break;
      case 26: depId = r.string(); break;
      default: r.unknown(tag, 3);
    }
  }
  r.leave(outer);
  return { id: nonEmpty(id, 'missing.id'), runId, depId: nonEmpty(depId, 'missing.depId') };
}

function readRelayed(r: ProtoReader): WireRelayed {
  const outer = r.enter();
  let replyTo = '';
  let submit: Uint8Array = NO_BYTES;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: replyTo = r.string(); break;
      case 18: submit = r.bytes(); break;
      default: r.unknown(tag, 2);
    }
  }
  r.leave(outer);
  return { replyTo: nonEmpty(replyTo, 'relayed.replyTo'), submit };
}
