/**
 * Test helpers for the real-NATS tests: a nats-server on a free loopback port stopped
 * when the test ends, and transports closed when the test ends.
 */
import { startNatsServer, type NatsServerHandle, type NatsServerOptions } from '../../cluster/nats-server.ts';
import { connectNats, type NatsOptions, type NatsTransport } from '../../src/transport/nats/nats-transport.ts';

/** The tap `t` surface the helpers need. */
interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A nats-server on a free port, stopped at the end of the test. */
export async function natsServer(t: Teardown, options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const server = await startNatsServer(options);
  t.teardown(() => server.stop());
  return server;
}

/** A transport connected to `server`, closed at the end of the test. */
export async function natsTransport(t: Teardown, server: NatsServerHandle, options: Partial<NatsOptions> = {}): Promise<NatsTransport> {
  const transport = await connectNats({ servers: server.url, reconnectTimeWaitMs: 50, ...options });
  t.teardown(() => transport.close());
  return transport;
}
