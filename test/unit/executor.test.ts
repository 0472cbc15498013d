import t from 'tap';
import { hostname } from 'node:os';
import { isFloeError } from '../../src/errors.ts';
import type { SerializerRef } from '../../src/graph/spec.ts';
import type { ThreadResponse } from '../../src/runtime/protocol.ts';
import { FutureRef, encodeArgs, getSerializer, serializeResult } from '../../src/serde/index.ts';
import { InlineExecutor } from '../../src/worker/executor.ts';
import type { Executor } from '../../src/worker/executor.ts';
import { PoolExecutor } from '../../src/worker/executor-pool.ts';
import { MSGPACK, threadRequest } from '../helpers/thread-request.ts';

const CUSTOM = new URL('../fixtures/custom-serializer.ts', import.meta.url).href;
const LOAD_STAMP = new URL('../fixtures/load-stamp.ts', import.meta.url).href;
const msgpack = getSerializer('msgpack')!;

const req = threadRequest;

function value(res: ThreadResponse): unknown {
  if (res.type !== 'ok') throw new Error(`task failed: ${res.error.code} ${res.error.message}`);
  return getSerializer(res.serializer.id)!.deserialize(res.bytes);
}

function code(res: ThreadResponse): string {
  return res.type === 'error' ? res.error.code : 'ok';
}

const executors: [string, () => Executor][] = [
  ['PoolExecutor', () => new PoolExecutor({ threads: 2 })],
  ['InlineExecutor', () => new InlineExecutor()],
];

for (const [name, make] of executors) {
  void t.test(name, (t) => {
    const ex = make();
    t.teardown(() => ex.close());

    void t.test('runs a TypeScript task with dependencies and paths', async (t) => {
      const a = serializeResult(40, msgpack, 'a');
      const b = serializeResult({ list: [0, 2] }, msgpack, 'b');
      const { bytes, deps } = encodeArgs([new FutureRef('a'), new FutureRef('b', ['list', 1])], () => undefined);
      t.same(deps, ['a', 'b']);
      const res = await ex.run(
        req('add', [], {
          args: bytes,
          deps: [
            { key: 'a', serializer: MSGPACK, bytes: a },
            { key: 'b', serializer: MSGPACK, bytes: b },
          ],
        }),
      );
      t.equal(value(res), 42);
      t.ok(res.startedAtMs > 0 && res.durationMs >= 0, 'timing is reported');
      t.equal(value(await ex.run(req('sum', [[1, 2, 3]]))), 6);
    });

    void t.test('one input, refs to it and to parts of it; a ref to an input not sent is an INTERNAL error', async (t) => {
      const one = serializeResult({ list: [7, 8] }, msgpack, 'one');
      const { bytes } = encodeArgs([new FutureRef('one', ['list', 0]), new FutureRef('one', ['list', 1])], () => undefined);
      t.equal(value(await ex.run(req('add', [], { args: bytes, deps: [{ key: 'one', serializer: MSGPACK, bytes: one }] }))), 15);
      const other = encodeArgs([new FutureRef('two'), 1], () => undefined).bytes;
      const missing = await ex.run(req('add', [], { args: other, deps: [{ key: 'one', serializer: MSGPACK, bytes: one }] }));
      t.equal(code(missing), 'INTERNAL');
    });

    void t.test('the time spent serializing is measured for traced runs only (their serialize span)', async (t) => {
      const untraced = await ex.run(req('sum', [[1, 2]]));
      t.equal(value(untraced), 3);
      t.notOk('serializeMs' in untraced, 'untraced: no serializeMs');
      const traced = await ex.run(req('sum', [[1, 2]], { traceParent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' }));
      t.equal(value(traced), 3);
      t.ok(traced.type === 'ok' && typeof traced.serializeMs === 'number' && traced.serializeMs >= 0, 'traced: serializeMs set');
    });

    void t.test("a task's first run is timed from after its module loaded", async (t) => {
      // A module of its own per executor, so that this run is the one that imports it.
      const module = `${LOAD_STAMP}?executor=${name}`;
      const res = await ex.run(req('loadedAt', [], { module }));
      const loadedAtMs = value(res) as number;
      t.ok(res.startedAtMs >= loadedAtMs, `the run started (${res.startedAtMs}) once the module had loaded (${loadedAtMs})`);
      const again = await ex.run(req('loadedAt', [], { module }));
      t.equal(value(again), loadedAtMs, 'the module is loaded once');
    });

    void t.test('many runs at once: no listener-leak warning', async (t) => {
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(w.name);
      process.on('warning', onWarning);
      t.teardown(() => process.off('warning', onWarning));
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => ex.run(req('sum', [[i, 1]]))));
      t.same(results.map(value), Array.from({ length: 25 }, (_, i) => i + 1));
      // A warning is emitted on the next tick after the listener that exceeds the limit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      t.same(warnings.filter((n) => n === 'MaxListenersExceededWarning'), []);
    });

    void t.test('builtins', async (t) => {
      const collect = await ex.run(req('collect', [1, 'two', [3]], { module: 'floe:builtin' }));
      t.same(value(collect), [1, 'two', [3]]);
      const getItem = await ex.run(req('getItem', [{ a: [5, 6] }, 'a'], { module: 'floe:builtin' }));
      t.same(value(getItem), [5, 6]);
      t.equal(code(await ex.run(req('nope', [], { module: 'floe:builtin' }))), 'UNKNOWN_EXPORT');
    });

    void t.test('custom serializer loaded from its module, for result and dependency', async (t) => {
      const upper: SerializerRef = { id: 'test-upper', module: CUSTOM };
      const res = await ex.run(req('greet', ['ann'], { module: CUSTOM, serializer: upper }));
      t.equal(code(res), 'ok');
      if (res.type === 'ok') t.equal(new TextDecoder().decode(res.bytes), 'HELLO ANN');
      const dep = new TextEncoder().encode('BOB');
      const { bytes } = encodeArgs([new FutureRef('g')], () => undefined);
      const res2 = await ex.run(req('echo', [], { args: bytes, deps: [{ key: 'g', serializer: upper, bytes: dep }] }));
      t.same(value(res2), ['BOB']);
      const unknown = await ex.run(req('add', [1, 2], { serializer: { id: 'nope', module: '' } }));
      t.equal(code(unknown), 'UNKNOWN_SERIALIZER');
    });

    void t.test('load errors', async (t) => {
      const missing = await ex.run(req('add', [], { module: new URL('../fixtures/missing.ts', import.meta.url).href }));
      t.equal(code(missing), 'UNKNOWN_MODULE');
      if (missing.type === 'error') {
        t.match(missing.error.message, `on host ${hostname()}`, 'the host that tried is named');
        t.match(missing.error.message, 'at the same path', 'a module not there says where task modules must be');
      }
      const broken = await ex.run(req('add', [], { module: new URL('../fixtures/broken-module.ts', import.meta.url).href }));
      t.equal(code(broken), 'UNKNOWN_MODULE');
      if (broken.type === 'error') {
        t.match(broken.error.message, 'fixture module failed to load', 'cause is included');
        t.notMatch(broken.error.message, 'at the same path', 'a module that is there but fails says only why');
      }
      t.equal(code(await ex.run(req('nothingHere'))), 'UNKNOWN_EXPORT');
      t.equal(code(await ex.run(req('notATask'))), 'NOT_A_TASK');
    });

    void t.test('task errors', async (t) => {
      const res = await ex.run(req('throwsTypeError'));
      t.equal(code(res), 'TASK_ERROR');
      if (res.type === 'error') {
        t.equal(res.error.originalName, 'TypeError');
        t.equal(res.error.taskKey, 'throwsTypeError-1');
        t.equal(res.error.retryable, true);
        t.match(res.error.stack, 'fixtures/tasks.ts', 'remote stack points into the task module');
      }
      t.equal(code(await ex.run(req('throwsFloe'))), 'LIMIT_EXCEEDED', 'a FloeError keeps its code');
      const unser = await ex.run(req('returnsFunction'));
      t.equal(code(unser), 'UNSERIALIZABLE_RESULT');
      t.equal(code(await ex.run(req('add', [], { args: encodeArgs([new FutureRef('ghost')], () => undefined).bytes }))), 'INTERNAL');
    });

    void t.test('result bytes arrive intact', async (t) => {
      const res = await ex.run(req('bytes', [100_000], { serializer: { id: 'raw', module: '' } }));
      t.equal(code(res), 'ok');
      if (res.type !== 'ok') return;
      t.equal(res.bytes.byteLength, 100_000);
      t.equal(res.bytes[99_999], 99_999 & 0xff);
      const small = await ex.run(req('inc', [1]));
      t.equal(value(small), 2);
      if (ex instanceof PoolExecutor && small.type === 'ok') {
        // msgpackr returns a view into its 8 KiB pool; the thread must send only the bytes.
        t.equal(small.bytes.buffer.byteLength, small.bytes.byteLength, 'only the result bytes crossed the thread');
      }
    });

    void t.test('cancel via signal', async (t) => {
      const ac = new AbortController();
      const pending = ex.run(req('hang'), { signal: ac.signal });
      ac.abort();
      t.equal(code(await pending), 'CANCELLED');
      const pre = new AbortController();
      pre.abort();
      t.equal(code(await ex.run(req('inc', [1]), { signal: pre.signal })), 'CANCELLED');
    });

    void t.test('timeout on a task that never settles', async (t) => {
      const res = await ex.run(req('hang'), { timeoutMs: 50 });
      t.equal(code(res), 'TASK_TIMEOUT');
      if (res.type === 'error') t.equal(res.error.taskKey, 'hang-1');
      t.equal(value(await ex.run(req('inc', [1]))), 2, 'still works');
    });

    void t.test('invalid run options', async (t) => {
      await t.rejects(ex.run(req('inc', [1]), { timeoutMs: -1 }), { code: 'INVALID_ARGUMENT' });
    });
    t.end();
  });
}

void t.test('PoolExecutor terminates a CPU-bound task on timeout and keeps working', async (t) => {
  // One thread: if the spinning thread were not terminated, nothing else could ever run.
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const before = value(await ex.run(req('threadId')));
  const res = await ex.run(req('spin'), { timeoutMs: 200 });
  t.equal(code(res), 'TASK_TIMEOUT');
  const after = value(await ex.run(req('threadId')));
  t.not(after, before, 'the thread was replaced');
  t.equal(value(await ex.run(req('add', [2, 3]))), 5);
});

void t.test('PoolExecutor reports a thread that dies under its task as WORKER_LOST', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  t.equal(code(await ex.run(req('exitThread'))), 'WORKER_LOST');
  t.equal(value(await ex.run(req('inc', [1]))), 2, 'a fresh thread takes over');
});

void t.test('PoolExecutor cancels a CPU-bound task', async (t) => {
  const ex = new PoolExecutor({ threads: 1 });
  t.teardown(() => ex.close());
  const ac = new AbortController();
  const pending = ex.run(req('spin'), { signal: ac.signal });
  ac.abort();
  t.equal(code(await pending), 'CANCELLED');
  t.equal(value(await ex.run(req('inc', [41]))), 42);
});

void t.test('PoolExecutor runs concurrent tasks', async (t) => {
  const ex = new PoolExecutor({ threads: 2 });
  t.teardown(() => ex.close());
  t.equal(ex.threads, 2);
  const [a, b] = await Promise.all([ex.run(req('slow', [20])), ex.run(req('slow', [20]))]);
  t.same([value(a), value(b)], [20, 20]);
});

void t.test('close() cancels running tasks; run() after close is CANCELLED', async (t) => {
  for (const ex of [new PoolExecutor({ threads: 1 }), new InlineExecutor()]) {
    const pending = ex.run(req('hang'));
    await ex.close();
    t.equal(code(await pending), 'CANCELLED');
    t.equal(code(await ex.run(req('inc', [1]))), 'CANCELLED');
  }
});

void t.test('PoolExecutor validates options eagerly', (t) => {
  for (const threads of [0, -1, 1.5, Number.NaN, '2' as unknown as number]) {
    let err: unknown;
    try {
      new PoolExecutor({ threads });
    } catch (e) {
      err = e;
    }
    t.ok(isFloeError(err) && err.code === 'INVALID_OPTION', `threads: ${String(threads)}`);
  }
  const ex = new PoolExecutor();
  t.teardown(() => ex.close());
  t.ok(ex.threads >= 1, 'defaults to availableParallelism');
  t.end();
});
