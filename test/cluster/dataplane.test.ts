/**
 * GrpcDataPlane against real gRPC between real processes on 127.0.0.1. The serving side
 * is test/fixtures/dataplane-server.ts in a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { isFloeError, type ErrorCode } from '../../src/errors.ts';
import type { FetchedObject } from '../../src/dataplane/dataplane.ts';
import { GrpcDataPlane } from '../../src/dataplane/grpc.ts';
import { FETCH_PATH, serializeRequest } from '../../src/dataplane/grpc-wire.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/dataplane-server.ts', import.meta.url));
const MB = 1024 * 1024;

interface Served {
  address: string;
  sha256: Record<string, string>;
  child: ChildProcess;
}

async function startServer(
  t: Test,
  config: { objects: Record<string, number>; chunkBytes?: number; streamsMax?: number },
): Promise<Served> {
  const child = spawn(process.execPath, ['--import=tsx', FIXTURE, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.teardown(() => stopChild(child));
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`fixture exited early with ${String(code)}`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
  const { address, sha256 } = JSON.parse(line) as { address: string; sha256: Record<string, string> };
  return { address, sha256, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  child.kill('SIGTERM');
  await exited;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function rejectsWith(t: Test, promise: Promise<unknown>, code: ErrorCode): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    t.ok(isFloeError(error), 'is a FloeError');
    t.equal((error as { code?: string }).code, code, `code ${code}`);
    return error;
  }
  t.fail(`expected rejection with ${code}`);
  return undefined;
}

function dataPlane(t: Test, options: ConstructorParameters<typeof GrpcDataPlane>[0] = {}): GrpcDataPlane {
  const dp = new GrpcDataPlane(options);
  t.teardown(() => dp.close());
  return dp;
}

/** A port nothing listens on (bound then released by this process). */
async function deadPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A raw Fetch call with bytes in and bytes out, for requests GrpcDataPlane would never send. */
function rawFetch(address: string, request: Buffer): Promise<{ code: number; details: string }> {
  const client = new Client(address, credentials.createInsecure());
  const call = client.makeServerStreamRequest(
    FETCH_PATH,
    (b: Buffer) => b,
    (b: Buffer) => b,
    request,
    new Metadata(),
    {},
  );
  call.on('data', () => undefined);
  return new Promise((resolve) => {
    call.on('error', () => undefined);
    call.on('status', (s: { code: number; details: string }) => {
      client.close();
      resolve({ code: s.code, details: s.details });
    });
  });
}

void t.test('options are validated eagerly, naming the option', async (t) => {
  for (const [options, name] of [
    [{ chunkBytes: 0 }, 'chunkBytes'],
    [{ chunkBytes: 1.5 }, 'chunkBytes'],
    [{ port: -1 }, 'port'],
    [{ port: 70000 }, 'port'],
    [{ host: '' }, 'host'],
    [{ advertiseHost: 'a b' }, 'advertiseHost'],
    [{ streamsMax: 0 }, 'streamsMax'],
    [{ closeTimeoutMs: -5 }, 'closeTimeoutMs'],
  ] as const) {
    t.throws(() => new GrpcDataPlane(options), { code: 'INVALID_OPTION', message: new RegExp(`options\\.${name}`) });
  }
});

void t.test('fetches across processes', async (t) => {
  const server = await startServer(t, {
    objects: { small: 1000, empty: 0, big: 100 * MB, medium: MB + 17 },
  });
  const dp = dataPlane(t);

  await t.test('small object', async (t) => {
    const got = await dp.fetch(server.address, 'small');
    t.same(got.serializer, { id: 'raw', module: '' });
    t.equal(got.bytes.byteLength, 1000);
    t.equal(sha256(got.bytes), server.sha256.small);
  });

  await t.test('empty object', async (t) => {
    const got = await dp.fetch(server.address, 'empty');
    t.equal(got.bytes.byteLength, 0);
    t.same(got.serializer, { id: 'raw', module: '' });
  });

  await t.test('100 MB object arrives intact', async (t) => {
    const got = await dp.fetch(server.address, 'big');
    t.equal(got.bytes.byteLength, 100 * MB);
    t.equal(sha256(got.bytes), server.sha256.big);
  });

  await t.test('sharedMemory: the bytes land in a SharedArrayBuffer, intact', async (t) => {
    const shared = await dp.fetch(server.address, 'medium', { sharedMemory: true });
    t.ok(shared.bytes.buffer instanceof SharedArrayBuffer, 'shared');
    t.equal(shared.bytes.byteLength, MB + 17);
    t.equal(sha256(shared.bytes), server.sha256.medium);
    const plain = await dp.fetch(server.address, 'medium');
    t.ok(plain.bytes.buffer instanceof ArrayBuffer, 'ordinary memory unless asked');
    t.equal(sha256(plain.bytes), server.sha256.medium);
  });

  await t.test('many parallel fetches', async (t) => {
    const all = await Promise.all(
      Array.from({ length: 48 }, (_, i) => dp.fetch(server.address, i % 2 === 0 ? 'medium' : 'small')),
    );
    all.forEach((got: FetchedObject, i) => {
      t.equal(sha256(got.bytes), i % 2 === 0 ? server.sha256.medium : server.sha256.small);
    });
  });

  await t.test('unknown id → RESULT_UNAVAILABLE', async (t) => {
    await rejectsWith(t, dp.fetch(server.address, 'nope'), 'RESULT_UNAVAILABLE');
  });

  await t.test('abort via signal → CANCELLED, and the server keeps serving', async (t) => {
    const before = new AbortController();
    before.abort();
    await rejectsWith(t, dp.fetch(server.address, 'big', { signal: before.signal }), 'CANCELLED');
    const during = new AbortController();
    const pending = dp.fetch(server.address, 'big', { signal: during.signal });
    during.abort();
    await rejectsWith(t, pending, 'CANCELLED');
    t.equal(sha256((await dp.fetch(server.address, 'medium')).bytes), server.sha256.medium);
  });

  await t.test('malformed requests → INVALID_ARGUMENT, and the server keeps serving', async (t) => {
    const garbage = await rawFetch(server.address, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    t.equal(garbage.code, Status.INVALID_ARGUMENT);
    t.match(garbage.details, /malformed FetchRequest/);
    const v2 = await rawFetch(server.address, serializeRequest({ version: 2, id: 'small' }));
    t.equal(v2.code, Status.INVALID_ARGUMENT);
    t.match(v2.details, /version 2/);
    const noId = await rawFetch(server.address, serializeRequest({ version: 1, id: '' }));
    t.equal(noId.code, Status.INVALID_ARGUMENT);
    t.match(noId.details, /id is missing/);
    t.equal(sha256((await dp.fetch(server.address, 'small')).bytes), server.sha256.small);
  });
});

void t.test('objects at and around chunk boundaries arrive byte-exact', async (t) => {
  const chunkBytes = 4096;
  const sizes = [1, chunkBytes - 1, chunkBytes, chunkBytes + 1, 3 * chunkBytes, 3 * chunkBytes + 1, 40 * chunkBytes + 123];
  const server = await startServer(t, { objects: Object.fromEntries(sizes.map((n) => [`o${n}`, n])), chunkBytes });
  // The fetching side's chunkBytes only bounds what it accepts; use the default.
  const dp = dataPlane(t);
  for (const n of sizes) {
    for (const sharedMemory of [false, true]) {
      const got = await dp.fetch(server.address, `o${n}`, { sharedMemory });
      t.equal(got.bytes.byteLength, n, `${n} bytes${sharedMemory ? ', shared' : ''}: length`);
      t.equal(sha256(got.bytes), server.sha256[`o${n}`], `${n} bytes${sharedMemory ? ', shared' : ''}: content`);
    }
  }
});

void t.test('dead address → WORKER_LOST naming the address', async (t) => {
  const dp = dataPlane(t);
  const address = `127.0.0.1:${await deadPort()}`;
  const error = await rejectsWith(t, dp.fetch(address, 'x'), 'WORKER_LOST');
  t.equal((error as { retryable?: boolean }).retryable, true);
  t.match((error as Error).message, address);
});

void t.test('a holder that stays silent (host cut off) → WORKER_LOST after stallTimeoutMs', async (t) => {
  // Accepts TCP connections and never answers, like a host whose link went down.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  const dp = dataPlane(t, { stallTimeoutMs: 200 });
  const error = await rejectsWith(t, dp.fetch(`127.0.0.1:${port}`, 'x'), 'WORKER_LOST');
  t.equal((error as { retryable?: boolean }).retryable, true);
});

void t.test('a worker that exits → WORKER_LOST on the next fetch', async (t) => {
  const server = await startServer(t, { objects: { a: 10 } });
  const dp = dataPlane(t);
  t.equal((await dp.fetch(server.address, 'a')).bytes.byteLength, 10);
  await stopChild(server.child);
  await rejectsWith(t, dp.fetch(server.address, 'a'), 'WORKER_LOST');
});

void t.test('over streamsMax → RESOURCE_EXHAUSTED → WORKER_LOST (retryable)', async (t) => {
  const server = await startServer(t, { objects: { big: 100 * MB, a: 10 }, streamsMax: 1 });
  // Hold the one stream open: a raw call that never reads stalls the server on
  // HTTP/2 flow control (100 MB is far beyond the default 64 KiB window).
  const holder = new Client(server.address, credentials.createInsecure());
  t.teardown(() => holder.close());
  const held = holder.makeServerStreamRequest(
    FETCH_PATH,
    (b: Buffer) => b,
    (b: Buffer) => b,
    serializeRequest({ version: 1, id: 'big' }),
    new Metadata(),
    {},
  );
  const heldError = once(held, 'error') as Promise<[ServiceError]>;
  held.pause();
  await once(held, 'metadata'); // the server handler is running and has written
  const dp = dataPlane(t);
  const error = await rejectsWith(t, dp.fetch(server.address, 'a'), 'WORKER_LOST');
  t.equal((error as { retryable?: boolean }).retryable, true);
  t.match((error as Error).message, /streamsMax/);
  held.cancel();
  const [cancelled] = await heldError;
  t.equal(cancelled.code, Status.CANCELLED);
});

void t.test('two data planes in one process fetch from each other', async (t) => {
  const a = dataPlane(t);
  const b = dataPlane(t, { chunkBytes: 4096 });
  const ser = { id: 'json', module: '' };
  const bytesA = new TextEncoder().encode('from a'.repeat(3000));
  const bytesB = new TextEncoder().encode('from b');
  const addrA = await a.serve('a', { get: (id) => (id === 'x' ? { serializer: ser, bytes: bytesA } : undefined) });
  const addrB = await b.serve('b', { get: (id) => (id === 'y' ? { serializer: ser, bytes: bytesB } : undefined) });
  t.not(addrA, addrB);
  t.same((await b.fetch(addrA, 'x')).bytes, bytesA);
  t.same((await a.fetch(addrB, 'y')).bytes, bytesB);
  t.same((await a.fetch(addrA, 'x')).serializer, ser);
  await rejectsWith(t, a.fetch(addrB, 'x'), 'RESULT_UNAVAILABLE');
  await rejectsWith(t, a.serve('again', { get: () => undefined }), 'INVALID_ARGUMENT');
});

void t.test('close() is idempotent; fetch and serve after close fail clearly', async (t) => {
  const a = new GrpcDataPlane();
  const addr = await a.serve('a', { get: () => ({ serializer: { id: 'raw', module: '' }, bytes: new Uint8Array(3) }) });
  const b = dataPlane(t);
  t.equal((await b.fetch(addr, 'k')).bytes.byteLength, 3);
  await Promise.all([a.close(), a.close()]);
  await a.close();
  await rejectsWith(t, a.fetch(addr, 'k'), 'CLIENT_CLOSED');
  await rejectsWith(t, a.serve('a', { get: () => undefined }), 'CLIENT_CLOSED');
  await rejectsWith(t, b.fetch(addr, 'k'), 'WORKER_LOST');
  await b.close();
  await rejectsWith(t, b.fetch(addr, 'k'), 'CLIENT_CLOSED');
});

void t.test('bad address → INVALID_ARGUMENT', async (t) => {
  const dp = dataPlane(t);
  await rejectsWith(t, dp.fetch('no-port', 'x'), 'INVALID_ARGUMENT');
});
