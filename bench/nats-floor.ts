/**
 * The floor under floe's round trip on this machine: a NATS request answered by another
 * Node process (two hops through nats-server), timed the way the latency scenario times
 * a task. floe's round trip is three such hops (client -> coordinator -> worker -> client:
 * the worker tells the waiting client itself) plus a pool thread, so it cannot be below
 * one and a half times this figure.
 */
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../cluster/nats-server.ts';
import { startSibling } from './child.ts';

const SUBJECT = 'bench.echo';

/** Round trips (ms) of `count` sequential 100-byte requests, after `warmup` untimed ones. */
export async function natsRoundTrips(count: number, warmup: number): Promise<number[]> {
  const server = await startNatsServer();
  try {
    const echo = await startSibling('nats-echo', { url: server.url, subject: SUBJECT });
    try {
      const nc = await connect({ servers: server.url });
      try {
        const data = new Uint8Array(100);
        const out: number[] = [];
        for (let i = 0; i < warmup + count; i++) {
          const t0 = performance.now();
          await nc.request(SUBJECT, data, { timeout: 5_000 });
          if (i >= warmup) out.push(performance.now() - t0);
        }
        return out;
      } finally {
        await nc.close();
      }
    } finally {
      await echo.stop();
    }
  } finally {
    await server.stop();
  }
}
