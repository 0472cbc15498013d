/** The tracing benchmark measures what it says: "on" records spans for every task, "off" none. */
import t from 'tap';
import { measureOnce, tracingScenario } from '../../bench/scenarios/tracing.ts';
import { tracingEnabled } from '../../src/telemetry/trace.ts';

t.test('tracing scenario: off records nothing, on records every task', async (t) => {
  const n = 50;
  const raw = await measureOnce(n);
  t.equal(raw.n, n);
  t.ok(raw.off > 0 && raw.on > 0, 'both runs timed');
  // queue, fetch-inputs, run and serialize per task and run (warm-up and timed), plus the flows' own
  t.ok(raw.spans >= 4 * 2 * n, `spans recorded with the SDK on (${raw.spans})`);
  t.equal(tracingEnabled(), false, 'the SDK is unregistered afterwards');
  t.ok(raw.offPathNs > 0 && Number.isFinite(raw.offPathNs), `off path timed (${raw.offPathNs} ns)`);
  const sample = tracingScenario.measure(raw);
  t.equal(sample.values.overhead, ((raw.on - raw.off) / raw.off) * 100);
  t.ok((sample.values['spans per task'] ?? 0) >= 4);
});
