// The V8 flags floe gives the cluster processes it starts (cluster/node-flags.ts).
import t from 'tap';
import { YOUNG_GENERATION_MIB, clusterNodeFlags } from '../../cluster/node-flags.ts';

const max = `--max-semi-space-size=${YOUNG_GENERATION_MIB}`;
const min = `--min-semi-space-size=${YOUNG_GENERATION_MIB}`;
const gc = '--single-threaded-gc';

t.test('a larger young generation unless one is given already', async (t) => {
  t.same(clusterNodeFlags('worker', [], ''), [max, gc]);
  t.same(clusterNodeFlags('worker', ['--enable-source-maps'], '--no-warnings'), [max, gc]);
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size=8'], ''), [gc], 'in the process flags');
  t.same(clusterNodeFlags('worker', [], '--no-warnings  --max-semi-space-size=128'), [gc], 'in NODE_OPTIONS');
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size', '8'], ''), [gc], 'as two arguments');
  t.same(clusterNodeFlags('worker', ['--max_semi_space_size=8'], ''), [gc], 'with underscores, as V8 also reads it');
});

t.test('the coordinator holds its young generation at full size; workers do not (their pool threads would too)', async (t) => {
  t.same(clusterNodeFlags('coordinator', [], ''), [max, min]);
  t.same(clusterNodeFlags('coordinator', ['--min-semi-space-size=16'], ''), [], 'a minimum given: no maximum added either');
  t.same(clusterNodeFlags('coordinator', [], '--max-semi-space-size=32'), [], 'a maximum given: no minimum added either');
  t.notOk(clusterNodeFlags('worker', [], '').includes(min));
});

t.test('a client (floe run, floe bench) gets the maximum only: the embedded mode has pool threads', async (t) => {
  t.same(clusterNodeFlags('client', [], ''), [max]);
  t.same(clusterNodeFlags('client', [], '--max-semi-space-size=16'), [], 'given in NODE_OPTIONS');
  t.same(clusterNodeFlags('client', ['--min-semi-space-size=4'], ''), [], 'a minimum given');
});

t.test('workers collect garbage on their own threads unless the operator chose otherwise', async (t) => {
  t.ok(clusterNodeFlags('worker', [], '').includes(gc));
  t.notOk(clusterNodeFlags('coordinator', [], '').includes(gc), 'not the coordinator');
  t.notOk(clusterNodeFlags('client', [], '').includes(gc), 'not a client');
  for (const chosen of ['--single-threaded-gc', '--no-single-threaded-gc', '--no_single_threaded_gc', '--nosingle-threaded-gc', '--single-threaded']) {
    t.same(clusterNodeFlags('worker', [chosen], ''), [max], `${chosen} given`);
  }
  t.same(clusterNodeFlags('worker', ['--max-semi-space-size=8', '--no-single-threaded-gc'], ''), [], 'both chosen: nothing added');
});
