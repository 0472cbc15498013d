// The V8 flags floe gives the cluster processes it starts (cluster/node-flags.ts).
import t from 'tap';
import { YOUNG_GENERATION_MIB, clusterNodeFlags } from '../../cluster/node-flags.ts';

const max = `--max-semi-space-size=${YOUNG_GENERATION_MIB}`;
const min = `--min-semi-space-size=${YOUNG_GENERATION_MIB}`;
const gc = '--single-threaded-gc';
const nmr = '--no-memory-reducer';
const eg = '--expose-gc';

t.test('a larger young generation unless one is given already', async (t) => {
  t.same(clusterNodeFlags('worker', [], ''), [max, gc, nmr, eg]);
  t.same(clusterNodeFlags('worker', ['--enable-source-maps'], '--no-warnings'), [max, gc, nmr, eg]);
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size=8'], ''), [gc, nmr, eg], 'in the process flags');
  t.same(clusterNodeFlags('worker', [], '--no-warnings  --max-semi-space-size=128'), [gc, nmr, eg], 'in NODE_OPTIONS');
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size', '8'], ''), [gc, nmr, eg], 'as two arguments');
  t.same(clusterNodeFlags('worker', ['--max_semi_space_size=8'], ''), [gc, nmr, eg], 'with underscores, as V8 also reads it');
});

t.test('the coordinator holds its young generation at full size; workers do not (their pool threads would too)', async (t) => {
  t.same(clusterNodeFlags('coordinator', [], ''), [max, min, nmr, eg]);
  t.same(clusterNodeFlags('coordinator', ['--min-semi-space-size=16'], ''), [nmr, eg], 'a minimum given: no maximum added either');
  t.same(clusterNodeFlags('coordinator', [], '--max-semi-space-size=32'), [nmr, eg], 'a maximum given: no minimum added either');
  t.notOk(clusterNodeFlags('worker', [], '').includes(min));
});

t.test('a client (floe run, floe bench) gets the maximum only: the embedded mode has pool threads', async (t) => {
  t.same(clusterNodeFlags('client', [], ''), [max, nmr, eg]);
  t.same(clusterNodeFlags('client', [], '--max-semi-space-size=16'), [nmr, eg], 'given in NODE_OPTIONS');
  t.same(clusterNodeFlags('client', ['--min-semi-space-size=4'], ''), [nmr, eg], 'a minimum given');
});

t.test('workers collect garbage on their own threads unless the operator chose otherwise', async (t) => {
  t.ok(clusterNodeFlags('worker', [], '').includes(gc));
  t.notOk(clusterNodeFlags('coordinator', [], '').includes(gc), 'not the coordinator');
  t.notOk(clusterNodeFlags('client', [], '').includes(gc), 'not a client');
  for (const chosen of ['--single-threaded-gc', '--no-single-threaded-gc', '--no_single_threaded_gc', '--nosingle-threaded-gc', '--single-threaded']) {
    t.same(clusterNodeFlags('worker', [chosen], ''), [max, nmr, eg], `${chosen} given`);
  }
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size=8', '--no-single-threaded-gc'], ''), [nmr, eg], 'both chosen: the reducer still off');
});

t.test('every process floe starts runs without V8\'s memory reducer unless the operator chose', async (t) => {
  for (const role of ['coordinator', 'worker', 'client'] as const) t.ok(clusterNodeFlags(role, [], '').includes(nmr), role);
  for (const chosen of ['--memory-reducer', '--no-memory-reducer', '--no_memory_reducer', '--nomemory-reducer']) {
    t.notOk(clusterNodeFlags('worker', [chosen], '').includes(nmr), `${chosen} given`);
    t.notOk(clusterNodeFlags('coordinator', [], `--no-warnings ${chosen}`).includes(nmr), `${chosen} in NODE_OPTIONS`);
  }
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size=8', '--no-single-threaded-gc', '--memory-reducer', '--expose-gc'], ''), [], 'all chosen: nothing added');
});

t.test('every process floe starts may collect its young generation when idle (util/idle-gc.ts) unless the operator chose', async (t) => {
  for (const role of ['coordinator', 'worker', 'client'] as const) t.ok(clusterNodeFlags(role, [], '').includes(eg), role);
  for (const chosen of ['--expose-gc', '--no-expose-gc', '--expose_gc', '--noexpose-gc']) {
    t.notOk(clusterNodeFlags('worker', [chosen], '').includes(eg), `${chosen} given`);
    t.notOk(clusterNodeFlags('client', [], `--no-warnings ${chosen}`).includes(eg), `${chosen} in NODE_OPTIONS`);
  }
});
