// The bench tools that run a client start themselves again with the bench client's V8 flags (bench/as-client.ts).
import { join } from 'node:path';
import t from 'tap';
import { YOUNG_GENERATION_MIB } from '../../cluster/node-flags.ts';
import { node } from '../helpers/cli.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'as-client-tool.ts');

t.test('a tool runs with the flags floe bench gives its client, its own flags and arguments kept', async (t) => {
  const out = await node('--import=tsx', fixture, 'linear-100x10', '5');
  t.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'the tool itself ran once (in the started process only)');
  t.same(JSON.parse(lines[0]!), { execArgv: [`--max-semi-space-size=${YOUNG_GENERATION_MIB}`, '--no-memory-reducer', '--expose-gc', '--import=tsx'], args: ['linear-100x10', '5'] });
});

t.test('a tool given all the flags runs in its own process, with nothing added', async (t) => {
  const out = await node('--max-semi-space-size=8', '--memory-reducer', '--no-expose-gc', '--import=tsx', fixture);
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), { execArgv: ['--max-semi-space-size=8', '--memory-reducer', '--no-expose-gc', '--import=tsx'], args: [] });
});
