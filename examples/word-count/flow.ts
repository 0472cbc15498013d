// Map-reduce word count: write a corpus, count each file in parallel (a fan-out over
// the list of files that the first task returns), merge, and keep the top words.
//
//   floe run examples/word-count/flow.ts [files]
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flow } from 'floe';
import { countWords, mergeCounts, topWords, writeCorpus } from './tasks.ts';

export default flow('word-count', (files: number = 8, dir: string = join(tmpdir(), 'floe-word-count')) => {
  const paths = writeCorpus(dir, files, 2_000, 42);
  const perFile = countWords.map(paths); // one task per file, known only at run time
  const total = mergeCounts(perFile);
  return { files: paths, top: topWords(total, 5), total };
});
