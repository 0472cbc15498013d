/**
 * Returns a Uint8Array that owns its whole ArrayBuffer, copying only when `bytes` is a view
 * into a bigger or shared buffer (msgpackr's and Buffer's pools are such buffers).
 * Only such an array may be transferred between threads: transferring a view would detach
 * the whole pool under its owner's feet.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes;
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
