/** A serializer turns task results into bytes and back. Ids are global within a cluster. */
export interface Serializer {
  /** Stable id, e.g. 'msgpack'; travels with every stored result. */
  readonly id: string;
  /** Throws when the value cannot be represented faithfully. */
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

/** What `defineSerializer()` returns; pass it as the `serializer` task option. */
export interface SerializerDefinition {
  readonly id: string;
  /** Module URL that registers the serializer when imported (`import.meta.url`). */
  readonly moduleUrl: string;
  readonly serializer: Serializer;
}
