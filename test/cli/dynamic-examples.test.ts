// The README's actor and dynamic-task examples, run the way users run them.
import t from 'tap';
import { floe, node } from '../helpers/cli.ts';

t.test('fib: recursion through subtasks on a 1-thread pool', async (t) => {
  const out = await floe('run', 'examples/fib/flow.ts', '20', '--json', '--threads', '1');
  t.equal(out.code, 0, out.stderr);
  t.equal(JSON.parse(out.stdout), 6765);
});

t.test('dynamic fan-out: as many subtasks as sites found at run time', async (t) => {
  const out = await floe('run', 'examples/dynamic-fanout/flow.ts', '["north","south"]', '--json', '--threads', '2');
  t.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { region: string; sites: number; best: number; total: number }[];
  t.same(result.map((r) => r.region), ['north', 'south']);
  for (const r of result) {
    t.ok(r.sites >= 3 && r.sites < 23, `${r.region}: ${r.sites} sites`);
    t.ok(r.best <= r.total && r.total <= 100 * r.sites);
  }
});

t.test('actor counter: calls in order, no increment lost', async (t) => {
  const out = await node('--import=tsx', 'examples/actor-counter/main.ts');
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), { firsts: [101, 102, 103], total: 123 });
});
