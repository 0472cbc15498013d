// The latency scenario's NATS floor: a request answered by another process, through a
// nats-server of its own; everything it starts is gone when it returns.
import t from 'tap';
import { children } from '../helpers/children.ts';
import { natsRoundTrips } from '../../bench/nats-floor.ts';
import { latencyScenario } from '../../bench/scenarios/latency.ts';

t.test('NATS request/reply round trips: as many as asked, each timed, nothing left running', async (t) => {
  const before = children();
  const trips = await natsRoundTrips(50, 10);
  t.equal(trips.length, 50, 'the timed ones only (the warm-up is left out)');
  t.ok(trips.every((ms) => Number.isFinite(ms) && ms > 0), 'each a positive duration');
  t.same(children(), before, 'nats-server and the echo process are stopped');
});

t.test('the latency scenario reports the floor beside the round trip, when it measured one', async (t) => {
  const withFloor = latencyScenario.measure({ roundTripsMs: [2, 2, 2, 4], natsRoundTripsMs: [0.5, 0.5, 0.5, 1] });
  t.equal(withFloor.values['round trip median'], 2);
  t.equal(withFloor.values['NATS floor median'], 0.5);
  t.ok(withFloor.values['NATS floor p99']! > 0.5 && withFloor.values['NATS floor p99']! <= 1);
  const embedded = latencyScenario.measure({ roundTripsMs: [2, 2, 2, 4] });
  t.notOk('NATS floor median' in embedded.values, 'embedded mode: no floor');
});
