/** The actor the actor-calls scenario calls (its own module: workers import it by URL and export name). */
import { actorClass } from '../src/index.ts';

export const Echo = actorClass(
  import.meta.url,
  class Echo {
    calls = 0;
    /** The cheapest method there is: counts and returns its argument. */
    ping(x: number): number {
      this.calls += 1;
      return x;
    }
  },
);
