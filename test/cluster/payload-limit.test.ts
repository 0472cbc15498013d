// Batches bigger than NATS max_payload: a submission, the coordinator's assignments and
// key updates, and a worker's reports all go out in pieces that fit, and nothing is lost.
import t from 'tap';
import { add, makeBytes, verifyBytes } from '../fixtures/cluster-tasks.ts';
import { isFloeError } from '../../src/index.ts';
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

  t.test('an argument bigger than a message is refused at the submit call, naming the task; the client goes on', async (t) => {
    const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 5) % 251);
    const fits = pattern(MAX_PAYLOAD - 2048);
    const checked = await client.submit(verifyBytes, fits, 5).result();
    t.same([checked.length, checked.bad], [fits.length, 0], 'an argument just under the limit arrives intact');
    let thrown: unknown;
    try {
      client.submit(verifyBytes, pattern(MAX_PAYLOAD + 1), 5);
    } catch (error) {
      thrown = error;
    }
    t.ok(isFloeError(thrown) && thrown.code === 'LIMIT_EXCEEDED', 'LIMIT_EXCEEDED');
    const message = String((thrown as Error | undefined)?.message);
    t.match(message, /task 'verifyBytes'/, 'names the task');
    t.match(message, new RegExp(`more than the ${MAX_PAYLOAD} bytes`), 'names the limit');
    t.match(message, /pass its future instead/, 'says what to do');
    t.equal(await client.submit(add, 2, 3).result(), 5, 'the client goes on');
  });
});

