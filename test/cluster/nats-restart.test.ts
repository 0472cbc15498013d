// nats-server restarted in the middle of a flow: clients, coordinator and workers
// reconnect, the reliable links resend what was lost, and every result is correct.
import t from 'tap';
import { asCompleted } from '../../src/index.ts';
import { add, busyDouble } from '../fixtures/cluster-tasks.ts';
import { clusterClient, localCluster, status } from '../helpers/cluster.ts';

t.test('a nats-server restart mid-flow loses nothing', async (t) => {
  const cluster = await localCluster(t, { workers: 2, threads: 1 });
  const client = await clusterClient(t, cluster);
  const n = 120;
  const futures = Array.from({ length: n }, (_, i) => client.submit(busyDouble, i, 15));
  // A reduction across both workers, so results also move peer to peer around the restart.
  let level = futures;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(level[i + 1] === undefined ? level[i]! : client.submit(add, level[i]!, level[i + 1]!));
    level = next;
  }
  const total = level[0]!;

  let restarted = false;
  let seen = 0;
  for await (const f of asCompleted(futures)) {
    seen++;
    if (!restarted && seen === 10) {
      await cluster.nats!.restart();
      restarted = true;
    }
    t.equal(f.status, 'finished');
  }
  t.ok(restarted, 'the server was restarted while tasks were running');
  const values = await client.gather(futures);
  t.same(values, Array.from({ length: n }, (_, i) => i * 2));
  t.equal(await total.result(), n * (n - 1));
  // While everyone reconnected, nobody listened on the workers' subjects for a moment: the
  // coordinator's probes (coordinator/probes.ts) must not have taken that for dead workers.
  t.same((await status(cluster)).workers.map((w) => w.epoch), [1, 1], 'no worker was lost and had to start over');
});
