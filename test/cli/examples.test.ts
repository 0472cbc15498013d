// The README's examples, run the way users run them: `floe run <flow-file>` as a child
// process on the embedded default, with their results checked.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { floe } from '../helpers/cli.ts';

t.test('word count: counts every word of the generated corpus', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-wc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = await floe('run', 'examples/word-count/flow.ts', '4', JSON.stringify(dir), '--json', '--threads', '2');
  t.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { files: string[]; total: Record<string, number>; top: [string, number][] };
  t.equal(result.files.length, 4);
  // Count the files directly and compare.
  const expected: Record<string, number> = {};
  for (const file of result.files) {
    for (const w of (await readFile(file, 'utf8')).split(/\s+/)) if (w !== '') expected[w] = (expected[w] ?? 0) + 1;
  }
  t.same(result.total, expected);
  t.equal(Object.values(result.total).reduce((a, b) => a + b, 0), 4 * 2000 * 8);
  t.equal(result.top.length, 5);
});

t.test('monte carlo pi: tree reduction over all samples', async (t) => {
  const out = await floe('run', 'examples/monte-carlo-pi/flow.ts', '16', '50000', '--json', '--threads', '2');
  t.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { pi: number; samples: { hits: number; n: number } };
  t.equal(result.samples.n, 16 * 50000);
  t.ok(Math.abs(result.pi - Math.PI) < 0.02, `pi estimate ${result.pi}`);
});

t.test('etl: the flaky load succeeds on retry', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-etl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = await floe('run', 'examples/etl/flow.ts', '["north","south"]', JSON.stringify(dir), '--json', '--threads', '2');
  t.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { report: { regions: string[] }; loaded: { path: string; rows: number } };
  t.same(result.report.regions, ['north', 'south']);
  const written = JSON.parse(await readFile(result.loaded.path, 'utf8')) as unknown;
  t.same(written, result.report);
});

t.test('bad input: missing file and a module without a flow are clear errors', async (t) => {
  const missing = await floe('run', 'examples/nope.ts');
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot load/);
  const notFlow = await floe('run', 'examples/etl/tasks.ts');
  t.equal(notFlow.code, 2);
  t.match(notFlow.stderr, /default/);
});

t.test('floe run without a terminal prints plain progress lines on stderr', async (t) => {
  const out = await floe('run', 'examples/monte-carlo-pi/flow.ts', '8', '1000', '--json', '--threads', '2', '--progress-interval', '20');
  t.equal(out.code, 0, out.stderr);
  t.type(JSON.parse(out.stdout), 'object', 'stdout holds only the result');
  const lines = out.stderr.split('\n').filter((l) => l.startsWith('floe run: monte-carlo-pi ') && l.includes(' done, '));
  const last = lines.at(-1) ?? '';
  const m = /^floe run: monte-carlo-pi (\d+)\/(\d+) done, 0 failed, 0 running \(ended\)$/.exec(last);
  t.ok(m, `a last progress line: ${JSON.stringify(out.stderr)}`);
  t.equal(m?.[1], m?.[2], 'all tasks done');
  t.ok(Number(m?.[2]) > 8, 'the total counts every task of the flow');
  t.notOk(out.stderr.includes('\u001b['), 'no terminal control codes');

  const quiet = await floe('run', 'examples/monte-carlo-pi/flow.ts', '8', '1000', '--json', '--threads', '2', '--no-progress');
  t.equal(quiet.code, 0, quiet.stderr);
  t.notMatch(quiet.stderr, /done, \d+ failed/, '--no-progress prints no progress');
});
