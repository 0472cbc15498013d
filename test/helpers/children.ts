/** This test process's running children, to check that what a test started is gone. */
import { execFileSync } from 'node:child_process';

/** Command lines of this process's running children (an exited one not reaped yet is not running). */
export function children(): string[] {
  const out = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('ps ') && !line.endsWith('<defunct>'));
}
