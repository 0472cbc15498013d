import t from 'tap';
import { isFloeError } from '../../src/errors.ts';
import { findCycle, indexGraph, topoOrder, validateGraph } from '../../src/graph/validate.ts';
import { mergeOptions, normalizeOptions, parseSize } from '../../src/graph/validate-options.ts';

const none = (): boolean => false;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isFloeError(error) ? error.code : 'NOT_A_FLOE_ERROR';
  }
  return undefined;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

t.test('findCycle', async (t) => {
  t.equal(findCycle([{ key: 'a', deps: [] }, { key: 'b', deps: ['a'] }]), undefined);
  t.same(findCycle([{ key: 'a', deps: ['b'] }, { key: 'b', deps: ['c'] }, { key: 'c', deps: ['a'] }]), ['a', 'b', 'c']);
  t.same(findCycle([{ key: 'a', deps: ['a'] }]), ['a']);
  t.equal(findCycle([{ key: 'a', deps: ['outside'] }]), undefined);
});

t.test('deep graphs do not overflow the stack', async (t) => {
  const n = 200_000;
  const tasks = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, deps: i === 0 ? [] : [`k${i - 1}`] }));
  t.equal(findCycle(tasks), undefined);
  t.equal(validateGraph(tasks, none), undefined);
  const order = topoOrder([...tasks].reverse());
  t.equal(order[0], 'k0');
  t.equal(order[n - 1], `k${n - 1}`);
  tasks[0] = { key: 'k0', deps: [`k${n - 1}`] };
  t.equal(findCycle(tasks)?.length, n);
});

t.test('validateGraph', async (t) => {
  t.equal(validateGraph([{ key: 'b', deps: ['a'] }], (k) => k === 'a'), undefined, 'known dependency');
  const missing = validateGraph([{ key: 'b', deps: ['a'] }], none);
  t.equal(missing?.code, 'MISSING_DEPENDENCY');
  t.match(missing?.message, /"b".*"a"/);
  t.equal(validateGraph([{ key: 'a', deps: [] }, { key: 'a', deps: [] }], none)?.code, 'KEY_CONFLICT');
  t.equal(validateGraph([{ key: 'a', deps: ['a'] }], none)?.code, 'CYCLIC_GRAPH');
  const cyclic = validateGraph([{ key: 'a', deps: ['b'] }, { key: 'b', deps: ['a'] }], none);
  t.equal(cyclic?.code, 'CYCLIC_GRAPH');
  t.match(cyclic?.message, 'a -> b -> a');
  t.equal(validateGraph([{ key: '', deps: [] }], none)?.code, 'INVALID_ARGUMENT');
});

t.test('indexGraph: positions of the keys, the first duplicate and the first bad key in batch order', async (t) => {
  const index = new Map<string, number>();
  t.equal(indexGraph([{ key: 'a', deps: [] }, { key: 'b', deps: ['a', 'x'] }, { key: 'c', deps: ['b'] }], (k) => k === 'x', index), undefined);
  t.same([...index], [['a', 0], ['b', 1], ['c', 2]]);
  const twice = indexGraph([{ key: 'a', deps: [] }, { key: 'b', deps: [] }, { key: 'b', deps: [] }, { key: 'a', deps: [] }], none, new Map());
  t.equal(twice?.code, 'KEY_CONFLICT');
  t.equal(twice?.taskKey, 'b', 'the key whose second occurrence comes first');
  const tasks = (...keys: string[]): { key: string; deps: string[] }[] => keys.map((key) => ({ key, deps: [] }));
  t.equal(indexGraph(tasks('a', 'a', ''), none, new Map())?.code, 'KEY_CONFLICT', 'a duplicate before an empty key');
  t.equal(indexGraph(tasks('a', '', 'a'), none, new Map())?.code, 'INVALID_ARGUMENT', 'an empty key before a duplicate');
  t.equal(indexGraph(tasks('a', 'b'), none, new Map([['b', 5]]))?.code, 'KEY_CONFLICT', 'a key already in the index');
});

t.test('topoOrder and findCycle: the first of duplicated keys counts', async (t) => {
  // Were the second "a" (which depends on b) the one, a and b would form a cycle.
  const tasks = [{ key: 'a', deps: [] }, { key: 'b', deps: ['a'] }, { key: 'a', deps: ['b'] }];
  t.same(topoOrder(tasks), ['a', 'b']);
  t.equal(findCycle(tasks), undefined);
  const later = [{ key: 'a', deps: ['b'] }, { key: 'b', deps: ['a'] }, { key: 'a', deps: [] }];
  t.equal(codeOf(() => topoOrder(later)), 'CYCLIC_GRAPH');
  t.same(findCycle(later), ['a', 'b']);
});

t.test('topoOrder', async (t) => {
  t.same(topoOrder([{ key: 'c', deps: ['a', 'b'] }, { key: 'b', deps: ['a'] }, { key: 'a', deps: [] }]), ['a', 'b', 'c']);
  t.equal(codeOf(() => topoOrder([{ key: 'a', deps: ['b'] }, { key: 'b', deps: ['a'] }])), 'CYCLIC_GRAPH');
});

t.test('parseSize', async (t) => {
  t.equal(parseSize('2GiB', 'x'), 2 * 1024 ** 3);
  t.equal(parseSize('512MB', 'x'), 512e6);
  t.equal(parseSize('1.5 GB', 'x'), 1.5e9);
  t.equal(parseSize('100KiB', 'x'), 102400);
  t.equal(parseSize('10B', 'x'), 10);
  t.equal(parseSize('3 kb', 'x'), 3000);
  t.equal(parseSize(42, 'x'), 42);
  for (const bad of ['', 'GiB', '-1GiB', '2 parsecs', '1e3']) t.equal(codeOf(() => parseSize(bad, 'x')), 'INVALID_OPTION', bad);
  t.equal(codeOf(() => parseSize(-1, 'x')), 'INVALID_OPTION');
  t.match(messageOf(() => parseSize('lots', '--memory-limit')), /^--memory-limit must be/);
});

t.test('normalizeOptions: defaults and values', async (t) => {
  t.same(normalizeOptions(undefined, 'options'), {
    retries: 0,
    retryDelayMs: 0,
    retryBackoff: 2,
    timeoutMs: 0,
    serializer: { id: 'msgpack', module: '' },
    priority: 0,
    resources: {},
  });
  t.same(
    normalizeOptions(
      {
        retries: 3,
        retryDelayMs: 10,
        retryBackoff: 1.5,
        timeoutMs: 1000,
        serializer: { id: 'mine', moduleUrl: 'file:///s.js' },
        priority: -2,
        resources: { memory: '1.5 GB', gpu: 1 },
        key: 'k',
        name: 'n',
      },
      'options',
    ),
    {
      retries: 3,
      retryDelayMs: 10,
      retryBackoff: 1.5,
      timeoutMs: 1000,
      serializer: { id: 'mine', module: 'file:///s.js' },
      priority: -2,
      resources: { memory: 1.5e9, gpu: 1 },
      key: 'k',
      name: 'n',
    },
  );
  t.same(normalizeOptions({ serializer: 'json' }, 'options').serializer, { id: 'json', module: '' });
});

t.test('normalizeOptions: every bad value is INVALID_OPTION naming the option', async (t) => {
  const cases: [unknown, string][] = [
    [{ retries: -1 }, 'options.retries'],
    [{ retries: 1.5 }, 'options.retries'],
    [{ retries: 1001 }, 'options.retries'],
    [{ retryDelayMs: -1 }, 'options.retryDelayMs'],
    [{ retryDelayMs: Infinity }, 'options.retryDelayMs'],
    [{ retryBackoff: 0.5 }, 'options.retryBackoff'],
    [{ timeoutMs: 0 }, 'options.timeoutMs'],
    [{ timeoutMs: NaN }, 'options.timeoutMs'],
    [{ serializer: '' }, 'options.serializer'],
    [{ serializer: 3 }, 'options.serializer'],
    [{ serializer: { id: 'x' } }, 'options.serializer.moduleUrl'],
    [{ priority: '1' }, 'options.priority'],
    [{ resources: [] }, 'options.resources'],
    [{ resources: { gpu: -1 } }, 'options.resources.gpu'],
    [{ resources: { memory: '2 lots' } }, 'options.resources.memory'],
    [{ key: 'a/b' }, 'options.key'],
    [{ key: '' }, 'options.key'],
    [{ key: 'x'.repeat(257) }, 'options.key'],
    [{ name: 7 }, 'options.name'],
    [{ retrys: 1 }, 'options.retrys'],
    [null, 'options'],
  ];
  for (const [opts, name] of cases) {
    t.equal(codeOf(() => normalizeOptions(opts, 'options')), 'INVALID_OPTION', name);
    t.ok(messageOf(() => normalizeOptions(opts, 'options')).startsWith(`${name} `), name);
  }
  t.equal(messageOf(() => normalizeOptions({ retries: -1 }, 'options')), 'options.retries must be a non-negative integer <= 1000 (got -1)');
});

t.test('mergeOptions', async (t) => {
  t.same(
    mergeOptions({ retries: 1, resources: { gpu: 1 }, name: 'a' }, { retries: 2, resources: { memory: '1GB' }, name: undefined }),
    { retries: 2, resources: { gpu: 1, memory: '1GB' }, name: 'a' },
  );
});
