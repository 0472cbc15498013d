// The glibc malloc settings floe gives the worker processes it starts (cluster/malloc-env.ts):
// added when absent, never overriding what the operator set.
import t from 'tap';
import { WORKER_MALLOC_ENV, withWorkerMallocEnv } from '../../cluster/malloc-env.ts';
import { CHUNK_BYTES_DEFAULT } from '../../src/dataplane/grpc.ts';

t.test('adds every setting to an environment without them, keeping the rest', async (t) => {
  const env = withWorkerMallocEnv({ PATH: '/bin', FOO: 'bar' });
  t.equal(env.PATH, '/bin');
  t.equal(env.FOO, 'bar');
  for (const [name, value] of Object.entries(WORKER_MALLOC_ENV)) t.equal(env[name], value, name);
  t.equal(env.MALLOC_MMAP_THRESHOLD_, String(4 * 1024 * 1024));
});

t.test('a value already set wins; an empty one counts as unset', async (t) => {
  const env = withWorkerMallocEnv({ MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_TOP_PAD_: '' });
  t.equal(env.MALLOC_TRIM_THRESHOLD_, '131072');
  t.equal(env.MALLOC_TOP_PAD_, WORKER_MALLOC_ENV.MALLOC_TOP_PAD_);
  t.equal(env.MALLOC_MMAP_THRESHOLD_, WORKER_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_);
});

t.test('does not modify the environment it is given', async (t) => {
  const base = { PATH: '/bin' };
  withWorkerMallocEnv(base);
  t.same(base, { PATH: '/bin' });
});

t.test('every value is a whole number of bytes, as glibc parses it', async (t) => {
  for (const [name, value] of Object.entries(WORKER_MALLOC_ENV)) t.match(value, /^[1-9][0-9]*$/, name);
  // The data plane's default chunk (1 MiB) plus its framing must stay below the mmap threshold.
  t.ok(Number(WORKER_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_) > CHUNK_BYTES_DEFAULT + 64 * 1024);
});
