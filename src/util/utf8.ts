/**
 * UTF-8 lengths of strings, for the hand-written encoders (transport/proto-write.ts,
 * serde/flat-writer.ts), which write a string's length before its bytes.
 */

/** UTF-8 length as Buffer.byteLength counts it (a lone surrogate as the 3 bytes of U+FFFD), without the native call for ASCII. */
export function stringBytes(value: string): number {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return Buffer.byteLength(value);
  return value.length;
}
