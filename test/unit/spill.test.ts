/** The object store with spilling: LRU order, load back, limits, files, I/O errors, policy. */
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FloeError, isFloeError } from '../../src/errors.ts';
import { memoryPolicy, shouldPause } from '../../src/worker/memory.ts';
import { SpillDirectory, type SpillStorage } from '../../src/worker/spill.ts';
import { ObjectStore } from '../../src/worker/store.ts';

const ser = { id: 'raw', module: '' };
/** `n` bytes, all `fill`: content tells objects apart. */
const obj = (n: number, fill = 1) => ({ serializer: ser, bytes: new Uint8Array(n).fill(fill) });

function parent(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'floe-spill-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Spill storage in memory, recording calls; `failWrites`/`failReads` make I/O fail. */
class FakeSpill implements SpillStorage {
  readonly files = new Map<string, Uint8Array>();
  readonly written: string[] = [];
  failWrites = false;
  failReads = false;
  #seq = 0;
  /** Writes wait for release() when set. */
  hold: Promise<void> | undefined;
  write = async (id: string, bytes: Uint8Array): Promise<string> => {
    await this.hold;
    if (this.failWrites) throw new FloeError('LIMIT_EXCEEDED', `disk full writing ${id}`, { taskKey: id });
    const handle = `${id}#${++this.#seq}`;
    this.files.set(handle, bytes.slice());
    this.written.push(id);
    return handle;
  };
  read = (id: string, handle: string): Promise<Uint8Array> => {
    const data = this.files.get(handle);
    if (this.failReads || data === undefined) {
      return Promise.reject(new FloeError('RESULT_UNAVAILABLE', `cannot read ${id}`, { taskKey: id }));
    }
    return Promise.resolve(data.slice());
  };
  remove = (handle: string): Promise<void> => {
    this.files.delete(handle);
    return Promise.resolve();
  };
  close = (): Promise<void> => {
    this.files.clear();
    return Promise.resolve();
  };
}

void t.test('least recently used results spill first, past the target', async (t) => {
  const spill = new FakeSpill();
  const s = new ObjectStore({ bytesMax: 100, targetBytes: 60, spill });
  for (const [i, id] of ['a', 'b', 'c'].entries()) await s.put(id, obj(20, i));
  await s.get('a'); // a is now the most recently used
  await s.put('d', obj(20, 3)); // 80 > 60: spill LRU (b) until <= 60
  await s.idle();
  t.same(spill.written, ['b']);
  t.equal(s.bytes, 60);
  t.equal(s.spilledBytes, 20);
  t.equal(s.spilledCount, 1);
  t.same(s.info('b'), { nbytes: 20, serializer: ser, spilled: true });
  t.equal(s.peek('b'), undefined, 'not in memory');
  t.equal(s.size, 4);
  await s.put('e', obj(30, 4)); // 90: spill c, then a (d and e are newer)
  await s.idle();
  t.same(spill.written, ['b', 'c', 'a']);
  t.equal(s.bytes, 50);
  t.equal(s.spilledBytes, 60);
  t.ok(s.bytesHighWater <= 100);
  await s.close();
});

void t.test('a spilled result loads back intact, and stays in memory only under the target', async (t) => {
  const spill = new FakeSpill();
  const s = new ObjectStore({ bytesMax: 100, targetBytes: 50, spill });
  await s.put('a', obj(30, 7));
  await s.put('b', obj(30, 8)); // 60 > 50: a spills
  await s.idle();
  t.equal(s.info('a')?.spilled, true);
  const [x, y] = await Promise.all([s.get('a'), s.get('a')]); // one read shared
  t.same(x?.bytes, new Uint8Array(30).fill(7));
  t.equal(x?.bytes, y?.bytes, 'concurrent gets share one load');
  t.equal(s.info('a')?.spilled, true, '30 + 30 > target: served from disk, not kept');
  s.delete('b');
  const again = await s.get('a');
  t.same(again?.bytes, new Uint8Array(30).fill(7));
  t.equal(s.info('a')?.spilled, false, 'kept in memory now that it fits');
  t.equal(s.bytes, 30);
  t.equal(s.spilledBytes, 0);
  // Its file is kept: evicting it again needs no write.
  const writes = spill.written.length;
  await s.put('c', obj(40));
  await s.idle();
  t.equal(s.info('a')?.spilled, true);
  t.equal(spill.written.length, writes, 'clean copy dropped without rewriting');
  await s.close();
});

void t.test('a put past the limit waits for spills to land; memory never exceeds the limit', async (t) => {
  const spill = new FakeSpill();
  let release!: () => void;
  spill.hold = new Promise((r) => (release = r));
  const s = new ObjectStore({ bytesMax: 100, targetBytes: 60, spill });
  await s.put('a', obj(40));
  await s.put('b', obj(40)); // 80 > 60: a is being written
  let stored = false;
  const c = s.put('c', obj(40)).then((ok) => (stored = ok));
  await new Promise((r) => setImmediate(r));
  t.equal(stored, false, 'waits: a still in memory while its write is in flight');
  t.ok(s.has('c'), 'a pending put counts as held');
  t.equal(s.bytes, 80);
  const got = s.get('c'); // a reader of a pending put waits for it
  release();
  await c;
  t.equal(stored, true);
  t.equal((await got)?.bytes.byteLength, 40);
  await s.idle();
  t.ok(s.bytesHighWater <= 100, `high water ${s.bytesHighWater}`);
  t.equal(s.bytes + s.spilledBytes, 120);
  t.ok(s.bytes <= 60);
  await s.close();
});

void t.test('a result larger than the whole limit goes straight to disk', async (t) => {
  const spill = new FakeSpill();
  const s = new ObjectStore({ bytesMax: 100, targetBytes: 60, spill });
  t.equal(await s.put('big', obj(250, 9)), true);
  t.equal(s.bytes, 0);
  t.equal(s.bytesHighWater, 0);
  t.equal(s.spilledBytes, 250);
  t.same((await s.get('big'))?.bytes, new Uint8Array(250).fill(9));
  t.equal(s.info('big')?.spilled, true, 'too big to keep after a load');
  spill.failWrites = true;
  const err = await s.put('huge', obj(300)).catch((e: unknown) => e);
  t.ok(isFloeError(err) && err.code === 'LIMIT_EXCEEDED' && err.taskKey === 'huge', 'names the task');
  t.match((err as Error).message, /300 bytes.*100 bytes/);
  t.equal(s.has('huge'), false);
  await s.close();
});

void t.test('delete removes spilled files, including one deleted while being written', async (t) => {
  const spill = new FakeSpill();
  const s = new ObjectStore({ bytesMax: 100, targetBytes: 10, spill });
  await s.put('a', obj(20));
  await s.idle();
  t.equal(spill.files.size, 1);
  t.equal(s.delete('a'), true);
  await s.idle();
  t.equal(spill.files.size, 0);
  t.equal(s.spilledBytes, 0);
  let release!: () => void;
  spill.hold = new Promise((r) => (release = r));
  await s.put('b', obj(20)); // write in flight
  s.delete('b');
  t.equal(s.bytes, 0);
  release();
  await s.idle();
  t.equal(spill.files.size, 0, 'the late write removed its own file');
  t.equal(s.bytes, 0);
  t.equal(s.spilledBytes, 0);
  await s.close();
});

void t.test('I/O errors: failed writes keep the result in memory; failed reads are typed', async (t) => {
  const spill = new FakeSpill();
  const errors: string[] = [];
  const s = new ObjectStore({ bytesMax: 100, targetBytes: 30, spill, onSpillError: (_e, id) => errors.push(id) });
  spill.failWrites = true;
  await s.put('a', obj(40, 1));
  await s.idle();
  t.same(errors, ['a']);
  t.equal(s.info('a')?.spilled, false, 'still in memory, nothing lost');
  t.same((await s.get('a'))?.bytes, new Uint8Array(40).fill(1));
  await s.put('b', obj(40, 2));
  await s.idle();
  const full = await s.put('c', obj(40)).catch((e: unknown) => e);
  t.ok(isFloeError(full) && full.code === 'LIMIT_EXCEEDED', 'no room and nothing can spill');
  t.ok(isFloeError(full) && isFloeError(full.cause), 'carries the spill error as cause');
  t.equal(s.has('c'), false);

  spill.failWrites = false;
  const s2 = new ObjectStore({ bytesMax: 100, targetBytes: 10, spill });
  await s2.put('x', obj(20));
  await s2.idle();
  spill.failReads = true;
  const bad = await s2.get('x').catch((e: unknown) => e);
  t.ok(isFloeError(bad) && bad.code === 'RESULT_UNAVAILABLE' && bad.taskKey === 'x');
  spill.failReads = false;
  t.equal((await s2.get('x'))?.bytes.byteLength, 20, 'a later read can succeed');
  await s.close();
  await s2.close();
});

void t.test('SpillDirectory: one file per object, read back, remove, close removes the dir', async (t) => {
  const root = parent(t);
  const spill = new SpillDirectory({ parentDir: join(root, 'nested'), prefix: 'w/1' });
  t.equal(await spill.directory(), undefined, 'created lazily');
  const s = new ObjectStore({ bytesMax: 1000, targetBytes: 0, spill });
  await s.put('client/a', obj(100, 3));
  await s.put('client/b', obj(50, 4));
  await s.idle();
  const dir = await spill.directory();
  t.ok(dir !== undefined && dir.startsWith(join(root, 'nested', 'floe-spill-w_1-')));
  t.equal(readdirSync(dir!).length, 2);
  t.equal(s.bytes, 0);
  t.same((await s.get('client/a'))?.bytes, new Uint8Array(100).fill(3));
  s.delete('client/a');
  await s.idle();
  t.equal(readdirSync(dir!).length, 1, 'delete removes the file');
  await s.close();
  t.notOk(existsSync(dir!), 'close removes the spill directory');
  t.ok(existsSync(join(root, 'nested')), 'but not the parent it was given');
});

void t.test('SpillDirectory I/O errors become FloeErrors naming the task', async (t) => {
  const root = parent(t);
  const notDir = join(root, 'file');
  writeFileSync(notDir, '');
  const broken = new SpillDirectory({ parentDir: notDir });
  const w = await broken.write('k/1', new Uint8Array(3)).catch((e: unknown) => e);
  t.ok(isFloeError(w) && w.code === 'LIMIT_EXCEEDED' && w.taskKey === 'k/1');
  await broken.close();

  const spill = new SpillDirectory({ parentDir: root });
  const handle = await spill.write('k/2', new Uint8Array(10).fill(5));
  t.same(await spill.read('k/2', handle, 10), new Uint8Array(10).fill(5));
  const short = await spill.read('k/2', handle, 11).catch((e: unknown) => e);
  t.ok(isFloeError(short) && short.code === 'RESULT_UNAVAILABLE', 'size mismatch');
  unlinkSync(handle);
  const gone = await spill.read('k/2', handle, 10).catch((e: unknown) => e);
  t.ok(isFloeError(gone) && gone.code === 'RESULT_UNAVAILABLE' && gone.taskKey === 'k/2', 'missing file');
  await spill.close();
  const closed = await spill.write('k/3', new Uint8Array(1)).catch((e: unknown) => e);
  t.ok(isFloeError(closed) && closed.code === 'LIMIT_EXCEEDED');
});

void t.test('memory policy: thresholds, pause, option validation', (t) => {
  const p = memoryPolicy({ limitBytes: 1000 });
  t.same(p, { limitBytes: 1000, targetBytes: 600, pauseBytes: 800 });
  t.equal(shouldPause(p, 800), false);
  t.equal(shouldPause(p, 801), true);
  t.same(memoryPolicy({ limitBytes: 100, targetFraction: 0.5, pauseFraction: 0.5 }), {
    limitBytes: 100,
    targetBytes: 50,
    pauseBytes: 50,
  });
  t.throws(() => memoryPolicy({ limitBytes: 0 }), { code: 'INVALID_OPTION' });
  t.throws(() => memoryPolicy({ limitBytes: 1.5 }), { code: 'INVALID_OPTION' });
  t.throws(() => memoryPolicy({ limitBytes: 10, targetFraction: 0 }), { code: 'INVALID_OPTION' });
  t.throws(() => memoryPolicy({ limitBytes: 10, pauseFraction: 1.1 }), { code: 'INVALID_OPTION' });
  t.throws(() => memoryPolicy({ limitBytes: 10, targetFraction: 0.9, pauseFraction: 0.8 }), { code: 'INVALID_OPTION' });
  t.end();
});

void t.test('data planes serve spilled results (loaded back) and report unreadable ones', async (t) => {
  const { InprocDataPlane } = await import('../../src/dataplane/inproc.ts');
  const { GrpcDataPlane } = await import('../../src/dataplane/grpc.ts');
  const spill = new FakeSpill();
  const s = new ObjectStore({ bytesMax: 1000, targetBytes: 0, spill });
  await s.put('a', obj(300, 6));
  await s.idle();
  t.equal(s.info('a')?.spilled, true);
  const inproc = new InprocDataPlane();
  const grpc = new GrpcDataPlane({ closeTimeoutMs: 1000 });
  const client = new GrpcDataPlane({ closeTimeoutMs: 1000 });
  t.teardown(async () => {
    await Promise.all([inproc.close(), grpc.close(), client.close()]);
    await s.close();
  });
  const inprocAddress = await inproc.serve('w', s);
  const grpcAddress = await grpc.serve('w', s);
  for (const [name, dp, address] of [['inproc', inproc, inprocAddress], ['grpc', client, grpcAddress]] as const) {
    t.same((await dp.fetch(address, 'a')).bytes, new Uint8Array(300).fill(6), `${name}: loaded back from disk`);
    await t.rejects(dp.fetch(address, 'nope'), { code: 'RESULT_UNAVAILABLE' }, `${name}: unknown id`);
    spill.failReads = true;
    await t.rejects(dp.fetch(address, 'a'), { code: 'RESULT_UNAVAILABLE' }, `${name}: unreadable spill file`);
    spill.failReads = false;
  }
});
