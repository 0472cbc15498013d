/**
 * Data-plane transfer micro-benchmark: gRPC Fetch between two processes vs a raw TCP copy,
 * without the scheduler, both ends child processes (transfer-io.ts childToChild). The
 * harness runs the same comparison end to end (`floe bench transfer`).
 *
 *   node --import=tsx bench/transfer.ts [--mb 100] [--n 3] [--warmups 3] [--chunk-bytes 1048576]
 *                                       [--grpc-options '{"grpc-node.flow_control_window":65535}']
 *
 * Prints MB/s for both (best and median) and the ratio of medians.
 */
import { parseArgs } from 'node:util';
import { summarize } from './stats.ts';
import { childToChild, TRANSFER_WARMUP_COPIES } from './transfer-io.ts';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    n: { type: 'string', default: '3' },
    warmups: { type: 'string', default: String(TRANSFER_WARMUP_COPIES) },
    'chunk-bytes': { type: 'string', default: String(1024 * 1024) },
    'grpc-options': { type: 'string', default: '{}' },
  },
});
const sizeBytes = Number(values.mb) * 1024 * 1024;
const runs = Number(values.n);
const warmups = Number(values.warmups);
const chunkBytes = Number(values['chunk-bytes']);
const grpcOptions = JSON.parse(values['grpc-options']) as Record<string, number | string>;

const tcpRates = await childToChild({ mode: 'tcp', sizeBytes, warmups, fetches: runs });
const grpcRates = await childToChild({ mode: 'grpc', sizeBytes, chunkBytes, grpcOptions, warmups, fetches: runs });

const t = summarize(tcpRates);
const g = summarize(grpcRates);
const fmt = (r: number[]): string => r.map((x) => x.toFixed(0)).join(', ');
console.log(`object ${values.mb} MiB, ${runs} runs after ${warmups} untimed, chunkBytes ${chunkBytes}, grpcOptions ${JSON.stringify(grpcOptions)}`);
console.log(`raw tcp : median ${t.median.toFixed(0)} MB/s, best ${t.max.toFixed(0)} MB/s  [${fmt(tcpRates)}]`);
console.log(`grpc    : median ${g.median.toFixed(0)} MB/s, best ${g.max.toFixed(0)} MB/s  [${fmt(grpcRates)}]`);
console.log(`ratio   : ${((g.median / t.median) * 100).toFixed(0)}% of raw tcp (median)`);
