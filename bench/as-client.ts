/**
 * Imported first by the bench tools that run a client in their own process (lag-breakdown,
 * cpu-profile, cpu-per-task, gc-survival, sched-wait, latency-tail, round-trip-profile,
 * direct-vs-coordinator): starts the tool again with the V8 flags that `floe bench` gives
 * the process its client runs in (cluster/node-flags.ts: the young generation, no memory
 * reducer, the collector exposed for idle collections), so that their client is measured as the bench's is. They ran on node's defaults
 * until 2026-12-06, and their client was not the bench's: `cpu-profile.js --lag` put 31% of
 * its CPU in garbage collection. Flags given on the tool's command line are kept, and none
 * is added for them; when nothing is left to add, the tool runs in this process.
 */
import { clusterNodeFlags } from '../cluster/node-flags.ts';
import { relaunch, watchRelauncher } from '../cluster/relaunch.ts';

const flags = clusterNodeFlags('client');
// The tool's own module runs after this one: in this process it must not run at all.
if (flags.length > 0) process.exit(await relaunch(flags));
watchRelauncher();
