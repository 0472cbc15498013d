// A stateful actor and a task that uses it through a handle passed as an argument.
import { actorClass, task, type ActorHandle } from 'floe';

export const Counter = actorClass(
  import.meta.url,
  class Counter {
    n: number;
    constructor(start: number) {
      this.n = start;
    }
    add(by: number): number {
      this.n += by;
      return this.n;
    }
    value(): number {
      return this.n;
    }
  },
);

export type CounterHandle = ActorHandle<InstanceType<typeof Counter.cls>>;

/** Adds 1 to the counter `times` times, waiting for each call (from inside a task). */
export const tally = task(import.meta.url, async (counter: CounterHandle, times: number): Promise<number> => {
  let last = 0;
  for (let i = 0; i < times; i++) last = await counter.add(1).result();
  return last;
});
