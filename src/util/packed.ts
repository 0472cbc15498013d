/**
 * `items.map(fn)`, as an array of one shape whatever the caller's tier. The elements kind of
 * Array.prototype.map's result depends on where it runs: packed from the builtin, holey when
 * the optimizing compiler has inlined it into its caller (measured on Node 20 with
 * `%HasHoleyElements`). Code that receives such arrays and was optimized for one kind is
 * deoptimized by the other ("wrong map"): the client's submit path (encodeSubmitMessage,
 * wantsAreKeysOf, the piece stream) went through that every ten rounds or so of the task-lag
 * shapes, as the caller that made its arrays was deoptimized or optimized again, each time
 * compiling again for 16-37 ms on V8's helper threads. A push loop gives a packed array in
 * every tier.
 */
export function mapPacked<T, U>(items: readonly T[], fn: (item: T) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < items.length; i++) out.push(fn(items[i]!));
  return out;
}
