/**
 * For the direct-decoder tests (direct-decode*.test.ts): seeded random messages of the four
 * kinds read directly (submit, workerBatch, workerEvents, clientUpdates), and a strict
 * comparison of two decoded messages (classes, key order, bytes, spec byte ranges).
 */
import type { Test } from 'tap';
import { isFloeError, type ErrorInfo } from '../../src/errors.ts';
import type { SerializerRef, TaskSpec } from '../../src/graph/spec.ts';
import { decodeMessage, decodeMessageViaProtobufjs } from '../../src/transport/codec.ts';
import type { KeyUpdate, WireAssign, WireDepLocation, WireMessage, WireOf, WireRunRef } from '../../src/transport/messages.ts';
import { receivedSpecBytes } from '../../src/transport/spec-bytes.ts';
import { mulberry32 } from '../helpers/rng.ts';

const UNICODE = ['ключ', '🎉', 'naïve', '数据', 'e\u0301', '\u{10FFFF}'];

/** Random values of the kinds the wire carries, from one seed. */
export class Gen {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  list<T>(max: number, make: (i: number) => T): T[] {
    return Array.from({ length: this.int(max + 1) }, (_, i) => make(i));
  }

  /** ASCII, unicode, long (past protobufjs' 40-character switch to Buffer), or empty. */
  str(): string {
    switch (this.int(5)) {
      case 0: return '';
      case 1: return `s${this.int(1000)}`;
      case 2: return `${this.pick(UNICODE)}-${this.int(100)}`;
      case 3: return `${'x'.repeat(30 + this.int(40))}${this.chance(0.5) ? this.pick(UNICODE) : ''}`;
      default: return 'file:///bench/tasks.js';
    }
  }

  /** A string that must not be empty (almost always: now and then one is, and both decoders must refuse it). */
  id(prefix: string): string {
    return this.chance(0.01) ? '' : `${prefix}${this.chance(0.2) ? this.pick(UNICODE) : ''}-${this.int(1e6)}`;
  }

  uint32(): number {
    return this.pick([0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1, this.int(2 ** 32)]);
  }

  /** Past 2^32 and 2^53 too, and -1 (ten bytes; reads back as 2^64 - 1). */
  uint64(): number {
    return this.pick([0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1, 2 ** 60, -1, this.int(2 ** 32) * 2 ** 20 + this.int(1000)]);
  }

  double(): number {
    return this.pick([0, -0, 1.5, -2, 1e300, Number.NaN, Number.POSITIVE_INFINITY, 5e-324, this.next() * 1e6]);
  }

  bytes(): Uint8Array {
    return Uint8Array.from({ length: this.int(40) }, () => this.int(256));
  }

  serializer(): SerializerRef {
    return this.pick([
      { id: 'msgpack', module: '' },
      { id: 'json', module: 'file:///s.js' },
      { id: '', module: '' },
      { id: this.str(), module: this.str() },
    ]);
  }

  error(): ErrorInfo {
    const code = this.pick(['TASK_ERROR', 'WORKER_LOST', 'NOT_A_CODE', '']) as ErrorInfo['code'];
    return { code, message: this.str(), retryable: this.chance(0.5), stack: this.str(), taskKey: this.str(), originalName: this.str() };
  }

  resources(): Record<string, number> {
    const out: Record<string, number> = {};
    const n = this.pick([0, 0, 1, 3]);
    for (let i = 0; i < n; i++) out[this.pick(['gpu', 'memory', '10', '2', '', 'ключ', 'constructor'])] = this.double();
    // A resource named __proto__ is an own property here; both decoders drop it (an assignment to __proto__).
    if (this.chance(0.05)) Object.defineProperty(out, '__proto__', { value: 1, enumerable: true });
    return out;
  }

  inline(): Uint8Array | undefined {
    return this.pick([undefined, new Uint8Array(0), this.bytes()]);
  }

  spec(i: number): TaskSpec {
    const spec: TaskSpec = {
      key: this.id(`k${i}`), name: this.str(), module: this.chance(0.01) ? '' : this.pick(['file:///m.js', 'floe:builtin', this.str() || 'x']),
      exportName: this.chance(0.01) ? '' : this.pick(['add', 'stamp', 'ключ']), args: this.bytes(), deps: this.list(4, (d) => `k${d}`),
      serializer: this.serializer(), priority: this.double(), retries: this.uint32(), retryDelayMs: this.double(),
      retryBackoff: this.double(), timeoutMs: this.double(), resources: this.resources(),
    };
    if (this.chance(0.3)) spec.traceParent = this.str();
    if (this.chance(0.3)) spec.actor = this.str();
    if (this.chance(0.3)) spec.restartsMax = this.uint32();
    if (this.chance(0.3)) spec.holdsActors = this.list(3, () => this.id('c/a'));
    return spec;
  }

  runRef(): WireRunRef {
    return { id: this.id('c1/k'), runId: this.uint64() };
  }

  holders(): { workerId: string; address: string }[] {
    return this.list(3, () => ({ workerId: this.str(), address: this.str() }));
  }

  submit(tasksMax: number): WireOf<'submit'> {
    const msg: WireOf<'submit'> = {
      type: 'submit', clientId: this.id('c'), requestId: this.str(), tasks: this.list(tasksMax, (i) => this.spec(i)),
      wants: this.list(3, () => this.str()),
    };
    if (this.chance(0.5)) msg.missing = this.list(3, () => ({ key: this.id('k'), workerId: this.id('w') }));
    if (this.chance(0.5)) msg.progress = this.chance(0.5);
    if (this.chance(0.3)) msg.direct = { workerId: this.id('w'), epoch: this.int(1000), runId: this.chance(0.5) ? 0 : 2 ** 52 + this.int(1e6) };
    if (this.chance(0.3)) msg.coordinatorIncarnation = this.str();
    return msg;
  }

  dep(): WireDepLocation {
    return { id: this.id('c1/d'), holders: this.holders(), nbytes: this.uint64(), serializer: this.serializer(), inline: this.inline() };
  }

  assign(i: number): WireAssign {
    const a: WireAssign = { id: this.id(`c1/k${i}`), runId: this.uint64(), attempt: this.uint32(), spec: this.spec(i), deps: this.list(3, () => this.dep()) };
    if (this.chance(0.5)) a.traceParent = this.str();
    if (this.chance(0.5)) a.order = this.uint64();
    if (this.chance(0.5)) a.tellClient = this.chance(0.5);
    return a;
  }

  workerBatch(assignMax: number): WireOf<'workerBatch'> {
    return {
      type: 'workerBatch', assign: this.list(assignMax, (i) => this.assign(i)), cancel: this.list(2, () => this.runRef()),
      release: this.list(3, () => this.str()), steal: this.list(2, () => this.runRef()),
      replicate: this.list(2, () => ({ id: this.id('c1/r'), holders: this.holders(), nbytes: this.uint64(), serializer: this.serializer() })),
      retired: this.chance(0.5), reregister: this.chance(0.5), clientsGone: this.list(2, () => this.str()), epoch: this.uint32(),
    };
  }

  workerEvents(finishedMax: number): WireOf<'workerEvents'> {
    const runs = (): WireRunRef[] => this.list(2, () => this.runRef());
    return {
      type: 'workerEvents', workerId: this.id('w'),
      register: this.chance(0.3) ? { threads: this.uint32(), resources: this.resources(), address: this.str(), name: this.str(), heartbeatIntervalMs: this.uint32() } : undefined,
      finished: this.list(finishedMax, () => ({
        id: this.id('c1/k'), runId: this.uint64(), nbytes: this.uint64(), serializer: this.serializer(), inline: this.inline(),
        durationMs: this.double(), startedAtMs: this.double(),
      })),
      failed: this.list(2, () => ({ id: this.id('c1/f'), runId: this.uint64(), error: this.error(), durationMs: this.double() })),
      heartbeat: this.chance(0.5), goodbye: this.chance(0.5), stolen: runs(), stealRefused: runs(), replicated: this.list(2, () => this.str()), replicateFailed: this.list(2, () => this.str()),
      retiring: this.chance(0.5),
      metrics: this.chance(0.3) ? {
        executing: this.uint32(), tasks: this.uint32(), held: this.uint32(), heldBytes: this.uint64(), rssBytes: this.uint64(),
        executed: this.uint64(), fetched: this.uint64(), fetchedBytes: this.uint64(),
      } : undefined,
      missing: this.list(2, () => ({ id: this.id('c1/m'), runId: this.uint64(), depId: this.id('c1/d') })),
      seceded: runs(), rejoined: runs(), straggling: runs(), epoch: this.uint32(),
      relayed: this.list(2, () => ({ replyTo: this.id('_INBOX.'), submit: this.bytes() })),
    };
  }

  update(): KeyUpdate {
    return {
      key: this.id('k'), status: this.pick(['memory', 'erred', 'cancelled'] as const), workerId: this.str(), address: this.str(),
      nbytes: this.uint64(), serializer: this.serializer(), inline: this.inline(), error: this.chance(0.3) ? this.error() : undefined,
    };
  }

  clientUpdates(updatesMax: number): WireOf<'clientUpdates'> {
    const msg: WireOf<'clientUpdates'> = { type: 'clientUpdates', updates: this.list(updatesMax, () => this.update()) };
    if (this.chance(0.5)) msg.progress = this.list(3, () => ({ key: this.id('k'), kind: this.pick(['running', 'done', 'failed'] as const) }));
    if (this.chance(0.3)) msg.dropped = true;
    if (this.chance(0.3)) msg.incarnation = this.str();
    return msg;
  }

  clientBatch(keysMax: number): WireOf<'clientBatch'> {
    const msg: WireOf<'clientBatch'> = {
      type: 'clientBatch', clientId: this.id('c'), release: this.list(keysMax, () => this.str()), cancel: this.list(2, () => this.str()),
      hello: this.chance(0.5), bye: this.chance(0.5),
    };
    if (this.chance(0.3)) msg.coordinatorIncarnation = this.str();
    if (this.chance(0.3)) msg.heartbeatIntervalMs = Math.max(1, this.uint32()); // 0 is not sent
    return msg;
  }

  submitReply(): WireOf<'submitReply'> {
    const msg: WireOf<'submitReply'> = { type: 'submitReply', requestId: this.str(), error: this.chance(0.3) ? this.error() : undefined };
    if (this.chance(0.5)) msg.incarnation = this.str();
    return msg;
  }

  /** A message of one of the six kinds read directly, of at most `n` tasks (or keys). */
  message(n: number): WireOf<'submit' | 'workerBatch' | 'workerEvents' | 'clientUpdates' | 'clientBatch' | 'submitReply'> {
    switch (this.int(6)) {
      case 0: return this.submit(n);
      case 1: return this.workerBatch(n);
      case 2: return this.workerEvents(n);
      case 3: return this.clientBatch(n);
      case 4: return this.submitReply();
      default: return this.clientUpdates(n);
    }
  }
}

/** Decodes `bytes` both ways: equal messages, or both refuse it with a typed error. */
export function sameBothWays(t: Test, bytes: Uint8Array, label: string): WireMessage | undefined {
  let expected: WireMessage;
  try {
    expected = decodeMessageViaProtobufjs(bytes);
  } catch (error) {
    t.ok(isFloeError(error), `${label}: the protobufjs path fails with a FloeError`);
    t.throws(() => decodeMessage(bytes), { code: (error as { code: string }).code }, `${label}: so does the direct one`);
    return undefined;
  }
  const actual = decodeMessage(bytes);
  t.equal(diff(actual, expected), '', label);
  return actual;
}

/**
 * Where two decoded messages first differ ('' when they do not): values by Object.is, the
 * same prototypes, own keys in the same order, bytes by content, and a decoded spec's
 * received bytes (spec-bytes.ts) as the same range of the same message.
 */
export function diff(a: unknown, b: unknown, path = 'msg'): string {
  if (Object.is(a, b)) return '';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${path}: ${show(a)} vs ${show(b)}`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: different classes`;
  if (Object.isFrozen(a) !== Object.isFrozen(b)) return `${path}: frozen in one only`;
  if (a instanceof Uint8Array) {
    const y = b as Uint8Array;
    return a.length === y.length && Buffer.compare(a, y) === 0 ? '' : `${path}: different bytes`;
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.join('\u0000') !== keysB.join('\u0000')) return `${path}: keys [${keysA.join()}] vs [${keysB.join()}]`;
  for (const k of keysA) {
    const d = diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d !== '') return d;
  }
  const bytesA = receivedSpecBytes(a as TaskSpec);
  const bytesB = receivedSpecBytes(b as TaskSpec);
  if (bytesA?.buffer !== bytesB?.buffer || bytesA?.byteOffset !== bytesB?.byteOffset || bytesA?.length !== bytesB?.length) {
    return `${path}: received bytes ${range(bytesA)} vs ${range(bytesB)}`;
  }
  return '';
}

function range(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'none' : `[${bytes.byteOffset}, ${bytes.byteOffset + bytes.length})`;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
}
