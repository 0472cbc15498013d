/**
 * Child process of the transfer benchmark, one of the two ends of a copy:
 * - serving (no `from`): serves one object over raw TCP or the gRPC data plane, prints its
 *   address on stdout, and exits when its stdin closes;
 * - fetching (`from`, the server's address): fetches the object `warmups` times to warm up
 *   (default TRANSFER_WARMUP_COPIES), then `fetches` times, prints the rates (MB/s) of those
 *   as a JSON array, and exits when its stdin closes.
 *   node bench/transfer-child.js '{"mode":"tcp","sizeBytes":104857600}'
 *   node bench/transfer-child.js '{"mode":"tcp","sizeBytes":104857600,"from":"127.0.0.1:4000","fetches":2}'
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { GrpcDataPlane, type GrpcDataPlaneOptions } from '../src/dataplane/grpc.ts';
import { payload, rate, tcpFetch, TRANSFER_WARMUP_COPIES, type TransferChildOptions } from './transfer-io.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as TransferChildOptions;
const dpOptions: GrpcDataPlaneOptions = {
  closeTimeoutMs: 1000,
  ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
  ...(options.grpcOptions !== undefined ? { grpcOptions: options.grpcOptions } : {}),
};

if (options.from !== undefined) {
  const { from, sizeBytes } = options;
  const dp = options.mode === 'grpc' ? new GrpcDataPlane(dpOptions) : undefined;
  const fetchOnce = dp === undefined
    ? (): Promise<number> => tcpFetch(from, sizeBytes)
    : async (): Promise<number> => (await dp.fetch(from, 'x')).bytes.byteLength;
  for (let i = 0; i < (options.warmups ?? TRANSFER_WARMUP_COPIES); i++) await rate(sizeBytes, fetchOnce);
  const rates: number[] = [];
  for (let i = 0; i < (options.fetches ?? 1); i++) rates.push(await rate(sizeBytes, fetchOnce));
  await dp?.close();
  process.stdin.on('close', () => process.exit(0)).resume();
  process.stdout.write(`${JSON.stringify(rates)}\n`);
} else {
  const bytes = payload(options.sizeBytes);
  let address: string;
  if (options.mode === 'tcp') {
    const server = createServer((socket) => socket.end(bytes));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    process.stdin.on('close', () => process.exit(0)).resume();
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  } else {
    const dp = new GrpcDataPlane(dpOptions);
    process.stdin.on('close', () => void dp.close().then(() => process.exit(0))).resume();
    address = await dp.serve('bench', { get: () => ({ serializer: { id: 'raw', module: '' }, bytes }) });
  }
  process.stdout.write(`${address}\n`);
}
