/**
 * What the coordinator reads from a client per task, straight from its bytes
 * (proto-read.ts): the mirror of client-encode.ts. A submission (`Envelope { submit:
 * SubmitGraph }`), and a client batch (`Envelope { client_batch: ClientBatch }`: releases,
 * cancels, hello, heartbeat and bye). Each spec remembers the range of the message it came in as it is read (what
 * rememberSpecBytes finds by walking the message again on the protobufjs path), so that
 * the coordinator can pass it on to a worker as it came (spec-bytes.ts).
 *
 * Gives exactly what codec-decode.ts gives for the same bytes;
 * test/unit/direct-decode*.test.ts hold the two to it. Field numbers: proto/floe.proto
 * (SubmitGraph, TaskSpec, MissingResult, ClientBatch).
 */
import type { TaskSpec } from '../graph/spec.ts';
import { missing, missingSpecField, nonEmpty } from './decode-shared.ts';
import type { MissingResult, WireDirectRun, WireOf } from './messages.ts';
import type { ProtoReader } from './proto-read.ts';
import { readSpec } from './spec-read.ts';

/** The SubmitGraph `r` is over; `message` is the whole message its specs keep ranges of. */
export function decodeSubmitBody(r: ProtoReader, message: Uint8Array): WireOf<'submit'> {
  let clientId = '';
  let requestId = '';
  const tasks: TaskSpec[] = [];
  const wants: string[] = [];
  const missingResults: MissingResult[] = [];
  let progress = false;
  let direct: WireDirectRun | undefined;
  let coordinatorIncarnation = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: clientId = r.string(); break;
      case 18: requestId = r.string(); break;
      case 26: {
        const spec = readSpec(r, message);
        const field = missingSpecField(spec);
        if (field !== '') throw missing(`submit.tasks[${tasks.length}].${field}`);
        tasks.push(spec);
        break;
      }
      case 34: {
        // Clients want the keys of the tasks they send, listed in the same order: those
        // are given as the very strings of the tasks' keys, which the scheduler has hashed
        // already (a Map key) by the time it looks the wanted ones up.
        const key = r.string();
        const own = tasks[wants.length]?.key;
        wants.push(key === own ? own : key);
        break;
      }
      case 42: missingResults.push(readMissingResult(r, missingResults.length)); break;
      case 48: progress = r.bool(); break;
      case 58: direct = readDirectRun(r); break;
      case 66: coordinatorIncarnation = r.string(); break;
      default: r.unknown(tag, 8);
    }
  }
  return {
    type: 'submit',
    clientId: nonEmpty(clientId, 'submit.clientId'),
    requestId,
    tasks,
    wants,
    missing: missingResults,
    ...(progress ? { progress: true } : {}),
    // Checked once read: a sub-message sent twice counts only the last time (as in protobufjs).
    ...(direct !== undefined ? { direct: { ...direct, workerId: nonEmpty(direct.workerId, 'submit.direct.workerId') } } : {}),
    ...(coordinatorIncarnation !== '' ? { coordinatorIncarnation } : {}),
  };
}

function readDirectRun(r: ProtoReader): WireDirectRun {
  const outer = r.enter();
  let workerId = '';
  let epoch = 0;
  let runId = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) workerId = r.string();
    else if (tag === 16) epoch = r.uint32();
    else if (tag === 24) runId = r.uint64();
    else r.unknown(tag, 3);
  }
  r.leave(outer);
  return { workerId, epoch, runId };
}

function readMissingResult(r: ProtoReader, i: number): MissingResult {
  const outer = r.enter();
  let key = '';
  let workerId = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 10) key = r.string();
    else if (tag === 18) workerId = r.string();
    else r.unknown(tag, 2);
  }
  r.leave(outer);
  return { key: nonEmpty(key, `submit.missing[${i}].key`), workerId: nonEmpty(workerId, `submit.missing[${i}].workerId`) };
}

/** The ClientBatch `r` is over. */
export function decodeClientBatchBody(r: ProtoReader): WireOf<'clientBatch'> {
  let clientId = '';
  const release: string[] = [];
  const cancel: string[] = [];
  let hello = false;
  let bye = false;
  let coordinatorIncarnation = '';
  let heartbeatIntervalMs = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10: clientId = r.string(); break;
      case 18: release.push(r.string()); break;
      case 26: cancel.push(r.string()); break;
      case 32: hello = r.bool(); break;
      case 40: bye = r.bool(); break;
      case 50: coordinatorIncarnation = r.string(); break;
      case 56: heartbeatIntervalMs = r.uint32(); break;
      default: r.unknown(tag, 7);
    }
  }
  return {
    type: 'clientBatch',
    clientId: nonEmpty(clientId, 'clientBatch.clientId'),
    release,
    cancel,
    hello,
    bye,
    ...(coordinatorIncarnation !== '' ? { coordinatorIncarnation } : {}),
    ...(heartbeatIntervalMs !== 0 ? { heartbeatIntervalMs } : {}),
  };
}
