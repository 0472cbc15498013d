// cluster/local-cluster.ts: a local cluster's workers heartbeat at least 4 times per heartbeat timeout.
import t from 'tap';
import { HEARTBEATS_PER_TIMEOUT, workerHeartbeatArgs } from '../../cluster/local-cluster.ts';

t.test('a shorter heartbeat interval for a short timeout, the default otherwise', async (t) => {
  t.equal(HEARTBEATS_PER_TIMEOUT, 4);
  t.same(workerHeartbeatArgs(2000), ['--heartbeat-interval', '500'], '2 s timeout: every 500 ms');
  t.same(workerHeartbeatArgs(1500), ['--heartbeat-interval', '375']);
  t.same(workerHeartbeatArgs(3999), ['--heartbeat-interval', '999'], 'just under 4 s: just under the default');
  t.same(workerHeartbeatArgs(4000), [], '4 s and more: the default of once a second is 4 per timeout already');
  t.same(workerHeartbeatArgs(15_000), []);
  t.same(workerHeartbeatArgs(2), ['--heartbeat-interval', '1'], 'never 0 (which would turn heartbeats off)');
  t.same(workerHeartbeatArgs(undefined), [], "the coordinator's default timeout");
  t.same(workerHeartbeatArgs(0), [], 'no timeout: nothing to keep up with');
});
