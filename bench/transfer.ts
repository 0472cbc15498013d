/**
 * Data-plane transfer benchmark: gRPC Fetch between two processes vs a raw TCP copy.
 *
 *   node --import=tsx bench/transfer.ts [--mb 100] [--n 3] [--chunk-bytes 1048576]
 *                                       [--grpc-options '{"grpc-node.flow_control_window":65535}']
 *
 * A child process serves one object of `--mb` MiB; the parent fetches it `--n` times
 * with GrpcDataPlane. Baseline: a child writes the same bytes to a TCP socket and the
 * parent copies them into one preallocated buffer (the same one copy the data plane
 * makes). Prints MB/s for both (best and median) and the ratio of medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GrpcDataPlane } from '../src/dataplane/grpc.ts';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    n: { type: 'string', default: '3' },
    'chunk-bytes': { type: 'string', default: String(1024 * 1024) },
    'grpc-options': { type: 'string', default: '{}' },
    child: { type: 'string' },
  },
});
const sizeBytes = Number(values.mb) * 1024 * 1024;
const runs = Number(values.n);
const chunkBytes = Number(values['chunk-bytes']);
const grpcOptions = JSON.parse(values['grpc-options']) as Record<string, number | string>;

function payload(): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
  return bytes;
}

// ---- child side ------------------------------------------------------------------

async function childGrpc(): Promise<string> {
  const bytes = payload();
  const dp = new GrpcDataPlane({ chunkBytes, grpcOptions, closeTimeoutMs: 1000 });
  process.stdin.on('close', () => void dp.close().then(() => process.exit(0))).resume();
  return dp.serve('bench', { get: () => ({ serializer: { id: 'raw', module: '' }, bytes }) });
}

async function childTcp(): Promise<string> {
  const bytes = payload();
  const server = createServer((socket) => socket.end(bytes));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.stdin.on('close', () => process.exit(0)).resume();
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

// ---- parent side -----------------------------------------------------------------

async function startChild(mode: string): Promise<{ child: ChildProcess; address: string }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import=tsx', script, ...process.argv.slice(2), '--child', mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { child, address: line.trim() };
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.stdin!.end();
  await exited;
}

async function tcpFetch(address: string): Promise<number> {
  const [host, port] = address.split(':') as [string, string];
  const out = new Uint8Array(sizeBytes);
  let received = 0;
  const socket = connect(Number(port), host);
  socket.on('data', (chunk: Buffer) => {
    out.set(chunk, received);
    received += chunk.byteLength;
  });
  await once(socket, 'end');
  socket.destroy();
  return received;
}

async function measure(name: string, fetchOnce: () => Promise<number>): Promise<number[]> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = process.hrtime.bigint();
    const got = await fetchOnce();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (got !== sizeBytes) throw new Error(`${name}: got ${got} of ${sizeBytes} bytes`);
    rates.push(sizeBytes / (1024 * 1024) / seconds);
  }
  return rates;
}

function summary(rates: number[]): { best: number; median: number } {
  const sorted = [...rates].sort((a, b) => a - b);
  return { best: sorted[sorted.length - 1]!, median: sorted[Math.floor(sorted.length / 2)]! };
}

async function main(): Promise<void> {
  const tcp = await startChild('tcp');
  const tcpRates = await measure('tcp', () => tcpFetch(tcp.address));
  await stopChild(tcp.child);

  const grpc = await startChild('grpc');
  const dp = new GrpcDataPlane({ chunkBytes, grpcOptions });
  const grpcRates = await measure('grpc', async () => (await dp.fetch(grpc.address, 'x')).bytes.byteLength);
  await dp.close();
  await stopChild(grpc.child);

  const t = summary(tcpRates);
  const g = summary(grpcRates);
  const fmt = (r: number[]): string => r.map((x) => x.toFixed(0)).join(', ');
  console.log(`object ${values.mb} MiB, ${runs} runs, chunkBytes ${chunkBytes}, grpcOptions ${JSON.stringify(grpcOptions)}`);
  console.log(`raw tcp : median ${t.median.toFixed(0)} MB/s, best ${t.best.toFixed(0)} MB/s  [${fmt(tcpRates)}]`);
  console.log(`grpc    : median ${g.median.toFixed(0)} MB/s, best ${g.best.toFixed(0)} MB/s  [${fmt(grpcRates)}]`);
  console.log(`ratio   : ${((g.median / t.median) * 100).toFixed(0)}% of raw tcp (median)`);
}

if (values.child === undefined) {
  await main();
} else {
  const address = values.child === 'tcp' ? await childTcp() : await childGrpc();
  process.stdout.write(`${address}\n`);
}
