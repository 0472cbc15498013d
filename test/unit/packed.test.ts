// mapPacked (src/util/packed.ts): Array.prototype.map's result in every tier, always packed.
import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mapPacked } from '../../src/util/packed.ts';
import { node, packageRoot } from '../helpers/cli.ts';

t.test('maps every item, in order', async (t) => {
  t.same(mapPacked([1, 2, 3], (x) => x * 10), [10, 20, 30]);
  t.same(mapPacked(['a', 'b'], (s) => ({ key: s })), [{ key: 'a' }, { key: 'b' }]);
  t.same(mapPacked([], (x: number) => x), []);
  const items = [{ key: 'k1' }, { key: 'k2' }];
  t.same(mapPacked(items, (item) => item.key), ['k1', 'k2']);
  t.same(items, [{ key: 'k1' }, { key: 'k2' }], 'the input is left as it was');
});

t.test('its result is packed whether it runs unoptimized or optimized', async (t) => {
  // In a process of its own, where V8's natives syntax says which kind of array it got. (A
  // mapPacked made with .map fails this on Node 20: its optimized result is holey.)
  const url = pathToFileURL(join(packageRoot, 'dist', 'src', 'util', 'packed.js')).href;
  const script = `
    const { mapPacked } = await import(${JSON.stringify(url)});
    const items = Array.from({ length: 60 }, (_, i) => ({ key: 'k' + i }));
    const keyOf = (item) => item.key;
    const before = %HasHoleyElements(mapPacked(items, keyOf));
    %PrepareFunctionForOptimization(mapPacked);
    mapPacked(items, keyOf);
    mapPacked(items, keyOf);
    %OptimizeFunctionOnNextCall(mapPacked);
    const after = mapPacked(items, keyOf);
    console.log(JSON.stringify({ before, after: %HasHoleyElements(after), optimized: (%GetOptimizationStatus(mapPacked) & 16) !== 0, length: after.length, last: after[59] }));
  `;
  const out = await node('--allow-natives-syntax', '--input-type=module', '-e', script);
  t.equal(out.code, 0, out.stderr);
  t.same(JSON.parse(out.stdout), { before: false, after: false, optimized: true, length: 60, last: 'k59' });
});
