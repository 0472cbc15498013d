// Batches bigger than NATS max_payload: a submission, the coordinator's assignments and
// key updates, and a worker's reports all go out in pieces that fit, and nothing is lost.
import t from 'tap';
import { add, makeBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';
import { clusterClient, localCluster } from '../helpers/cluster.ts';
import { natsServer } from '../helpers/nats.ts';

const MAX_PAYLOAD = 32 * 1024;

t.test('a cluster on a nats-server with a 32 KiB max_payload', async (t) => {
  const nats = await natsServer(t, { maxPayloadBytes: MAX_PAYLOAD });
  const cluster = await localCluster(t, { workers: 2, threads: 1, nats: nats.url });
  const client = await clusterClient(t, cluster);

  t.test('a 4,000-task graph submitted at once (about 10× the limit) gives every result', async (t) => {
    const n = 2000;
    const firsts = Array.from({ length: n }, (_, i) => client.submit(add, i, 1));
    // Each second-level task depends on a first-level task submitted in an earlier piece.
    const seconds = firsts.map((f, i) => client.submit(add, f, firsts[n - 1 - i]!));
    const results = await client.gather(seconds);
    t.equal(results.length, n);
    t.ok(results.every((r) => r === n + 1), 'every result right: (i + 1) + (n - 1 - i + 1)');
  });

  t.test('results that travel inline add up past the limit in one batch; all arrive intact', async (t) => {
    const size = 6 * 1024; // inline (under the worker's inline limit) but several exceed a message
    const made = Array.from({ length: 60 }, (_, i) => client.submit(makeBytes, size, i));
    const checked = await client.gather(made.map((m, i) => client.submit(verifyBytes, m, i)));
    t.ok(checked.every((c) => c.length === size && c.bad === 0), 'every result intact');
    const bytes = await client.gather(made);
    t.ok(bytes.every((b) => b.byteLength === size), 'the client got every result');
  });
});
