// `floe bench straggler`: tiny tasks beside one of their kind that spins, independent and in
// chains. Runs taken back from a stuck pool thread run again elsewhere; every result must
// still be right, and every figure be there.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { floe } from '../helpers/cli.ts';

interface Report {
  scenarios: { name: string; error?: string; metrics: { key: string; floe?: { median: number; n: number } }[] }[];
}

t.test('straggler --quick: both shapes measured, every result right', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-straggler-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'straggler.json');
  const out = await floe('bench', 'straggler', '--mode', 'embedded', '--quick', '--warm-up', '0', '--json', json);
  t.equal(out.code, 0, out.stderr);
  const report = JSON.parse(await readFile(json, 'utf8')) as Report;
  const scenario = report.scenarios.find((s) => s.name === 'straggler');
  t.ok(scenario, 'the scenario ran');
  t.equal(scenario?.error, undefined);
  const medians = Object.fromEntries((scenario?.metrics ?? []).map((m) => [m.key, m.floe?.median]));
  t.same(Object.keys(medians), [
    'independent: no straggler', 'independent: others done', 'independent: straggler done',
    'chains of 10: no straggler', 'chains of 10: others done', 'chains of 10: straggler done',
    'results correct',
  ]);
  t.equal(medians['results correct'], 1, 'every result right');
  for (const [key, value] of Object.entries(medians)) t.ok(Number.isFinite(value) && value! > 0, `${key}: ${value}`);
  // The straggler spins 0.5 s, so its chain cannot be done sooner: the spin ran, once at least.
  t.ok(medians['independent: straggler done']! >= 0.5 && medians['chains of 10: straggler done']! >= 0.5, 'the straggler spun');
});
