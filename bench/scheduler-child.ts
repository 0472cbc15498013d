/**
 * Child process of the scheduler scenario: the state machine measured in a fresh process
 * started with the coordinator's V8 flags (as the scheduler runs in a coordinator), not in
 * the bench process after every other scenario. Warms up on one graph of each shape, then
 * prints one JSON line (SchedulerRaw) and exits when its stdin closes.
 *   node bench/scheduler-child.js '{"n":50000}'
 */
import { chainGraph, independentGraph, runGraph, SCHEDULER_WARMUP_TASKS, type SchedulerRaw } from './scenarios/scheduler.ts';

const { n } = JSON.parse(process.argv[2] ?? '{}') as { n: number };
runGraph('independent', independentGraph(SCHEDULER_WARMUP_TASKS));
runGraph('chains', chainGraph(SCHEDULER_WARMUP_TASKS));
const raw: SchedulerRaw = { n, independent: runGraph('independent', independentGraph(n)), chains: runGraph('chains', chainGraph(n)) };
process.stdin.on('close', () => process.exit(0)).resume();
process.stdout.write(`${JSON.stringify(raw)}\n`);
