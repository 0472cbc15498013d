// Recursive Fibonacci with dynamic tasks.
//
//   floe run examples/fib/flow.ts 20        # prints 6765
import { flow } from 'floe';
import { fib } from './tasks.ts';

export default flow('fib', (n: number = 20) => fib(n));
