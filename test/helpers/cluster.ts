/**
 * A real local cluster for tests: nats-server on a free loopback port, a coordinator
 * process and worker processes, all stopped by PID at the end of the test.
 */
import { startLocalCluster, type LocalClusterHandle, type LocalClusterOptions } from '../../cluster/local-cluster.ts';
import { fetchStatus } from '../../cluster/commands/status.ts';
import type { WireClusterStatus } from '../../src/transport/messages.ts';
import { Client } from '../../src/index.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function localCluster(t: Teardown, options: LocalClusterOptions): Promise<LocalClusterHandle> {
  const handle = await startLocalCluster({ stderr: 'ignore', ...options });
  t.teardown(() => handle.stop());
  return handle;
}

export async function clusterClient(t: Teardown, handle: LocalClusterHandle): Promise<Client> {
  const client = await Client.connect({ nats: handle.url, cluster: handle.cluster });
  t.teardown(() => client.close());
  return client;
}

export function status(handle: LocalClusterHandle): Promise<WireClusterStatus> {
  return fetchStatus(handle.url, handle.cluster, 5000);
}

/** Polls the cluster status until `ok` holds (bounded); for conditions with no event to await. */
export async function untilStatus(
  handle: LocalClusterHandle,
  what: string,
  ok: (s: WireClusterStatus) => boolean,
  attempts = 600,
): Promise<WireClusterStatus> {
  for (let i = 0; i < attempts; i++) {
    const s = await status(handle);
    if (ok(s)) return s;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`cluster status never satisfied: ${what}`);
}

interface Commenter {
  comment(...message: unknown[]): void;
}

/**
 * Awaits `promise`. If that takes longer than `reportAfterMs`, prints the cluster's status
 * once as a test comment (its workers, task counts by state, and what each waiting task
 * waits for) and goes on waiting. For awaits that have hung in CI: the log then says where
 * the cluster stood. Asserts nothing, and decides nothing.
 */
export async function awaitReporting<T>(t: Commenter, handle: LocalClusterHandle, what: string, promise: Promise<T>, reportAfterMs = 20_000): Promise<T> {
  let settled = false;
  // Said only while still waiting: a test that has ended takes no more comments.
  const say = (text: string): void => {
    if (!settled) t.comment(`${what}: still waiting after ${reportAfterMs} ms; ${text}`);
  };
  const timer = setTimeout(() => {
    status(handle).then(
      (s) => say(`cluster status: ${JSON.stringify(s)}`),
      (e: unknown) => say(`no cluster status (${String(e)})`),
    );
  }, reportAfterMs);
  try {
    return await promise;
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}
