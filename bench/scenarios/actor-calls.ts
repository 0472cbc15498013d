/**
 * actor-calls: method calls on one actor from the client, one at a time (each awaited
 * before the next: "sync") and all issued at once, then gathered ("pipelined"), beside
 * Ray's published 1:1 actor-call microbenchmark (sync 2,012/s, async 8,664/s).
 */
import { Echo } from '../actors.ts';
import type { Scenario } from '../harness.ts';

export interface ActorCallsRaw {
  syncCalls: number;
  syncMs: number;
  pipelinedCalls: number;
  pipelinedMs: number;
}

const sizes = (quick: boolean): { sync: number; pipelined: number } => (quick ? { sync: 300, pipelined: 1000 } : { sync: 2000, pipelined: 5000 });

export const actorCallsScenario: Scenario<ActorCallsRaw> = {
  name: 'actor-calls',
  title: 'Actor calls: method calls on one actor, sync and pipelined',
  warmup: true,
  reps: (quick) => (quick ? 2 : 3),
  note: (quick) => {
    const { sync, pipelined } = sizes(quick);
    return `${sync} sync + ${pipelined} pipelined calls${quick ? ' (full: 2,000 + 5,000)' : ''}`;
  },
  dask: false,
  metrics: () => [
    { key: 'sync calls', unit: 'calls/s', better: 'higher', reference: 'Ray 1:1 actor calls sync 2,012/s' },
    { key: 'pipelined calls', unit: 'calls/s', better: 'higher', reference: 'Ray 1:1 actor calls async 8,664/s' },
  ],
  async run(ctx) {
    const client = await ctx.client();
    const actor = client.actor(Echo);
    try {
      await actor.$ready();
      const { sync, pipelined } = ctx.warmup ? { sync: 50, pipelined: 100 } : sizes(ctx.quick);
      let t0 = performance.now();
      for (let i = 0; i < sync; i++) {
        const f = actor.ping(i);
        if ((await f.result()) !== i) throw new Error(`actor-calls: wrong result for ${i}`);
        f.release();
      }
      const syncMs = performance.now() - t0;
      t0 = performance.now();
      const futures = Array.from({ length: pipelined }, (_, i) => actor.ping(i));
      const values = await client.gather(futures);
      const pipelinedMs = performance.now() - t0;
      for (const f of futures) f.release();
      if (values.some((v, i) => v !== i)) throw new Error('actor-calls: pipelined results out of order');
      return { syncCalls: sync, syncMs, pipelinedCalls: pipelined, pipelinedMs };
    } finally {
      actor.$release();
    }
  },
  measure: (raw) => ({
    values: {
      'sync calls': (raw.syncCalls / raw.syncMs) * 1000,
      'pipelined calls': (raw.pipelinedCalls / raw.pipelinedMs) * 1000,
    },
  }),
};
