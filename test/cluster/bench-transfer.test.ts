// The transfer scenario's baselines: one object copied between two child processes (both
// ends fresh processes) over raw TCP and over the gRPC data plane; the gRPC ends run with a
// floe worker's V8 flags; everything started is gone when the copy returns.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { children } from '../helpers/children.ts';
import { clusterNodeFlags } from '../../cluster/node-flags.ts';
import { startSibling } from '../../bench/child.ts';
import { childToChild, payload, startServer } from '../../bench/transfer-io.ts';

const SIZE = 2 * 2 ** 20;

for (const mode of ['tcp', 'grpc'] as const) {
  t.test(`${mode}: as many timed copies as asked, each a rate, nothing left running`, async (t) => {
    const before = children();
    const rates = await childToChild({ mode, sizeBytes: SIZE, fetches: 3 });
    t.equal(rates.length, 3, 'the timed copies only (the warm-up is left out)');
    t.ok(rates.every((r) => Number.isFinite(r) && r > 0), `each a positive MB/s: ${rates.map((r) => r.toFixed(0)).join(', ')}`);
    t.same(children(), before, 'both ends are stopped');
  });
}

t.test('the fetching end makes its warm-up copies before the timed ones, and times only these', async (t) => {
  // A server of the test's own counts the copies asked of it.
  const bytes = payload(SIZE);
  let copies = 0;
  const server = createServer((socket) => {
    copies += 1;
    socket.end(bytes);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const from = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const [warmups, fetches] of [[2, 3], [0, 1]] as const) {
      copies = 0;
      const fetcher = await startSibling('transfer-child', { mode: 'tcp', sizeBytes: SIZE, from, warmups, fetches });
      await fetcher.stop();
      t.equal((JSON.parse(fetcher.line) as number[]).length, fetches, `${fetches} rates`);
      t.equal(copies, warmups + fetches, `${warmups} warm-up copies and ${fetches} timed ones served`);
    }
  } finally {
    server.close();
  }
});

t.test('the gRPC ends run with a worker\'s V8 flags, the raw TCP ends with none', async (t) => {
  const grpc = await startServer({ mode: 'grpc', sizeBytes: 1024 });
  const tcp = await startServer({ mode: 'tcp', sizeBytes: 1024 });
  try {
    const args = (pid: number | undefined): string[] => execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
    for (const flag of clusterNodeFlags('worker', [], '')) t.ok(args(grpc.child.pid).includes(flag), `gRPC end has ${flag}`);
    t.notOk(args(tcp.child.pid).some((a) => a.startsWith('--single-threaded-gc') || a.startsWith('--max-semi-space-size')), 'raw TCP end has neither');
  } finally {
    await grpc.stop();
    await tcp.stop();
  }
});

t.test('a copy that comes out the wrong size fails instead of giving a rate', async (t) => {
  const before = children();
  const server = await startServer({ mode: 'tcp', sizeBytes: SIZE });
  try {
    // The fetching end is told to expect one byte more than is served: its rate() throws.
    await t.rejects(startSibling('transfer-child', { mode: 'tcp', sizeBytes: SIZE + 1, from: server.address, fetches: 1 }), /exited before it was ready/);
  } finally {
    await server.stop();
  }
  t.same(children(), before, 'nothing left running');
});
