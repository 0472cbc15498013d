/**
 * transfer: a result made on worker A, consumed by a task on worker B (pinned with worker
 * resources), against a raw TCP copy of the same bytes between two processes and the gRPC
 * data plane alone, all in the same run. Always on a local cluster of its own (in-process
 * workers share memory, so the embedded mode has nothing to measure).
 *
 * floe path: makeBytes runs on A and finishes; then t0, the consumer is submitted, and its
 * start stamp on B (after its input arrived) ends the measurement: scheduling + fetch + decode.
 * Each path makes TRANSFER_WARMUP_COPIES untimed copies first (transfer-io.ts).
 *
 * Beside it, `client.put` of as many bytes from this process to worker B: from the call to
 * the put resolving (serialized, uploaded over gRPC, stored, and its key known to the
 * coordinator); and `client.putMany` of PUT_MANY_VALUES small values (dealt to both
 * workers, a few uploads each): from the call to its futures, in ms.
 */
import type { Scenario } from '../harness.ts';
import { consumeBytes, makeBytes } from '../tasks.ts';
import { childToChild, TRANSFER_WARMUP_COPIES } from '../transfer-io.ts';
import { systemClock } from '../../src/util/clock.ts';

export interface TransferRaw {
  mb: number;
  floeMBps: number[];
  /** client.put of the same bytes from this process to worker B (optional: older results have none). */
  putMBps?: number[];
  grpcMBps: number[];
  tcpMBps: number[];
  /** client.putMany of PUT_MANY_VALUES values of PUT_MANY_VALUE_BYTES, ms (optional, as putMBps). */
  putManyMs?: number[];
}

const PUT_MANY_VALUES = 1000;
const PUT_MANY_VALUE_BYTES = 100;
/** The values putMany puts (and Dask scatters): strings of PUT_MANY_VALUE_BYTES ASCII characters. */
const putManyValues = (): string[] => Array.from({ length: PUT_MANY_VALUES }, (_, i) => 'x'.repeat(PUT_MANY_VALUE_BYTES - 8) + String(i).padStart(8, '0'));

const size = (quick: boolean): number => (quick ? 20 : 100);
const PER_REP = 2;

export const transferScenario: Scenario<TransferRaw> = {
  name: 'transfer',
  title: 'Transfer: a result moved between two worker processes, vs raw TCP',
  warmup: false,
  reps: (quick) => (quick ? 1 : 3),
  note: (quick) =>
    `${size(quick)} MiB${quick ? ' (full: 100 MiB)' : ''}, ${PER_REP} moves per run after ${TRANSFER_WARMUP_COPIES} untimed ones (each path); own local cluster, resources src=1 / dst=1`,
  dask: true,
  params: (quick) => ({ mb: size(quick), per_rep: PER_REP, warmup_moves: TRANSFER_WARMUP_COPIES, put_many_values: PUT_MANY_VALUES, put_many_value_bytes: PUT_MANY_VALUE_BYTES }),
  metrics: () => [
    { key: 'floe worker→worker', unit: 'MB/s', better: 'higher' },
    { key: 'floe client→worker (put)', unit: 'MB/s', better: 'higher' },
    { key: 'floe putMany 1,000 × 100 B', unit: 'ms', better: 'lower' },
    { key: 'gRPC data plane alone', unit: 'MB/s', better: 'higher' },
    { key: 'raw TCP', unit: 'MB/s', better: 'higher' },
    { key: 'floe / raw TCP', unit: '%', better: 'higher', target: { value: 70, text: '≥ 70%' } },
  ],
  async run(ctx) {
    const mb = size(ctx.quick);
    const sizeBytes = mb * 2 ** 20;
    const raw: TransferRaw = { mb, floeMBps: [], putMBps: [], grpcMBps: [], tcpMBps: [], putManyMs: [] };

    raw.tcpMBps.push(...(await childToChild({ mode: 'tcp', sizeBytes, fetches: PER_REP })));
    raw.grpcMBps.push(...(await childToChild({ mode: 'grpc', sizeBytes, fetches: PER_REP })));

    const cluster = await ctx.startCluster({ workerArgs: (i) => ['--resources', i === 0 ? 'src=1' : 'dst=1'] });
    try {
      const { client } = cluster;
      for (let i = 0; i < TRANSFER_WARMUP_COPIES + PER_REP; i++) {
        const made = client.submitWithOptions(makeBytes, { resources: { src: 1 } }, sizeBytes, i);
        await made.wait();
        const t0 = systemClock.now();
        const used = client.submitWithOptions(consumeBytes, { resources: { dst: 1 } }, made, i);
        const r = await used.result();
        made.release();
        used.release();
        if (r.length !== sizeBytes || r.bad !== 0) throw new Error(`transfer: consumer saw ${r.length} bytes, ${r.bad} wrong`);
        if (i >= TRANSFER_WARMUP_COPIES) raw.floeMBps.push(mb / ((r.s - t0) / 1000));
      }
      const bytes = new Uint8Array(sizeBytes).fill(7);
      for (let i = 0; i < TRANSFER_WARMUP_COPIES + PER_REP; i++) {
        const t0 = systemClock.now();
        const put = await client.put(bytes, { serializer: 'raw', worker: 'worker-1' });
        const ms = systemClock.now() - t0;
        put.release();
        if (i >= TRANSFER_WARMUP_COPIES) raw.putMBps!.push(mb / (ms / 1000));
      }
      const values = putManyValues();
      for (let i = 0; i < TRANSFER_WARMUP_COPIES + PER_REP; i++) {
        const t0 = systemClock.now();
        const futures = await client.putMany(values);
        const ms = systemClock.now() - t0;
        for (const f of futures) f.release();
        if (i >= TRANSFER_WARMUP_COPIES) raw.putManyMs!.push(ms);
      }
    } finally {
      await cluster.stop();
    }
    return raw;
  },
  measure(raw) {
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const values: Record<string, number> = {
      'floe worker→worker': med(raw.floeMBps),
      'raw TCP': med(raw.tcpMBps),
      'floe / raw TCP': (100 * med(raw.floeMBps)) / med(raw.tcpMBps),
    };
    if (raw.grpcMBps.length > 0) values['gRPC data plane alone'] = med(raw.grpcMBps);
    if (raw.putMBps !== undefined && raw.putMBps.length > 0) values['floe client→worker (put)'] = med(raw.putMBps);
    if (raw.putManyMs !== undefined && raw.putManyMs.length > 0) values['floe putMany 1,000 × 100 B'] = med(raw.putManyMs);
    return { values };
  },
};
