// bench/perf-script.ts: `perf script` samples read into per-process CPU profiles.
import t from 'tap';
import { kindOf, parsePerfScript } from '../../bench/perf-script.ts';

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
