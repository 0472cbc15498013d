// Chaos: `kill -9` worker processes in the middle of a 1,000+ task flow with
// peer-to-peer transfers. Their nannies start new workers; the coordinator notices the
// silence (heartbeat timeout), reschedules what they ran and recomputes what only they
// held. Every result must be present and correct. The seed picks when and whom.
import t from 'tap';
import { runScenario, untilReplaced, workerIdsByName, workerPidOf, WORKER_NAMES } from './helpers.ts';

t.test('kill -9 workers mid-flow: nannies restart them and every result is right', async (t) => {
  await runScenario(t, {
    file: 'test/chaos/kill9.test.ts',
    fault: 'kill -9',
    faults: 3,
    async inject(cluster, _index, random) {
      const v = Math.floor(random() * 3);
      const name = WORKER_NAMES[v]!;
      const oldId = (await workerIdsByName(cluster, WORKER_NAMES)).get(name)!;
      const pid = await workerPidOf(cluster.workers[v]!);
      t.comment(`kill -9 ${name} (pid ${pid})`);
      process.kill(pid, 'SIGKILL');
      // Survived: the coordinator wrote the old worker off and the nanny's new one joined.
      await untilReplaced(cluster, name, oldId);
      t.not(await workerPidOf(cluster.workers[v]!), pid, `${name}: the nanny started a new worker process`);
    },
  });
});
