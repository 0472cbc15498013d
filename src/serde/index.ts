export type { Serializer, SerializerDefinition } from './types.ts';
export {
  BUILTIN_SERIALIZER_IDS,
  defineSerializer,
  deserializeValue,
  getSerializer,
  registerSerializer,
  resolveSerializer,
  serializeResult,
} from './registry.ts';
export { FutureRef, decodeArgs, encodeArgs, isFutureRef } from './args.ts';
export type { EncodedArgs } from './args.ts';
export { ownBytes } from './bytes.ts';
