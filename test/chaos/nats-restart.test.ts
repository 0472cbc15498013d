// Chaos: restart nats-server in the middle of a 1,000+ task flow. Every party
// reconnects; with a short heartbeat timeout workers may also be declared lost during
// the outage, register again and have their results recomputed. Every result must be
// present and correct. The seed picks when.
import t from 'tap';
import { runScenario, workerIdsByName, WORKER_NAMES } from './helpers.ts';

t.test('nats-server restarted mid-flow: every result right', async (t) => {
  await runScenario(t, {
    file: 'test/chaos/nats-restart.test.ts',
    fault: 'nats-server restart',
    faults: 2,
    async inject(cluster) {
      t.comment(`restarting nats-server (pid ${cluster.nats!.pid})`);
      await cluster.nats!.restart();
      // Survived: all three workers are registered again.
      await workerIdsByName(cluster, WORKER_NAMES);
    },
  });
});
