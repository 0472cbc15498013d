/**
 * Child process of the transfer benchmark: serves one object over raw TCP or the gRPC data
 * plane, prints its address on stdout, and exits when its stdin closes.
 *   node bench/transfer-child.js '{"mode":"tcp","sizeBytes":104857600}'
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { GrpcDataPlane } from '../src/dataplane/grpc.ts';
import { payload, type ServeOptions } from './transfer-io.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
const bytes = payload(options.sizeBytes);
let address: string;
if (options.mode === 'tcp') {
  const server = createServer((socket) => socket.end(bytes));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.stdin.on('close', () => process.exit(0)).resume();
  address = `127.0.0.1:${(server.address() as { port: number }).port}`;
} else {
  const dp = new GrpcDataPlane({
    closeTimeoutMs: 1000,
    ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
    ...(options.grpcOptions !== undefined ? { grpcOptions: options.grpcOptions } : {}),
  });
  process.stdin.on('close', () => void dp.close().then(() => process.exit(0))).resume();
  address = await dp.serve('bench', { get: () => ({ serializer: { id: 'raw', module: '' }, bytes }) });
}
process.stdout.write(`${address}\n`);
