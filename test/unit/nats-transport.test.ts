// The NATS transport against a real nats-server on a free loopback port: the same
// semantics as the in-process bus (pub/sub, request/reply, REQUEST_TIMEOUT), plus the
// payload limit, headers, reconnects across a server restart, options validation, and
// a clean exit with no open handles.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUser } from '@nats-io/nkeys';
import { isFloeError, type ErrorCode } from '../../src/errors.ts';
import { connectNats, type NatsOptions } from '../../src/transport/nats/nats-transport.ts';
import { isNoResponders, type TransportMessage } from '../../src/transport/transport.ts';
import type { Logger } from '../../src/util/logger.ts';
import { freePort } from '../../cluster/nats-server.ts';
import { natsServer, natsTransport } from '../helpers/nats.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function codeOf(error: unknown): ErrorCode | undefined {
  return isFloeError(error) ? error.code : undefined;
}

/** Resolves with the first `count` messages on `subject`. */
function collect(transport: { subscribe(s: string, h: (m: TransportMessage) => void): unknown }, subject: string, count: number): Promise<TransportMessage[]> {
  return new Promise((resolve) => {
    const got: TransportMessage[] = [];
    transport.subscribe(subject, (msg) => {
      got.push(msg);
      if (got.length === count) resolve(got);
    });
  });
}

function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string; obj: object }> } {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const at = (level: string) => (obj: object, msg: string): void => {
    lines.push({ level, msg, obj });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

t.test('publish/subscribe between two connections', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  const got = collect(b, 'floe.test.pub', 3);
  await b.flush(); // the SUB reached the server
  for (const text of ['one', 'two', 'three']) a.publish('floe.test.pub', enc(text));
  const msgs = await got;
  t.same(msgs.map((m) => dec(m.data)), ['one', 'two', 'three']);
  t.equal(msgs[0]!.expectsReply, false);
  t.equal(msgs[0]!.headers, undefined);
  t.equal(msgs[0]!.subject, 'floe.test.pub');
  msgs[0]!.respond(enc('ignored')); // a no-op for plain publishes
});

t.test('a connection to a server in a cluster of servers says so; one to a lone server does not', async (t) => {
  const lone = await natsTransport(t, await natsServer(t));
  t.equal(lone.clustered(), false, 'a lone server');
  const member = await natsTransport(t, await natsServer(t, { cluster: { name: 'floe-test', port: await freePort() } }));
  t.equal(member.clustered(), true, 'a server with a cluster block (its INFO names the cluster)');
});

t.test('request/reply with headers both ways', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  b.subscribe('floe.test.echo', (msg) => {
    t.equal(msg.expectsReply, true);
    msg.respond(enc(`echo:${dec(msg.data)}`), { 'Floe-Reply': msg.headers?.['traceparent'] ?? 'none', 'x-Mixed-Case': ' padded ' });
  });
  await b.flush();
  const reply = await a.request('floe.test.echo', enc('ping'), { timeoutMs: 5_000, headers: { traceparent: '00-abc-def-01' } });
  t.equal(dec(reply.data), 'echo:ping');
  // Keys keep their case; nats.js trims values.
  t.same(reply.headers, { 'Floe-Reply': '00-abc-def-01', 'x-Mixed-Case': 'padded' });
});

t.test('request timeout and no responders are REQUEST_TIMEOUT', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  const noResponders = await a.request('floe.test.nobody', enc('x'), { timeoutMs: 5_000 }).catch((e: unknown) => e);
  t.equal(codeOf(noResponders), 'REQUEST_TIMEOUT');
  t.match((noResponders as Error).message, /no responders on floe\.test\.nobody/);
  t.equal(isNoResponders(noResponders), true, 'told apart from a timeout (the coordinator\'s probes rely on it)');

  b.subscribe('floe.test.silent', () => undefined); // listens, never answers
  await b.flush();
  const timedOut = await a.request('floe.test.silent', enc('x'), { timeoutMs: 50 }).catch((e: unknown) => e);
  t.equal(codeOf(timedOut), 'REQUEST_TIMEOUT');
  t.match((timedOut as Error).message, /no reply on floe\.test\.silent within 50 ms/);
  t.equal(isNoResponders(timedOut), false);
  t.equal((timedOut as { retryable: boolean }).retryable, true);

  const bad = await a.request('floe.test.silent', enc('x'), { timeoutMs: 0 }).catch((e: unknown) => e);
  t.equal(codeOf(bad), 'INVALID_ARGUMENT');
});

t.test('concurrent requests each get their own answer, whatever the order of the answers', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  const held: TransportMessage[] = [];
  b.subscribe('floe.test.hold', (msg) => {
    held.push(msg);
    // Answers the three in reverse order once all have arrived.
    if (held.length === 3) for (const m of [...held].reverse()) m.respond(enc(`re:${dec(m.data)}`));
  });
  await b.flush();
  const replies = await Promise.all(['one', 'two', 'three'].map((s) => a.request('floe.test.hold', enc(s), { timeoutMs: 5_000 })));
  t.same(replies.map((r) => dec(r.data)), ['re:one', 're:two', 're:three']);
});

t.test('an answer after its request timed out is dropped, and later requests get their own answers', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  const late: TransportMessage[] = [];
  b.subscribe('floe.test.late', (msg) => {
    if (dec(msg.data) === 'first') late.push(msg); // answered only after the next request came
    else {
      for (const m of late) m.respond(enc('answer to first'));
      msg.respond(enc('answer to second'));
    }
  });
  await b.flush();
  const first = await a.request('floe.test.late', enc('first'), { timeoutMs: 50 }).catch((e: unknown) => e);
  t.equal(codeOf(first), 'REQUEST_TIMEOUT');
  const second = await a.request('floe.test.late', enc('second'), { timeoutMs: 5_000 });
  t.equal(dec(second.data), 'answer to second');
});

t.test('a request still waiting when its transport closes fails then, not at its timeout', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  let arrived!: () => void;
  const got = new Promise<void>((resolve) => (arrived = resolve));
  b.subscribe('floe.test.never', () => arrived()); // listens, never answers
  await b.flush();
  // The timeout is far beyond the test's own: only close() can end this request in time.
  const pending = a.request('floe.test.never', enc('x'), { timeoutMs: 3_600_000 }).catch((e: unknown) => e);
  await got;
  await a.close();
  const error = await pending;
  t.equal(codeOf(error), 'REQUEST_TIMEOUT');
  t.match((error as Error).message, /request on floe\.test\.never failed: the connection closed/);
});

t.test('over max_payload: LIMIT_EXCEEDED, and the connection keeps working', async (t) => {
  const limit = 64 * 1024;
  const server = await natsServer(t, { maxPayloadBytes: limit });
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server);
  t.equal(a.maxPayloadBytes, limit);

  const tooBig = new Uint8Array(limit + 1);
  const thrown = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const published = thrown(() => a.publish('floe.test.big', tooBig));
  t.equal(codeOf(published), 'LIMIT_EXCEEDED');
  t.match((published as Error).message, /floe\.test\.big.*65537 bytes.*max_payload of 65536 bytes/);
  // Headers count towards the limit.
  t.equal(codeOf(thrown(() => a.publish('floe.test.big', new Uint8Array(limit - 10), { 'Floe-Trace': 'x'.repeat(20) }))), 'LIMIT_EXCEEDED');
  t.equal(codeOf(await a.request('floe.test.big', tooBig, { timeoutMs: 1_000 }).catch((e: unknown) => e)), 'LIMIT_EXCEEDED');

  // A reply over the limit throws in the responder; the requester just times out.
  let respondError: unknown;
  b.subscribe('floe.test.bigreply', (msg) => {
    respondError = thrown(() => msg.respond(tooBig));
  });
  await b.flush();
  t.equal(codeOf(await a.request('floe.test.bigreply', enc('x'), { timeoutMs: 100 }).catch((e: unknown) => e)), 'REQUEST_TIMEOUT');
  t.equal(codeOf(respondError), 'LIMIT_EXCEEDED');

  // Exactly at the limit still goes through, on the same connection.
  const got = collect(b, 'floe.test.ok', 1);
  await b.flush();
  a.publish('floe.test.ok', new Uint8Array(limit));
  await a.flush();
  t.equal((await got)[0]!.data.byteLength, limit);
});

t.test('a handler that throws does not stop delivery', async (t) => {
  const server = await natsServer(t);
  const logger = recordingLogger();
  const a = await natsTransport(t, server);
  const b = await natsTransport(t, server, { logger });
  const seen: string[] = [];
  const done = new Promise<void>((resolve) => {
    b.subscribe('floe.test.throws', (msg) => {
      seen.push(dec(msg.data));
      if (seen.length === 3) resolve();
      if (seen.length === 1) throw new Error('handler bug');
    });
  });
  await b.flush();
  for (const text of ['1', '2', '3']) a.publish('floe.test.throws', enc(text));
  await done;
  t.same(seen, ['1', '2', '3']);
  t.ok(logger.lines.some((l) => l.level === 'error' && l.msg === 'transport handler threw'));
});

t.test('unsubscribe stops delivery; bad subjects and headers are INVALID_ARGUMENT', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  const seen: string[] = [];
  const sub = a.subscribe('floe.test.unsub', (msg) => seen.push(dec(msg.data)));
  const marker = collect(a, 'floe.test.marker', 1);
  await a.flush();
  a.publish('floe.test.unsub', enc('before'));
  await a.flush();
  sub.unsubscribe();
  sub.unsubscribe(); // idempotent
  a.publish('floe.test.unsub', enc('after'));
  a.publish('floe.test.marker', enc('m')); // same connection: ordered after 'after'
  await marker;
  t.same(seen, ['before']);

  t.throws(() => a.publish('bad subject', enc('x')), { code: 'INVALID_ARGUMENT' });
  t.throws(() => a.publish('floe.test.h', enc('x'), { 'Floe-Trace': 'a\r\nb' }), { code: 'INVALID_ARGUMENT' });
});

t.test('server restart: both sides reconnect and messages flow again', async (t) => {
  const server = await natsServer(t);
  const subscriberLog = recordingLogger();
  const subscriber = await natsTransport(t, server, { logger: subscriberLog });
  const publisher = await natsTransport(t, server);
  const received: string[] = [];
  let waiter: (() => void) | undefined;
  subscriber.subscribe('floe.test.restart', (msg) => {
    received.push(dec(msg.data));
    waiter?.();
  });
  const receivedCount = (n: number): Promise<void> =>
    new Promise((resolve) => {
      waiter = () => {
        if (received.length >= n) resolve();
      };
      waiter();
    });
  await subscriber.flush();
  publisher.publish('floe.test.restart', enc('before'));
  await receivedCount(1);

  const reconnected = (tr: { onReconnect(l: () => void): void }): Promise<void> => new Promise((resolve) => tr.onReconnect(resolve));
  const bothBack = Promise.all([reconnected(subscriber), reconnected(publisher)]);
  const oldPid = server.pid;
  const port = server.port;
  await server.restart();
  t.equal(server.port, port, 'same port');
  t.not(server.pid, oldPid, 'a new process');
  await bothBack;

  // The subscription was re-registered before onReconnect ran: no extra flush needed.
  publisher.publish('floe.test.restart', enc('after'));
  await receivedCount(2);
  t.same(received, ['before', 'after']);
  t.ok(subscriberLog.lines.some((l) => l.msg === 'nats disconnected; reconnecting'));
  t.ok(subscriberLog.lines.some((l) => l.msg === 'nats reconnected'));

  // Request/reply works again as well.
  subscriber.subscribe('floe.test.restart.rr', (msg) => msg.respond(enc('pong')));
  await subscriber.flush();
  t.equal(dec((await publisher.request('floe.test.restart.rr', enc('ping'), { timeoutMs: 5_000 })).data), 'pong');
});

t.test('while the server is down, flush rejects (REQUEST_TIMEOUT); after it is back, flush resolves', async (t) => {
  const server = await natsServer(t);
  const a = await natsTransport(t, server);
  await a.flush();
  await server.stop();
  const error = await a.flush().catch((e: unknown) => e);
  t.equal(codeOf(error), 'REQUEST_TIMEOUT', String(error));
  const back = new Promise<void>((resolve) => a.onReconnect(resolve));
  await server.restart(); // after stop: starts again on the same port
  await back;
  await a.flush();
  t.pass('flushed after reconnect');
});

t.test('close drains, is idempotent, and later calls are CLIENT_CLOSED', async (t) => {
  const server = await natsServer(t);
  const a = await connectNats({ servers: server.url });
  const b = await natsTransport(t, server);
  const got = collect(b, 'floe.test.close', 1);
  await b.flush();
  a.publish('floe.test.close', enc('last words'));
  await Promise.all([a.close(), a.close()]); // drain flushes the publish first
  await a.close();
  t.equal(dec((await got)[0]!.data), 'last words');
  t.throws(() => a.publish('floe.test.close', enc('x')), { code: 'CLIENT_CLOSED' });
  t.throws(() => a.subscribe('floe.test.close', () => undefined), { code: 'CLIENT_CLOSED' });
  await t.rejects(a.request('floe.test.close', enc('x'), { timeoutMs: 100 }), { code: 'CLIENT_CLOSED' });
});

t.test('close after the server is gone still resolves', async (t) => {
  const server = await natsServer(t);
  const a = await connectNats({ servers: server.url, reconnectTimeWaitMs: 50 });
  await server.stop();
  await a.close();
  t.pass('closed');
});

t.test('a process that connects, talks and closes exits by itself (no open handles)', async (t) => {
  const server = await natsServer(t);
  const transportUrl = new URL('../../src/transport/nats/nats-transport.ts', import.meta.url).href;
  const script = `
    const { connectNats } = await import(${JSON.stringify(transportUrl)});
    const a = await connectNats({ servers: ${JSON.stringify(server.url)} });
    const b = await connectNats({ servers: ${JSON.stringify(server.url)} });
    b.subscribe('floe.test.exit', (m) => m.respond(m.data));
    await b.flush();
    const reply = await a.request('floe.test.exit', new Uint8Array([7]), { timeoutMs: 5000 });
    a.onReconnect(() => undefined);
    await a.close(); await b.close(); await a.close();
    console.log('done', reply.data[0]);
  `;
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  // The bound is a failure detector for a hang, not a timing assertion.
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : (child.exitCode ?? -1), stdout, stderr });
    });
  });
  t.equal(code, 0, stderr);
  t.match(stdout, /done 7/);
});

t.test('invalid options are INVALID_OPTION naming the option', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'floe-nats-opts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notCreds = join(dir, 'user.creds');
  writeFileSync(notCreds, 'hello');
  const notSeed = join(dir, 'seed.nk');
  writeFileSync(notSeed, 'not a seed');
  const cases: Array<[string, unknown]> = [
    ['options.servers', {}],
    ['options.servers', { servers: [] }],
    ['options.servers', { servers: '' }],
    ['options.servers[1]', { servers: ['nats://127.0.0.1:4222', 42] }],
    ['options.servers', { servers: 'http://127.0.0.1:4222' }],
    ['options.reconnectTimeWaitMs', { servers: 'nats://127.0.0.1:1', reconnectTimeWaitMs: -1 }],
    ['options.connectTimeoutMs', { servers: 'nats://127.0.0.1:1', connectTimeoutMs: 0 }],
    ['options.name', { servers: 'nats://127.0.0.1:1', name: 3 }],
    ['options.pass', { servers: 'nats://127.0.0.1:1', pass: 'secret' }],
    ['options.token', { servers: 'nats://127.0.0.1:1', user: 'u', token: 't' }],
    ['options.nkeySeedFile', { servers: 'nats://127.0.0.1:1', nkeySeedFile: join(dir, 'missing.nk') }],
    ['options.nkeySeedFile', { servers: 'nats://127.0.0.1:1', nkeySeedFile: notSeed }],
    ['options.credsFile', { servers: 'nats://127.0.0.1:1', credsFile: notCreds }],
    ['options.tls.caFile', { servers: 'nats://127.0.0.1:1', tls: { caFile: join(dir, 'missing.pem') } }],
    ['options.tls.keyFile', { servers: 'nats://127.0.0.1:1', tls: { certFile: notCreds } }],
    ['options.logger', { servers: 'nats://127.0.0.1:1', logger: { info: () => undefined } }],
  ];
  for (const [option, options] of cases) {
    const error = await connectNats(options as NatsOptions).catch((e: unknown) => e);
    t.equal(codeOf(error), 'INVALID_OPTION', `${option}: ${String(error)}`);
    t.ok((error as Error).message.includes(option), `message names ${option}: ${(error as Error).message}`);
  }
});

t.test('an nkey seed file is read and used; an unreachable server is REQUEST_TIMEOUT naming it', async (t) => {
  const server = await natsServer(t);
  const dir = mkdtempSync(join(tmpdir(), 'floe-nats-nkey-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const seedFile = join(dir, 'user.nk');
  writeFileSync(seedFile, `${new TextDecoder().decode(createUser().getSeed())}\n`);
  // This server requires no auth, so the nkey is accepted (and ignored).
  const a = await natsTransport(t, server, { nkeySeedFile: seedFile });
  await a.flush();

  const url = server.url;
  await server.stop();
  const error = await connectNats({ servers: url }).catch((e: unknown) => e);
  t.equal(codeOf(error), 'REQUEST_TIMEOUT');
  t.ok((error as Error).message.includes(`cannot connect to NATS at ${url}`), (error as Error).message);
  t.equal((error as { retryable: boolean }).retryable, true);
});
