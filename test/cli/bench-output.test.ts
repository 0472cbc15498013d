// `floe bench --json/--svg`: a missing folder is made; a path that cannot be written is a
// clear error before any scenario runs (a run takes minutes; its results must not be lost).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SCENARIO_NAMES } from '../../bench/scenarios/index.ts';
import { floe } from '../helpers/cli.ts';

t.test('--json and --svg into folders that do not exist yet', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-out-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'results', 'nested', 'quick.json');
  const svg = join(dir, 'charts', 'lag.svg');
  const out = await floe('bench', 'scheduler', '--mode', 'embedded', '--quick', '--json', json, '--svg', svg);
  t.equal(out.code, 0, out.stderr);
  const report = JSON.parse(await readFile(json, 'utf8')) as { scenarios: { name: string }[] };
  t.same(report.scenarios.map((s) => s.name), ['scheduler']);
  t.match(await readFile(svg, 'utf8'), /^<svg/);
});

t.test('an output path that cannot be written fails before anything runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-out-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  const out = await floe('bench', 'scheduler', '--mode', 'embedded', '--quick', '--json', join(file, 'quick.json'));
  t.equal(out.code, 2);
  t.match(out.stderr, /cannot write --json .*a-file\/quick\.json/);
  t.notMatch(out.stderr, /\[bench\] scheduler/, 'no scenario ran');
});

t.test('--warm-up takes whole seconds, 0 or more', async (t) => {
  const out = await floe('bench', 'scheduler', '--mode', 'embedded', '--quick', '--warm-up', '-1');
  t.not(out.code, 0);
  t.match(out.stderr, /--warm-up must be a non-negative integer/);
  t.notMatch(out.stderr, /\[bench\] scheduler/, 'no scenario ran');
});

t.test('floe bench --help names every scenario the harness has', async (t) => {
  const out = await floe('bench', '--help');
  t.equal(out.code, 0, out.stderr);
  const help = out.stdout.replace(/\s+/g, ' ');
  for (const name of SCENARIO_NAMES) t.match(help, new RegExp(`[ :,]${name}[,\\s]`), name);
});
