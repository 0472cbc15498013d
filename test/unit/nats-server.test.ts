// The nats-server launcher: free ports, config (max_payload, JetStream), readiness,
// stop/restart, and no processes left behind.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFloeError } from '../../src/errors.ts';
import { serverEnv, startNatsServer } from '../../cluster/nats-server.ts';
import { natsServer, natsTransport } from '../helpers/nats.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('two servers get two free ports; stop ends the process and is idempotent', async (t) => {
  const a = await natsServer(t);
  const b = await natsServer(t);
  t.not(a.port, b.port);
  t.equal(a.url, `nats://127.0.0.1:${a.port}`);
  t.ok(isAlive(a.pid));
  const pid = a.pid;
  await Promise.all([a.stop(), a.stop()]);
  await a.stop();
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  t.ok(isAlive(b.pid), 'the other server is untouched');
});

t.test('restart keeps the port with a new process', async (t) => {
  const server = await natsServer(t);
  const { port, pid } = server;
  await server.restart();
  t.equal(server.port, port);
  t.not(server.pid, pid);
  t.notOk(isAlive(pid), 'the old process is gone');
  const client = await natsTransport(t, server);
  await client.flush();
  await server.stop();
  t.notOk(isAlive(server.pid));
});

t.test('max_payload comes from the config file', async (t) => {
  const server = await natsServer(t, { maxPayloadBytes: 12_345 });
  const client = await natsTransport(t, server);
  t.equal(client.maxPayloadBytes, 12_345);
  const byDefault = await natsServer(t);
  t.equal((await natsTransport(t, byDefault)).maxPayloadBytes, 8 * 1024 * 1024);
});

t.test('JetStream with a store dir', async (t) => {
  const storeDir = mkdtempSync(join(tmpdir(), 'floe-js-'));
  t.teardown(() => rmSync(storeDir, { recursive: true, force: true }));
  const server = await natsServer(t, { jetstream: true, storeDir });
  await (await natsTransport(t, server)).flush();
  t.ok(existsSync(join(storeDir, 'jetstream')), 'the server created its store');
});

t.test('a port that is taken fails with the server output', async (t) => {
  const first = await natsServer(t);
  const error = await startNatsServer({ port: first.port }).catch((e: unknown) => e);
  t.ok(isFloeError(error), String(error));
  t.match((error as Error).message, /exited during startup.*address already in use/s);
});

t.test('bad options are INVALID_OPTION naming the option', async (t) => {
  const cases: Array<[string, object]> = [
    ['options.port', { port: 0 }],
    ['options.port', { port: 70_000 }],
    ['options.maxPayloadBytes', { maxPayloadBytes: 65 * 1024 * 1024 }],
    ['options.maxPayloadBytes', { maxPayloadBytes: 1.5 }],
    ['options.host', { host: '' }],
    ['options.binary', { binary: '/nonexistent/nats-server' }],
    ['options.goMaxProcs', { goMaxProcs: 0 }],
    ['options.goMaxProcs', { goMaxProcs: 1.5 }],
    ['options.cluster', { cluster: { name: 'a b', port: 6222 } }],
    ['options.cluster', { cluster: { name: 'c', port: 0 } }],
  ];
  for (const [option, options] of cases) {
    const error = await startNatsServer(options).catch((e: unknown) => e);
    t.ok(isFloeError(error) && error.code === 'INVALID_OPTION', `${option}: ${String(error)}`);
    t.ok((error as Error).message.includes(option), (error as Error).message);
  }
});

t.test('GOMAXPROCS of the server: the option, else the environment, else 1', async (t) => {
  t.equal(serverEnv(undefined, { PATH: '/bin' })['GOMAXPROCS'], '1');
  t.equal(serverEnv(undefined, { PATH: '/bin' })['PATH'], '/bin', 'the rest of the environment is passed on');
  t.equal(serverEnv(undefined, { GOMAXPROCS: '4' })['GOMAXPROCS'], '4');
  t.equal(serverEnv(undefined, { GOMAXPROCS: '' })['GOMAXPROCS'], '1');
  t.equal(serverEnv(2, { GOMAXPROCS: '4' })['GOMAXPROCS'], '2');
  // The running server's own environment (Linux: /proc/<pid>/environ).
  const environOf = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const byDefault = await startNatsServer();
  t.teardown(() => byDefault.stop());
  const given = process.env['GOMAXPROCS'];
  t.ok(environOf(byDefault.pid).includes(`GOMAXPROCS=${given !== undefined && given !== '' ? given : '1'}`));
  const three = await startNatsServer({ goMaxProcs: 3 });
  t.teardown(() => three.stop());
  t.ok(environOf(three.pid).includes('GOMAXPROCS=3'));
});
