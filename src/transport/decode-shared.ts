/**
 * What both control-message decoders make the same way: the protobufjs one
 * (codec-decode.ts, from decoded objects) and the direct ones (*-decode.ts, from bytes).
 * Kept in one place so the two cannot drift apart: the direct decoders must give exactly
 * what the protobufjs path gives (test/unit/direct-decode*.test.ts).
 */
import { FloeError, isErrorCode, type ErrorInfo } from '../errors.ts';
import type { SerializerRef, TaskSpec } from '../graph/spec.ts';
import type { KeyUpdate, TaskProgress } from './messages.ts';

const STATUS_FROM_WIRE = ['', 'memory', 'erred', 'cancelled'] as const;
const PROGRESS_FROM_WIRE = ['', 'running', 'done', 'failed'] as const;

/** A KeyUpdate.Status from the wire; unspecified or unknown is MALFORMED_MESSAGE. */
export function keyStatus(wire: number): KeyUpdate['status'] {
  const status = STATUS_FROM_WIRE[wire];
  if (status === undefined || status === '') throw new FloeError('MALFORMED_MESSAGE', `key update with unknown status ${wire}`);
  return status;
}

/** A TaskProgress.Kind from the wire; unspecified or unknown is MALFORMED_MESSAGE. */
export function progressKind(wire: number): TaskProgress['kind'] {
  const kind = PROGRESS_FROM_WIRE[wire];
  if (kind === undefined || kind === '') throw new FloeError('MALFORMED_MESSAGE', `task progress with unknown kind ${wire}`);
  return kind;
}

/**
 * Strings that repeat from task to task (a spec's module, name and export name; serializer
 * ids), shared instead of one copy per decoded spec: a big graph's coordinator holds a spec
 * per task. Bounded: a flow with ever new names just starts it over.
 */
const interned = new Map<string, string>();
const INTERNED_MAX = 4096;

export function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size >= INTERNED_MAX) interned.clear();
  interned.set(s, s);
  return s;
}

/** The last serializer decoded: most results and specs of a message name the same one. */
let lastSerializer: SerializerRef = { id: 'msgpack', module: '' };

/** The SerializerRef of these wire fields (an empty id is the default, msgpack). */
export function serializerRef(id: string, module: string): SerializerRef {
  const name = id === '' ? 'msgpack' : id;
  if (name !== lastSerializer.id || module !== lastSerializer.module) lastSerializer = { id: intern(name), module: intern(module) };
  return lastSerializer;
}

/** The resources of a spec that needs none: one frozen object (a spec's resources are never changed in place). */
export const NO_RESOURCES: Record<string, number> = Object.freeze({});

/** What an unset bytes field decodes to. */
export const NO_BYTES = new Uint8Array(0);

/** An ErrorInfo from its wire fields; a code this build does not know becomes INTERNAL. */
export function errorInfo(code: string, message: string, retryable: boolean, stack: string, taskKey: string, originalName: string): ErrorInfo {
  return { code: isErrorCode(code) ? code : 'INTERNAL', message, retryable, stack, taskKey, originalName };
}

/** @internal A required string field (shared with the frame codec). */
export function nonEmpty(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw missing(field);
  return v;
}

/** The error for a required field that is missing (or empty). */
export function missing(field: string): FloeError {
  return new FloeError('MALFORMED_MESSAGE', `${field} is missing`);
}

/**
 * The first required field of a decoded spec that is empty ('' when none is): its key,
 * module and export name, and each of the actors it holds.
 */
export function missingSpecField(spec: TaskSpec): string {
  if (spec.key === '') return 'key';
  if (spec.module === '') return 'module';
  if (spec.exportName === '') return 'exportName';
  if (spec.holdsActors !== undefined) for (const id of spec.holdsActors) if (id === '') return 'holdsActors[]';
  return '';
}
