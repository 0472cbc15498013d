/**
 * Pieces of the transfer benchmark shared by the harness scenario and the standalone
 * data-plane script (bench/transfer.ts): a copy of one object between two child processes
 * (bench/transfer-child), over raw TCP or over the gRPC data plane, and a raw TCP fetch into
 * one preallocated buffer (the same one copy the data plane makes).
 *
 * Both ends are fresh processes, never the bench process, whose heap holds whatever the
 * scenarios before left in it. The gRPC ends run with the V8 flags floe gives its workers
 * (cluster/node-flags.ts), so that the data plane alone is measured as floe runs it; the
 * raw TCP ends with node's defaults, under which a raw TCP copy was the faster one
 * (1,138-1,231 MB/s, against 794-1,083 with `--single-threaded-gc`, alternated): the
 * baseline floe is held to is the higher one.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { clusterNodeFlags } from '../cluster/node-flags.ts';
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

/**
 * Copies of the object made before the timed ones, on every path the transfer scenario
 * measures (raw TCP, the gRPC data plane alone, and floe worker to worker). A gRPC end runs
 * a great deal of JavaScript per copy (grpc-js, HTTP/2 streams) that V8 has not compiled
 * yet after one copy: on a fresh cluster (2 cores, 2026-12-07, 100 MiB, lab timestamps
 * around each worker's fetch) the second and third moves ran at about 350-410 MB/s and the
 * fourth to tenth at 410-540. Every path gets the same number, so that each is timed in its
 * steady state.
 */
export const TRANSFER_WARMUP_COPIES = 3;

/** What bench/transfer-child is asked: to serve, or with `from` to fetch from that address. */
export interface TransferChildOptions extends ServeOptions {
  from?: string;
  /** Untimed copies before the timed ones (default TRANSFER_WARMUP_COPIES). */
  warmups?: number;
  /** Timed copies after the warm-up (default 1). */
  fetches?: number;
}

/** Node flags of either end: a floe worker's for the gRPC data plane, none for raw TCP. */
function endFlags(mode: ServeOptions['mode']): string[] {
  return mode === 'grpc' ? clusterNodeFlags('worker', [], '') : [];
}

/** Starts bench/transfer-child, which prints its address and serves until stdin closes. */
export async function startServer(options: ServeOptions): Promise<{ child: ChildProcess; address: string; stop(): Promise<void> }> {
  const { child, line, stop } = await startSibling('transfer-child', options, endFlags(options.mode));
  return { child, address: line, stop };
}

/** Copies the object `fetches` times (after `warmups` untimed copies) from a serving child to a fetching one; MB/s of each timed copy. */
export async function childToChild(options: ServeOptions & { fetches: number; warmups?: number }): Promise<number[]> {
  const { fetches, warmups = TRANSFER_WARMUP_COPIES, ...serve } = options;
  const server = await startServer(serve);
  try {
    const asked: TransferChildOptions = { ...serve, from: server.address, warmups, fetches };
    const fetcher = await startSibling('transfer-child', asked, endFlags(options.mode));
    await fetcher.stop();
    return JSON.parse(fetcher.line) as number[];
  } finally {
    await server.stop();
  }
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
