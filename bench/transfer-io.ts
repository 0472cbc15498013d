/**
 * Pieces of the transfer benchmark shared by the harness scenario and the standalone
 * data-plane script (bench/transfer.ts): a child process that serves one object over raw
 * TCP or over the gRPC data plane, and a raw TCP fetch into one preallocated buffer (the
 * same one copy the data plane makes).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { startSibling } from './child.ts';

/** Deterministic payload: every 4096th byte set, the rest zero (cheap to make). */
export function payload(sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
  return bytes;
}

export interface ServeOptions {
  mode: 'tcp' | 'grpc';
  sizeBytes: number;
  chunkBytes?: number;
  grpcOptions?: Record<string, number | string>;
}

/** Starts bench/transfer-child, which prints its address and serves until stdin closes. */
export async function startServer(options: ServeOptions): Promise<{ child: ChildProcess; address: string; stop(): Promise<void> }> {
  const { child, line, stop } = await startSibling('transfer-child', options);
  return { child, address: line, stop };
}

/** Reads everything the TCP server sends into one buffer; returns the byte count. */
export async function tcpFetch(address: string, sizeBytes: number): Promise<number> {
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

/** MB/s (MiB) of one fetch. */
export async function rate(sizeBytes: number, fetchOnce: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const got = await fetchOnce();
  const seconds = (performance.now() - start) / 1000;
  if (got !== sizeBytes) throw new Error(`transfer: got ${got} of ${sizeBytes} bytes`);
  return sizeBytes / 2 ** 20 / seconds;
}
