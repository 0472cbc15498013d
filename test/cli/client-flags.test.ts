// `floe run` runs its client (and in the embedded mode, the whole cluster) with the client's
// young generation and without V8's memory reducer (cluster/node-flags.ts), by starting
// itself again (cluster/relaunch.ts).
import t from 'tap';
import { YOUNG_GENERATION_MIB } from '../../cluster/node-flags.ts';
import { floe, node, cliPath } from '../helpers/cli.ts';

const flag = `--max-semi-space-size=${YOUNG_GENERATION_MIB}`;
const noReducer = '--no-memory-reducer';
const exposeGc = '--expose-gc';

t.test('floe run adds the young generation, turns the memory reducer off and exposes the collector in its process', async (t) => {
  const out = await floe('run', 'test/fixtures/flags-flow.ts', '--json', '--threads', '1', '--no-progress');
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), [flag, noReducer, exposeGc]);
});

t.test('a size given by the caller is kept, and no other size is added', async (t) => {
  const out = await node('--max-semi-space-size=8', cliPath, 'run', 'test/fixtures/flags-flow.ts', '--json', '--threads', '1', '--no-progress');
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), [noReducer, exposeGc, '--max-semi-space-size=8']);
});

t.test('flags given for all are kept, and nothing is added', async (t) => {
  const out = await node('--max-semi-space-size=8', '--memory-reducer', '--no-expose-gc', cliPath, 'run', 'test/fixtures/flags-flow.ts', '--json', '--threads', '1', '--no-progress');
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), ['--max-semi-space-size=8', '--memory-reducer', '--no-expose-gc']);
});

t.test('the exit code of the command run again is floe\'s', async (t) => {
  const out = await floe('run', 'test/fixtures/no-such-flow.ts', '--no-progress');
  t.equal(out.code, 2);
  t.match(out.stderr, /cannot load test\/fixtures\/no-such-flow\.ts/);
});

t.test('floe run on a cluster refuses the embedded mode\'s --threads and --workers, which it would drop', async (t) => {
  for (const flag of ['--threads', '--workers']) {
    const out = await floe('run', 'test/fixtures/flags-flow.ts', '--nats', 'nats://127.0.0.1:1', flag, '2', '--no-progress');
    t.equal(out.code, 2, flag);
    t.match(out.stderr, new RegExp(`${flag} is for the embedded mode; with --nats \\(or FLOE_NATS\\) the cluster's workers run the flow`));
  }
});
