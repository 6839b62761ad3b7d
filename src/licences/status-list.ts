import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * W3C Bitstring Status List v1.0: a bitstring of at least 131,072 entries (16 KB, so that one
 * entry does not stand out: herd privacy), index 0 at the left-most bit of the first byte,
 * GZIP-compressed and encoded as multibase base64url without padding ('u' prefix).
 */
export const STATUS_LIST_SIZE = 131_072;
export type StatusPurpose = 'revocation' | 'suspension';
export const STATUS_PURPOSES: readonly StatusPurpose[] = ['revocation', 'suspension'];

export function encodeStatusList(setIndexes: Iterable<number>, size = STATUS_LIST_SIZE): string {
  const bits = Buffer.alloc(size / 8);
  for (const i of setIndexes) {
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new RangeError(`status index ${i} is outside the list`);
    bits[i >> 3] |= 0x80 >> (i & 7);
  }
  return 'u' + gzipSync(bits).toString('base64url');
}

/** Max decompressed size accepted when decoding (a list from elsewhere could be a gzip bomb). */
const MAX_LIST_BYTES = 16 * 1024 * 1024;

export function decodeStatusList(encoded: string): Buffer {
  if (typeof encoded !== 'string' || !encoded.startsWith('u') || !/^[A-Za-z0-9_-]+$/.test(encoded.slice(1))) {
    throw new Error('encodedList is not multibase base64url');
  }
  return gunzipSync(Buffer.from(encoded.slice(1), 'base64url'), { maxOutputLength: MAX_LIST_BYTES });
}

export function statusBit(bits: Buffer, index: number): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8) throw new RangeError(`status index ${index} is outside the list`);
  return (bits[index >> 3] & (0x80 >> (index & 7))) !== 0;
}
