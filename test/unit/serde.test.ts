import t from 'tap';
import { isFloeError } from '../../src/errors.ts';
import {
  FutureRef,
  decodeArgs,
  defineSerializer,
  deserializeValue,
  encodeArgs,
  getSerializer,
  isFutureRef,
  registerSerializer,
  resolveSerializer,
  serializeResult,
} from '../../src/serde/index.ts';
import type { Serializer } from '../../src/serde/index.ts';
import type * as CustomSerializerModule from '../fixtures/custom-serializer.ts';
import { encodeAnyArgs } from '../../src/serde/args.ts';
import { checkMsgpackable, createPackr, MSGPACK_CHECK_DEPTH_MAX, MSGPACK_CHECK_NODES_MAX, msgpackSerializer } from '../../src/serde/builtins.ts';

type CustomModule = typeof CustomSerializerModule;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isFloeError(e) ? e.code : `not a FloeError: ${String(e)}`;
  }
  return undefined;
}

/** The message of the FloeError `fn` throws ('' if it throws none, or something else). */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isFloeError(e) ? e.message : '';
  }
  return '';
}

async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return isFloeError(e) ? e.code : `not a FloeError: ${String(e)}`;
  }
  return undefined;
}

function roundTrip(id: string, value: unknown): unknown {
  const s = getSerializer(id)!;
  return deserializeValue(serializeResult(value, s, 'k'), s, 'k');
}

void t.test('msgpack and v8 round-trip rich values', (t) => {
  const value = {
    map: new Map<unknown, unknown>([[1, 'a'], ['k', { nested: true }]]),
    set: new Set([1, 2, 3]),
    date: new Date(1234567),
    big: 2n ** 80n,
    small: -5n,
    f64: new Float64Array([1.5, -2]),
    i32: new Int32Array([7]),
    u8: new Uint8Array([1, 2, 3]),
    nested: [{ a: [1, 'two', null] }],
    undef: undefined,
    nan: Number.NaN,
    plain: { '1': 'one', x: 1 },
  };
  for (const id of ['msgpack', 'v8']) {
    t.same(roundTrip(id, value), value, id);
    const back = roundTrip(id, value) as typeof value;
    t.ok(back.map instanceof Map, `${id} keeps Map`);
    t.ok(back.set instanceof Set, `${id} keeps Set`);
    t.ok(back.date instanceof Date, `${id} keeps Date`);
    t.equal(back.big, 2n ** 80n, `${id} keeps BigInt`);
    t.ok(back.f64 instanceof Float64Array, `${id} keeps Float64Array`);
    t.ok(Object.prototype.hasOwnProperty.call(back, 'undef'), `${id} keeps undefined property`);
    t.notOk(back.plain instanceof Map, `${id} keeps plain objects plain`);
  }
  t.equal(roundTrip('msgpack', undefined), undefined);
  // Primitives are packed without structured cloning: the same bytes as with it.
  const cloning = createPackr();
  for (const v of [0, -1, 2 ** 40, 1.5, Number.NaN, 'text', 'ключ', '', true, null, undefined, 2n ** 70n, -3n]) {
    t.same(Buffer.from(msgpackSerializer.serialize(v)), Buffer.from(cloning.pack(v)), `msgpack ${String(v)}`);
  }
  // So are flat objects and arrays (of primitives only: nothing in them is seen twice).
  const flat: unknown[] = [
    { s: 1.5, e: 2 ** 40 },
    { a: 'text', b: null, c: undefined, d: true, e: 2n ** 70n, '': 'empty key', 'ключ': 1 },
    [1, 'a', null, undefined, false, -3n],
    [],
    {},
    Object.assign(Object.create(null) as object, { a: 1 }),
    [1, , 3], // eslint-disable-line no-sparse-arrays
  ];
  for (const v of flat) {
    const bytes = msgpackSerializer.serialize(v);
    t.same(Buffer.from(bytes), Buffer.from(cloning.pack(v)), `msgpack ${JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x))}`);
    t.same(msgpackSerializer.deserialize(bytes), v, 'and back');
  }
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  const back = roundTrip('msgpack', cyclic) as { self: unknown };
  t.equal(back.self, back, 'msgpack keeps cycles');
  t.end();
});

void t.test('json and raw round-trip what they support', (t) => {
  t.same(roundTrip('json', { a: [1, 'x', null, true], b: { c: 2 } }), { a: [1, 'x', null, true], b: { c: 2 } });
  t.same(roundTrip('json', { a: 1, gone: undefined }), { a: 1 }, 'undefined properties are dropped, as JSON does');
  t.equal(roundTrip('json', new Date(0)), '1970-01-01T00:00:00.000Z', 'toJSON is honoured');
  t.same(roundTrip('raw', new Uint8Array([1, 2, 3])), new Uint8Array([1, 2, 3]));
  t.same(roundTrip('raw', Buffer.from('hi')), new Uint8Array([104, 105]));
  t.same(roundTrip('raw', new Uint8Array([9]).buffer), new Uint8Array([9]));
  t.end();
});

void t.test('values a serializer would drop or corrupt are UNSERIALIZABLE_RESULT', (t) => {
  class Point {
    constructor(readonly x: number) {}
    norm(): number {
      return Math.abs(this.x);
    }
  }
  const cases: [string, unknown][] = [
    ['msgpack', () => 1],
    ['msgpack', { deep: [{ f: () => 1 }] }],
    ['msgpack', new Map([['k', () => 1]])],
    ['msgpack', Symbol('s')],
    ['msgpack', { s: Symbol('s') }],
    ['msgpack', new Point(1)],
    ['msgpack', [new WeakMap()]],
    ['msgpack', Promise.resolve(1)],
    ['json', () => 1],
    ['json', { f: () => 1 }],
    ['json', { s: Symbol('s') }],
    ['json', undefined],
    ['json', [1, undefined]],
    ['json', 1n],
    ['json', { n: Number.POSITIVE_INFINITY }],
    ['json', new Map([[1, 2]])],
    ['json', { s: new Set([1]) }],
    ['json', new Point(1)],
    ['json', new Uint8Array(2)],
    ['v8', () => 1],
    ['v8', { f: () => 1 }],
    ['v8', Symbol('s')],
    ['raw', 'text'],
    ['raw', [1, 2]],
    ['raw', new Float32Array(1)],
  ];
  for (const [id, value] of cases) {
    const s = getSerializer(id)!;
    let err: unknown;
    try {
      serializeResult(value, s, 'the-key');
    } catch (e) {
      err = e;
    }
    t.ok(isFloeError(err) && err.code === 'UNSERIALIZABLE_RESULT', `${id}: ${String(typeof value === 'symbol' ? 'symbol' : Object.prototype.toString.call(value))}`);
    t.ok(isFloeError(err) && err.taskKey === 'the-key', 'error carries the task key');
  }
  // The json serializer names the key of what it refuses, or the value itself at the top.
  const jsonMessage = (value: unknown): string => messageOf(() => serializeResult(value, getSerializer('json')!, 'k'));
  t.match(jsonMessage({ a: 1, f: () => 1 }), /key "f" is a function/);
  t.match(jsonMessage({ n: [1, Number.NaN] }), /key "1" is NaN/);
  t.match(jsonMessage(undefined), /the value is undefined/);
  // A function beyond the class-check budget is still caught by msgpackr's writeFunction hook.
  const big = Array.from({ length: 20_000 }, (_, i) => i);
  (big as unknown[]).push(() => 1);
  t.equal(codeOf(() => serializeResult(big, getSerializer('msgpack')!, 'k')), 'UNSERIALIZABLE_RESULT');
  t.end();
});

void t.test('deserialize failures are DESERIALIZE_FAILED', (t) => {
  t.equal(codeOf(() => deserializeValue(new Uint8Array([0x7b]), getSerializer('json')!, 'k')), 'DESERIALIZE_FAILED');
  t.equal(codeOf(() => deserializeValue(new Uint8Array([0x92, 0x01]), getSerializer('msgpack')!, 'k')), 'DESERIALIZE_FAILED');
  t.end();
});

void t.test('registry: duplicates, resolution, custom modules', async (t) => {
  const s: Serializer = { id: 'test-dup', serialize: () => new Uint8Array(), deserialize: () => null };
  registerSerializer(s);
  registerSerializer(s); // same object: no-op
  t.equal(codeOf(() => registerSerializer({ ...s })), 'INVALID_ARGUMENT');
  t.equal(codeOf(() => registerSerializer({ ...s, id: '' })), 'INVALID_ARGUMENT');
  t.equal(codeOf(() => defineSerializer('', { ...s, id: 'test-nomodule' })), 'INVALID_ARGUMENT');
  t.match(messageOf(() => defineSerializer('./serializer.js', { ...s, id: 'test-relative' })), /moduleUrl must be the defining module's import.meta.url \(got \.\/serializer\.js\)/, 'a path, not a URL');
  t.equal(await resolveSerializer({ id: 'msgpack', module: '' }), getSerializer('msgpack'));
  t.equal(await asyncCodeOf(() => resolveSerializer({ id: 'nope', module: '' })), 'UNKNOWN_SERIALIZER');
  t.equal(
    await asyncCodeOf(() => resolveSerializer({ id: 'nope', module: new URL('../fixtures/tasks.ts', import.meta.url).href })),
    'UNKNOWN_SERIALIZER',
    'module that does not register the id',
  );
  t.equal(
    await asyncCodeOf(() => resolveSerializer({ id: 'nope', module: new URL('../fixtures/missing.ts', import.meta.url).href })),
    'UNKNOWN_SERIALIZER',
    'module that cannot be imported',
  );
  t.equal(getSerializer('test-upper'), undefined, 'custom serializer not loaded yet');
  const module = new URL('../fixtures/custom-serializer.ts', import.meta.url).href;
  const custom = await resolveSerializer({ id: 'test-upper', module });
  t.equal(custom.id, 'test-upper');
  t.equal(deserializeValue(serializeResult('abc', custom, 'k'), custom, 'k'), 'ABC');
  t.equal(codeOf(() => serializeResult(1, custom, 'k')), 'UNSERIALIZABLE_RESULT');
  const { upper } = (await import(module)) as CustomModule;
  t.same({ id: upper.id, moduleUrl: upper.moduleUrl }, { id: 'test-upper', moduleUrl: module });
});

void t.test('args: futures anywhere become refs with deps in first-seen order', (t) => {
  class Fut {
    constructor(readonly key: string) {}
  }
  const toRef = (v: unknown): FutureRef | undefined => (v instanceof Fut ? new FutureRef(v.key) : undefined);
  const a = new Fut('a');
  const args = [1, a, { list: [new Fut('b'), a, new FutureRef('c', [3, 'x'])], m: new Map([[1, 2]]) }, 'str'];
  const { bytes, deps } = encodeArgs(args, toRef);
  t.same(deps, ['a', 'b', 'c']);
  const kept = Buffer.from(bytes);
  encodeArgs(['something else', [1, 2]], toRef);
  t.same(Buffer.from(bytes), kept, 'the bytes stay as they were after later encodings');
  const results: Record<string, unknown> = { a: 'A', b: ['B'], c: 'C' };
  const seen: FutureRef[] = [];
  const decoded = decodeArgs(bytes, (ref) => {
    seen.push(ref);
    return results[ref.key];
  });
  t.same(decoded, [1, 'A', { list: [['B'], 'A', 'C'], m: new Map([[1, 2]]) }, 'str']);
  t.ok(seen.every(isFutureRef));
  t.same(seen.find((r) => r.key === 'c')?.path, [3, 'x'], 'path survives');
  t.same(args[2], { list: [new Fut('b'), a, new FutureRef('c', [3, 'x'])], m: new Map([[1, 2]]) }, 'input untouched');
  t.end();
});

void t.test('args: cycles, no args, rich values', (t) => {
  const cyc: Record<string, unknown> = { n: 1 };
  cyc.self = cyc;
  const decoded = decodeArgs(encodeArgs([cyc, new Date(5), 3n], () => undefined).bytes, () => undefined) as [
    Record<string, unknown>,
    Date,
    bigint,
  ];
  t.equal(decoded[0].self, decoded[0]);
  t.ok(decoded[1] instanceof Date);
  t.equal(decoded[2], 3n);
  t.same(decodeArgs(encodeArgs([], () => undefined).bytes, () => undefined), []);
  // A container held twice is patched once (before and after the seen list becomes a set):
  // its ref resolves once, and the result patched in is not walked for refs.
  for (const count of [1, 20]) {
    const shared = Array.from({ length: count }, () => [new FutureRef('r')]);
    const calls: string[] = [];
    const twice = decodeArgs(encodeArgs([shared, shared], () => undefined).bytes, (ref) => {
      calls.push(ref.key);
      return [new FutureRef('inside-a-result')];
    }) as [unknown[][], unknown[][]];
    t.equal(calls.length, count, `${count} shared container(s): each ref resolved once`);
    t.equal(twice[0], twice[1], 'still one container');
    t.ok(isFutureRef((twice[0][0]![0] as unknown[])[0]), 'a ref inside a result is left as it is');
  }
  t.end();
});

void t.test('args: unserializable arguments name their position', (t) => {
  const none = (): undefined => undefined;
  for (const [args, pos] of [
    [[1, () => 2], 1],
    [[{ deep: [Symbol('x')] }], 0],
    [[1, 2, new Map([['f', () => 1]])], 2],
    [[0, new (class Foo {})()], 1],
  ] as const) {
    let err: unknown;
    try {
      encodeArgs([...args], none);
    } catch (e) {
      err = e;
    }
    t.ok(isFloeError(err) && err.code === 'UNSERIALIZABLE_ARGUMENT');
    t.match(isFloeError(err) ? err.message : '', `argument ${pos}`);
  }
  // The general walk names where in an argument the culprit sits.
  for (const [args, path] of [
    [[{ rows: [1, 2, { f: () => 1 }] }], 'argument 0.rows[2].f is a function'],
    [[0, [[Symbol('s')]]], 'argument 1[0][0] is a symbol'],
    [[{ ok: Array.from({ length: 100 }, (_, i) => i), 'x y': new (class Foo {})() }], 'argument 0.x y is an instance of Foo'],
  ] as const) {
    t.match(messageOf(() => encodeArgs([...args], none)), path, path);
  }
  t.equal(codeOf(() => decodeArgs(new Uint8Array([0xc1]), () => 1)), 'DESERIALIZE_FAILED');
  t.end();
});

void t.test('args: the fast path for flat arguments encodes as the general path does', (t) => {
  class Fut {
    constructor(readonly key: string) {}
  }
  const toRef = (v: unknown): FutureRef | undefined => (v instanceof Fut ? new FutureRef(v.key) : undefined);
  const a = new Fut('a');
  const shared = [1, a];
  const flat: unknown[][] = [
    [],
    [a],
    [[a, new Fut('b'), a]],
    [1, 'two', null, undefined, true, 2.5, -7, 10n, a, [a, 'x', undefined, new FutureRef('c', [1])]],
    [shared, shared], // one array twice: the general path (a back-reference)
    [[[a]]], // nested: the general path
    [{ x: a }], // object: the general path
    [Array.from({ length: 100 }, (_, i) => new Fut(`k${i % 7}`))], // long: the general path
  ];
  for (const args of flat) {
    const fast = encodeArgs(args, toRef);
    const kept = Buffer.from(fast.bytes);
    const general = encodeAnyArgs(args, toRef);
    t.same(Buffer.from(fast.bytes), Buffer.from(general.bytes), `same bytes for ${args.length} args`);
    t.same(fast.deps, general.deps, 'same deps');
    encodeArgs(['something else', 1, 2, 3], toRef);
    t.same(Buffer.from(fast.bytes), kept, 'the bytes stay as they were after later encodings');
  }
  const decoded = decodeArgs(encodeArgs([a, [a, new FutureRef('c', [1])]], toRef).bytes, (ref) => `${ref.key}${ref.path.join('.')}`);
  t.same(decoded, ['a', ['a', 'c1']], 'refs and paths decode');
  t.throws(() => encodeArgs([() => 1], toRef), { code: 'UNSERIALIZABLE_ARGUMENT' }, 'a function is still named');
  t.throws(() => encodeArgs([1, [Symbol('s')]], toRef), { code: 'UNSERIALIZABLE_ARGUMENT' });
  const foreign = new Error('foreign future');
  t.throws(() => encodeArgs([1, a], () => { throw foreign; }), foreign, 'errors of toRef pass through as they are');
  t.end();
});

void t.test('the msgpack pre-check: small plain values pass without the walk, and what it rejects names its path', (t) => {
  const fine: unknown[] = [
    1,
    'text',
    null,
    undefined,
    1n,
    { s: 1.5, e: 2.5 },
    [1, 'a', null, undefined, true, 2n],
    Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])),
    Array.from({ length: 65 }, (_, i) => i),
    { nested: { a: [1, 2] } },
    Object.assign(Object.create(null) as object, { a: 1 }),
    new Map([['k', 1]]),
  ];
  for (const value of fine) t.doesNotThrow(() => checkMsgpackable(value, 'result'), Object.prototype.toString.call(value));
  const messages: [unknown, RegExp][] = [
    [{ a: 1, f: () => 1 }, /^result\.f is a function/],
    [[1, 2, Symbol('s')], /^result\[2\] is a symbol/],
    [{ a: 1, p: new (class Point {})() }, /^result\.p is an instance of Point/],
    [Object.fromEntries([...Array.from({ length: 70 }, (_, i) => [`k${i}`, i] as [string, unknown]), ['g', () => 1]]), /^result\.g is a function/],
  ];
  for (const [value, message] of messages) t.throws(() => checkMsgpackable(value, 'result'), message);
  t.end();
});

void t.test('the msgpack pre-check walks its budget of values and levels, and names Map and Set places', (t) => {
  class Point {}
  const numbers = (n: number): unknown[] => Array.from({ length: n }, (_, i) => i);
  const early = numbers(100);
  early[5] = new Point();
  t.throws(() => checkMsgpackable([...numbers(70), early], 'result'), /^result\[70\]\[5\] is an instance of Point/, 'within the budget: found, with its path');
  const late = numbers(MSGPACK_CHECK_NODES_MAX + 10);
  late[MSGPACK_CHECK_NODES_MAX + 5] = new Point();
  t.doesNotThrow(() => checkMsgpackable(late, 'result'), 'past the budget of values: not looked at');
  let deep: unknown = new Point();
  for (let i = 0; i < MSGPACK_CHECK_DEPTH_MAX + 1; i++) deep = [deep];
  t.doesNotThrow(() => checkMsgpackable(deep, 'result'), 'past the budget of levels: not looked at');
  t.throws(() => checkMsgpackable([[new Point()]], 'result'), /^result\[0\]\[0\] is an instance of Point/);
  t.throws(() => checkMsgpackable(new Map([['k', new Point()]]), 'result'), /^result\.get\("k"\) is an instance of Point/);
  t.throws(() => checkMsgpackable(new Map([[new Point(), 1]]), 'result'), /^result \(map key\) is an instance of Point/);
  t.throws(() => checkMsgpackable({ s: new Set([1, new Point()]) }, 'result'), /^result\.s \(set item\) is an instance of Point/);
  const cycle: Record<string, unknown> = { a: 1 };
  cycle['self'] = cycle;
  t.doesNotThrow(() => checkMsgpackable(cycle, 'result'), 'a cycle is walked once');
  t.end();
});

t.test('a serializer that returns a Promise is a clear error both ways (serializers are synchronous)', (t) => {
  const asyncSerializer = {
    id: 'async-test',
    serialize: async (): Promise<Uint8Array> => new Uint8Array(1),
    deserialize: async (): Promise<unknown> => 1,
  } as unknown as Serializer;
  t.equal(codeOf(() => serializeResult(1, asyncSerializer, 'k')), 'UNSERIALIZABLE_RESULT');
  t.match(messageOf(() => serializeResult(1, asyncSerializer, 'k')), /serializer "async-test" returned a Promise \(serializers must be synchronous\), not a Uint8Array/);
  t.equal(codeOf(() => deserializeValue(new Uint8Array(1), asyncSerializer, 'k')), 'DESERIALIZE_FAILED');
  t.match(messageOf(() => deserializeValue(new Uint8Array(1), asyncSerializer, 'k')), /cannot be deserialized with "async-test": it returned a Promise/);
  t.end();
});
