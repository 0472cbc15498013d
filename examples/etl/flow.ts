// An ETL-shaped DAG: fan-out (extract + transform per region), fan-in (join), and a
// flaky load step that fails once and succeeds on retry.
//
//   floe run examples/etl/flow.ts
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flow } from 'floe';
import { extract, combine, load, transform } from './tasks.ts';

export default flow('etl', (regions: string[] = ['north', 'south', 'east', 'west'], dir: string = join(tmpdir(), 'floe-etl')) => {
  const transformed = regions.map((region) => transform(extract(region, 500), 10));
  const report = combine(transformed);
  return { report, loaded: load(report, dir, randomUUID()) };
});
