/**
 * getSerializer: builtins, registered ids and unknown ids, and one table per realm shared
 * by every copy of floe loaded in it (a copy is the registry module under another URL).
 */
import t from 'tap';
import { isFloeError } from '../../src/errors.ts';
import type { Serializer } from '../../src/serde/index.ts';
import type * as Registry from '../../src/serde/registry.ts';

type RegistryModule = typeof Registry;

/** A fresh instance of the registry module, as a second copy of floe in this thread would load it. */
async function copyOfRegistry(name: string): Promise<RegistryModule> {
  return (await import(`../../src/serde/registry.ts?copy=${name}`)) as RegistryModule;
}

function serializer(id: string): Serializer {
  return { id, serialize: () => new Uint8Array([1]), deserialize: () => id };
}

void t.test('copies share one table, whichever copy makes it and whichever registers', async (t) => {
  // Neither copy has looked at the table yet: the first to do so makes it, the other finds it.
  const first = await copyOfRegistry('first');
  const second = await copyOfRegistry('second');
  t.not(first.getSerializer, second.getSerializer, 'two instances of the module');
  const msgpack = second.getSerializer('msgpack');
  t.equal(msgpack?.id, 'msgpack');
  t.equal(first.getSerializer('msgpack'), msgpack, 'the builtins of the copy that made the table');
  const a = serializer('test-registry-a');
  first.registerSerializer(a);
  t.equal(second.getSerializer('test-registry-a'), a, 'registered through one copy, seen by the other');
  const b = serializer('test-registry-b');
  t.equal(first.getSerializer('test-registry-b'), undefined);
  second.registerSerializer(b);
  t.equal(first.getSerializer('test-registry-b'), b, 'seen after an earlier miss');
  let code: string | undefined;
  try {
    first.registerSerializer(serializer('test-registry-b'));
  } catch (e) {
    code = isFloeError(e) ? e.code : String(e);
  }
  t.equal(code, 'INVALID_ARGUMENT', 'an id taken through the other copy');
  const main = await import('../../src/serde/registry.ts');
  t.equal(main.getSerializer('test-registry-a'), a, 'the copy the rest of floe imports sees both');
  t.equal(main.getSerializer('test-registry-b'), b);
});

void t.test('getSerializer: builtins, registered ids, unknown ids', async (t) => {
  const { BUILTIN_SERIALIZER_IDS, getSerializer, registerSerializer } = await import('../../src/serde/registry.ts');
  t.same([...BUILTIN_SERIALIZER_IDS].sort(), ['json', 'msgpack', 'raw', 'v8']);
  for (const id of BUILTIN_SERIALIZER_IDS) {
    const s = getSerializer(id);
    t.equal(s?.id, id, id);
    t.equal(getSerializer(id), s, `${id}: the same object each time`);
  }
  for (const id of ['', 'nope', 'MSGPACK', 'msgpack ', '__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
    t.equal(getSerializer(id), undefined, `unknown id ${JSON.stringify(id)}`);
  }
  const c = serializer('test-registry-c');
  t.equal(getSerializer(c.id), undefined, 'not registered yet');
  registerSerializer(c);
  t.equal(getSerializer(c.id), c, 'registered after a miss');
  registerSerializer(c);
  t.equal(getSerializer(c.id), c, 'registering the same object again changes nothing');
});
