// The V8 flags floe gives the cluster processes it starts (cluster/node-flags.ts).
import t from 'tap';
import { YOUNG_GENERATION_MIB, clusterNodeFlags } from '../../cluster/node-flags.ts';

t.test('a larger young generation unless one is given already', async (t) => {
  t.same(clusterNodeFlags([], ''), [`--max-semi-space-size=${YOUNG_GENERATION_MIB}`]);
  t.same(clusterNodeFlags(['--enable-source-maps'], '--no-warnings'), [`--max-semi-space-size=${YOUNG_GENERATION_MIB}`]);
  t.same(clusterNodeFlags(['--max-semi-space-size=8'], ''), [], 'in the process flags');
  t.same(clusterNodeFlags([], '--no-warnings  --max-semi-space-size=128'), [], 'in NODE_OPTIONS');
  t.same(clusterNodeFlags(['--max-semi-space-size', '8'], ''), [], 'as two arguments');
});
