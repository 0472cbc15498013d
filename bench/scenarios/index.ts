/** Every scenario of the harness, in the order they run; `npm run bench` runs them all. */
import type { Scenario } from '../harness.ts';
import { actorCallsScenario } from './actor-calls.ts';
import { latencyScenario } from './latency.ts';
import { recoveryScenario } from './recovery.ts';
import { scaleScenario } from './scale.ts';
import { schedulerScenario } from './scheduler.ts';
import { stragglerScenario } from './straggler.ts';
import { taskLagScenario } from './task-lag.ts';
import { throughputScenario } from './throughput.ts';
import { tracingScenario } from './tracing.ts';
import { transferScenario } from './transfer.ts';
import { treeReduceScenario } from './tree-reduce.ts';

export const SCENARIOS: readonly Scenario[] = [
  taskLagScenario,
  throughputScenario,
  latencyScenario,
  treeReduceScenario,
  actorCallsScenario,
  transferScenario,
  recoveryScenario,
  stragglerScenario,
  schedulerScenario,
  scaleScenario,
  tracingScenario,
];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);
