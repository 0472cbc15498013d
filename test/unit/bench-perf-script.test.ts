// bench/perf-script.ts: `perf script` samples read into per-process CPU profiles.
import t from 'tap';
import { kindOf, parsePerfScript } from '../../bench/perf-script.ts';
import { parseTimehist, timeInWindows, windowView } from '../../bench/sched-timehist.ts';

const SCRIPT = [
  '  100/100  7f00c0ffee JS:*settle file:///x/dist/src/worker/pool-batch.js:49:11 (/tmp/perf-100.map)',
  '  100/100  7f00c0ffef JS:*settle file:///x/dist/src/worker/pool-batch.js:49:11 (/tmp/perf-100.map)',
  '  100/104  18c5c0f Builtins_FindOrderedHashMapEntry (/usr/bin/node)',
  '  100/105  fe8c53 v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot> (/usr/bin/node)',
  '  100/106  fe8c54 v8::internal::compiler::GraphReducer::ReduceTop (/usr/bin/node)',
  '  200/200  ffffffff81346935 clear_page_erms ([kernel.kallsyms])',
  '  200/201  7f7ea00b6a67 __memmove_avx_unaligned_erms (/usr/lib/x86_64-linux-gnu/libc.so.6)',
  '  300/300  7f7ea00b6a68 [unknown] (/tmp/perf-300.map)',
  'not a sample line',
  '',
].join('\n');

t.test('samples by process, main thread, kind of code and busiest symbols', async (t) => {
  const [a, b] = parsePerfScript(SCRIPT, new Set([100, 200]));
  t.equal(a!.pid, 100, 'the busiest process first');
  t.equal(a!.samples, 5);
  t.equal(a!.mainThread, 2, 'samples whose thread id is the process id');
  t.same(a!.kinds, { js: 2, builtins: 1, gc: 1, compiler: 1, kernel: 0, native: 0 });
  t.same(a!.top[0], { symbol: 'JS:*settle file:///x/dist/src/worker/pool-batch.js:49:11', samples: 2 });
  t.equal(b!.pid, 200);
  t.same(b!.kinds, { js: 0, builtins: 0, gc: 0, compiler: 0, kernel: 1, native: 1 });
  t.equal(parsePerfScript(SCRIPT).length, 3, 'every process when no set is given');
  t.same(parsePerfScript(SCRIPT, new Set([100]), 1)[0]!.top.length, 1, 'topN');
  t.same(parsePerfScript('', new Set([100])), [], 'no samples, no profiles');
});

t.test('kinds of code', async (t) => {
  t.equal(kindOf('clear_page_erms', '[kernel.kallsyms]'), 'kernel');
  t.equal(kindOf('JS:^run file:///a.js:1:1', '/tmp/perf-1.map'), 'js');
  t.equal(kindOf('Builtins_LoadIC', '/usr/bin/node'), 'builtins');
  t.equal(kindOf('v8::internal::ConcurrentMarking::RunMajor', '/usr/bin/node'), 'gc');
  t.equal(kindOf('v8::internal::Sweeper::RawSweep', '/usr/bin/node'), 'gc');
  t.equal(kindOf('v8::internal::compiler::PipelineImpl::OptimizeGraph', '/usr/bin/node'), 'compiler');
  t.equal(kindOf('uv_run', '/usr/bin/node'), 'native');
});

// bench/sched-timehist.ts: `perf sched timehist` read into run and wait time per process.
const TIMEHIST = [
  '           time    cpu  task name                       wait time  sch delay   run time',
  '                        [tid/pid]                          (msec)     (msec)     (msec)',
  '--------------- ------  ------------------------------  ---------  ---------  ---------',
  '     100.010000 [0000]  node[100]                           0.000      1.000      4.000 ',
  '     100.020000 [0001]  node[101/100]                       2.000      0.500      3.000 ',
  '     100.030000 [0000]  nats-server[201/200]                0.000      0.200      0.100 ',
  '     100.040000 [0001]  <idle>                              0.000      0.000      5.000 ',
  '     100.050000 [0000]  V8 Worker[102/100]                  0.000      2.000      1.000 ',
  'not a line',
].join('\n');

t.test('scheduler trace: run and wait per process, main thread apart, clipped to windows', async (t) => {
  const events = parseTimehist(TIMEHIST);
  t.same(
    events.map((e) => e.cpu),
    [0, 1, 0, 0],
    'the CPU each ran on',
  );
  t.same(
    events.map((e) => [e.tid, e.pid]),
    [
      [100, 100],
      [101, 100],
      [201, 200],
      [102, 100],
    ],
    'thread and process ids (one id: the main thread); a thread name may have spaces; idle CPUs are left out',
  );
  const names = new Map([
    [100, 'worker 0'],
    [300, 'client'],
  ]);
  // Process 100's main thread waited 100.005-100.006 and ran 100.006-100.010; thread 101 waited
  // 100.0165-100.017 and ran 100.017-100.020; thread 102 waited 100.047-100.049, ran 100.049-100.050.
  const all = timeInWindows(events, names, [[100, 101]]);
  t.same([...all.keys()], ['worker 0', 'client'], 'only the named processes, each even without events');
  const w = all.get('worker 0')!;
  t.ok(Math.abs(w.runMs - 8) < 1e-6 && Math.abs(w.waitMs - 3.5) < 1e-6, `all threads: run ${w.runMs}, wait ${w.waitMs}`);
  t.ok(Math.abs(w.mainRunMs - 4) < 1e-6 && Math.abs(w.mainWaitMs - 1) < 1e-6 && Math.abs(w.mainWaitMaxMs - 1) < 1e-6, 'the main thread alone');
  t.same(all.get('client'), { runMs: 0, waitMs: 0, mainRunMs: 0, mainWaitMs: 0, mainWaitMaxMs: 0 });
  // A window from 100.008 to 100.018 takes 2 ms of the main thread's run, and 0.5 ms of
  // thread 101's wait and 1 ms of its run.
  const cut = timeInWindows(events, names, [[100.008, 100.018]]).get('worker 0')!;
  t.ok(Math.abs(cut.runMs - 3) < 1e-6 && Math.abs(cut.waitMs - 0.5) < 1e-6 && cut.mainWaitMs === 0, `clipped: run ${cut.runMs}, wait ${cut.waitMs}`);
});

t.test('scheduler trace: what ran on each CPU during a window, and who waited for one', async (t) => {
  const names = new Map([[100, 'worker 0']]);
  const near = (runs: Array<{ who: string; ms: number }> | undefined, expected: Array<[string, number]>): boolean =>
    runs !== undefined && runs.length === expected.length && runs.every((r, i) => r.who === expected[i]![0] && Math.abs(r.ms - expected[i]![1]) < 1e-6);
  // Window 100.005-100.018: on cpu 0 the main thread ran 100.006-100.010 after waiting 1 ms;
  // on cpu 1 thread 101 ran 100.017-100.018 of its 100.017-100.020 after waiting 0.5 ms.
  const view = windowView(parseTimehist(TIMEHIST), names, [100.005, 100.018], 2);
  t.ok(near(view.cpus.get(0), [['idle', 1], ['worker 0', 4], ['idle', 8]]), `cpu 0: ${JSON.stringify(view.cpus.get(0))}`);
  t.ok(near(view.cpus.get(1), [['idle', 12], ['worker 0 thread 101', 1]]), `cpu 1, another thread by its id: ${JSON.stringify(view.cpus.get(1))}`);
  t.same(view.waits.map((w) => w.who), ['worker 0', 'worker 0 thread 101'], 'the longest wait first');
  t.ok(Math.abs(view.waits[0]!.ms - 1) < 1e-6 && Math.abs(view.waits[1]!.ms - 0.5) < 1e-6);

  // nats-server is not named: it runs as "other", and its wait is not listed.
  const later = windowView(parseTimehist(TIMEHIST), names, [100.02, 100.05], 2);
  t.ok(near(later.cpus.get(0), [['idle', 9.9], ['other', 0.1], ['idle', 19], ['worker 0 thread 102', 1]]), `cpu 0: ${JSON.stringify(later.cpus.get(0))}`);
  t.ok(near(later.cpus.get(1), [['idle', 30]]), 'a run that ends where the window starts is not in it');
  t.ok(near(later.waits, [['worker 0 thread 102', 2]]), `only named processes wait in the list: ${JSON.stringify(later.waits)}`);

  const twice = parseTimehist(['  100.002000 [0000]  node[100]  0.000  0.000  1.000', '  100.003000 [0000]  node[100]  0.000  0.000  1.000'].join('\n'));
  t.ok(near(windowView(twice, names, [100.001, 100.003], 1).cpus.get(0), [['worker 0', 2]]), 'two runs of one thread one after another: one entry');
  t.ok(near(windowView(twice, names, [100.1, 100.2], 2).cpus.get(1), [['idle', 100]]), 'a CPU with nothing in the window is idle');
});
