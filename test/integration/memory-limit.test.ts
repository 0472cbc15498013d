/**
 * A worker memory limit, end to end (embedded cluster, real Piscina pool): results far
 * beyond the limit spill to disk and load back on demand, the worker pauses under
 * pressure, memory never goes past the limit, and every result comes back intact.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import t from 'tap';
import type { Future } from '../../src/index.ts';
import type { Logger } from '../../src/util/logger.ts';
import { bytes, checksum } from '../fixtures/e2e-tasks.ts';
import { clusterOf, localClient, until } from '../helpers/e2e.ts';

const MiB = 1024 * 1024;
const LIMIT = 8 * MiB;

/** Spill directories of the embedded worker local-0 (only this test gives one a memory limit). */
const spillDirs = (): Set<string> => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('floe-spill-local-0-')));

/** The `bytes` fixture's content: byte i is i & 0xff. */
function intact(data: Uint8Array, n: number): boolean {
  if (data.byteLength !== n) return false;
  for (let i = 0; i < n; i++) if (data[i] !== (i & 0xff)) return false;
  return true;
}

const sumOf = (n: number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += i & 0xff;
  return s;
};

t.test('a flow whose results are 8x the worker memory limit completes', async (t) => {
  const before = spillDirs();
  const messages: string[] = [];
  const note = (_obj: object, msg: string): void => void messages.push(msg);
  const logger: Logger = { debug: note, info: note, warn: note, error: note };
  const client = await localClient(t, { threads: 2, memoryLimit: LIMIT, logger });
  const store = clusterOf(client).workers[0]!.store;
  t.equal(store.bytesMax, LIMIT);

  // 32 results of ~2 MiB (64 MiB in all), every one held by a future.
  const sizes = Array.from({ length: 32 }, (_, i) => 2 * MiB + i);
  const futures: Future<Uint8Array>[] = sizes.map((n) => client.submit(bytes, n));
  let spilledSeen = 0;
  const sampler = setInterval(() => (spilledSeen = Math.max(spilledSeen, store.spilledBytes)), 1);
  await Promise.all(futures.map((f) => f.wait()));
  clearInterval(sampler);
  spilledSeen = Math.max(spilledSeen, store.spilledBytes);

  t.equal(store.size, 32, 'the worker holds all 32 results');
  t.ok(spilledSeen > 0, `results were spilled (${spilledSeen} bytes)`);
  t.ok(store.bytes + store.spilledBytes === sizes.reduce((a, b) => a + b, 0), 'memory + disk = every result');
  t.ok(store.bytesHighWater <= LIMIT, `never more than the limit in memory (high water ${store.bytesHighWater})`);
  t.ok(store.bytesHighWater > 0);
  // With the default fractions, whether the worker pauses depends on how fast the disk takes
  // the spills (see the next test for a deterministic pause).
  t.comment(`paused ${messages.filter((m) => m === 'memory: paused').length} times`);
  const dirs = [...spillDirs()].filter((d) => !before.has(d));
  t.equal(dirs.length, 1, 'one private spill directory');

  // Spilled results as inputs: loaded back from disk for the task.
  const sum = client.submit(checksum, futures[0]!, futures[1]!);
  t.same(await sum.result(), { length: sizes[0]! + sizes[1]!, sum: sumOf(sizes[0]!) + sumOf(sizes[1]!) });

  // Every result read back by the client (over the data plane, from disk where spilled).
  for (const [i, f] of futures.entries()) {
    t.ok(intact(await f.result(), sizes[i]!), `result ${i} intact`);
  }
  t.ok(store.bytesHighWater <= LIMIT, `still within the limit after reading back (high water ${store.bytesHighWater})`);

  // A single result larger than the whole limit goes straight to disk.
  const huge = client.submit(bytes, 10 * MiB);
  t.ok(intact(await huge.result(), 10 * MiB), 'a 10 MiB result with an 8 MiB limit');
  t.equal(store.info(`${client.clientId}/${huge.key}`)?.spilled, true);

  // Released results take their spill files with them; closing removes the directory.
  for (const f of [...futures, sum, huge]) f.release();
  await until('everything dropped', () => store.size === 0);
  await store.idle();
  t.equal(store.spilledBytes, 0);
  t.equal(store.bytes, 0);
  t.same(readdirSync(`${tmpdir()}/${dirs[0]!}`), [], 'no spill files left');
  await client.close();
  t.notOk(spillDirs().has(dirs[0]!), 'spill directory removed on close');
});

t.test('the worker pauses past the pause fraction and resumes once spills land', async (t) => {
  const messages: string[] = [];
  const note = (_obj: object, msg: string): void => void messages.push(msg);
  const logger: Logger = { debug: note, info: note, warn: note, error: note };
  // Pause at the target: every put past it pauses the worker until its spill write lands.
  const client = await localClient(t, { threads: 2, memoryLimit: '4MiB', memoryPauseFraction: 0.6, logger });
  const store = clusterOf(client).workers[0]!.store;
  const futures = Array.from({ length: 8 }, (_, i) => client.submit(bytes, MiB + i));
  const results = await Promise.all(futures.map((f) => f.result()));
  t.ok(results.every((r, i) => intact(r, MiB + i)), 'every result intact');
  const count = (m: string): number => messages.filter((x) => x === m).length;
  t.ok(count('memory: paused') > 0, `paused ${count('memory: paused')} times`);
  await store.idle(); // the last spill may still be landing
  await until('resumed', () => count('memory: resumed') === count('memory: paused'));
  t.pass('and resumed as often');
  t.ok(store.bytesHighWater <= 4 * MiB, `high water ${store.bytesHighWater}`);
});

t.test('memory options are validated', async (t) => {
  const { Client } = await import('../../src/index.ts');
  await t.rejects(Client.local({ memoryLimit: 0 }), { code: 'INVALID_OPTION' });
  await t.rejects(Client.local({ memoryLimit: 'lots' }), { code: 'INVALID_OPTION' });
  await t.rejects(Client.local({ memoryLimit: MiB, memoryPauseFraction: 1.5 }), { code: 'INVALID_OPTION' });
  await t.rejects(Client.local({ memoryLimit: MiB, memoryTargetFraction: 0.9, memoryPauseFraction: 0.8 }), {
    code: 'INVALID_OPTION',
    message: 'options.memoryPauseFraction (0.8) must not be below options.memoryTargetFraction (0.9)',
  });
  // A fraction of no limit is not dropped without a word (in range or not).
  for (const options of [{ memoryTargetFraction: 0.5 }, { memoryPauseFraction: 5 }]) {
    await t.rejects(Client.local(options), {
      code: 'INVALID_OPTION',
      message: new RegExp(`options.${Object.keys(options)[0]} is a fraction of the memory limit, and no options.memoryLimit is given`),
    });
  }
});
