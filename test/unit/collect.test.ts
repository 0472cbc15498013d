// util/collect.ts: a thread that lets go of memory outside its heap collects once enough
// has added up, at once or after the current work, and leaves no `gc` in tasks' globals.
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { COLLECT_AFTER_BYTES, letGoNow, letGoSoon } from '../../src/util/collect.ts';
import type * as Collect from '../../src/util/collect.ts';

/** Start times of the full collections seen so far (PerformanceObserver reports them after the fact). */
const majorStarts: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorStarts.push(e.startTime);
});
observer.observe({ entryTypes: ['gc'] });
t.teardown(() => observer.disconnect());

/** Waits until the observer has reported what happened before this call. */
const reported = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('letGoNow collects in the call that brings the count to the threshold, and counts from zero after', async (t) => {
  letGoNow(COLLECT_AFTER_BYTES); // whatever was counted before, the count is now below the threshold
  await reported();
  letGoNow(COLLECT_AFTER_BYTES - 1);
  const from = performance.now();
  letGoNow(1);
  const to = performance.now();
  await reported();
  t.ok(majorStarts.some((s) => s >= from && s <= to), `a full collection came with the byte that reached ${COLLECT_AFTER_BYTES}`);
});

t.test('letGoSoon collects once after the current turn, however many calls reach the threshold in it', async (t) => {
  letGoNow(COLLECT_AFTER_BYTES);
  await reported();
  const from = performance.now();
  letGoSoon(COLLECT_AFTER_BYTES);
  letGoSoon(COLLECT_AFTER_BYTES);
  const returned = performance.now();
  await turn();
  await turn();
  await reported();
  const since = majorStarts.filter((s) => s >= from);
  t.equal(since.length, 1, 'one full collection');
  t.ok(since.every((s) => s >= returned), 'after the calls had returned');
});

t.test('tasks do not get a gc global from it', async (t) => {
  letGoNow(COLLECT_AFTER_BYTES);
  await turn();
  t.equal(runInNewContext('typeof gc'), 'undefined', 'a fresh context has no gc');
  t.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'nor does this one');
});

t.test('a runtime that will not give the collector: letting go never throws, and the flag is set back', async (t) => {
  const flags: string[] = [];
  const mocked = await t.mockImport<typeof Collect>('../../src/util/collect.ts', {
    'node:v8': { setFlagsFromString: (flag: string) => void flags.push(flag) },
    'node:vm': {
      runInNewContext: () => {
        throw new EvalError('Code generation from strings disallowed for this context');
      },
    },
  });
  t.doesNotThrow(() => mocked.letGoNow(mocked.COLLECT_AFTER_BYTES), 'letGoNow');
  t.doesNotThrow(() => mocked.collectNow(), 'collectNow, again');
  t.same(flags, ['--expose-gc', '--no-expose-gc'], 'asked once, the flag set back');
});
