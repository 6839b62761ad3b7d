/**
 * DER helpers shared by the GB/T 38540 / GM/T 0031 structures: typed readers over the strict
 * reader of src/pki/der.ts (which already enforces DER framing, depth and size limits and
 * refuses trailing bytes) and the matching writers, so that parse → encode reproduces the
 * received bytes exactly.
 */
import {
  DerError,
  TAG,
  encodeOid,
  encodeTlv,
  readBitString,
  readBoolean,
  readGeneralizedTime,
  readIntegerBytes,
  readOctetString,
  readOid,
  readSequence,
  readSmallInt,
  readUtcTime,
  bigIntToIntegerBytes,
  type DerNode,
} from '../pki/der';

export { DerError, encodeOid, readBitString, readBoolean, readOctetString, readOid, readSequence, readSmallInt, readIntegerBytes, type DerNode };

function expectUniversal(n: DerNode, tag: number, what: string): void {
  if (n.tagClass !== 'universal' || n.tagNumber !== tag || n.constructed) throw new DerError(`${what}: unexpected type`);
}

/** IA5String (X.680 §41): 7-bit characters only. */
export function readIA5(n: DerNode, what: string): string {
  expectUniversal(n, TAG.IA5_STRING, what);
  for (const b of n.content) if (b > 0x7f) throw new DerError(`${what}: not an IA5String`);
  return n.content.toString('latin1');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
export function readUTF8(n: DerNode, what: string): string {
  expectUniversal(n, TAG.UTF8_STRING, what);
  try {
    return UTF8.decode(n.content);
  } catch {
    throw new DerError(`${what}: invalid UTF-8`);
  }
}

export function readPrintable(n: DerNode, what: string): string {
  expectUniversal(n, TAG.PRINTABLE_STRING, what);
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(n.content.toString('latin1'))) throw new DerError(`${what}: not a PrintableString`);
  return n.content.toString('latin1');
}

/** A BIT STRING that carries whole octets (signatures, hashes, tokens). */
export function readOctetAlignedBits(n: DerNode, what: string): Buffer {
  const v = readBitString(n, what);
  if (v.unusedBits !== 0) throw new DerError(`${what}: unused bits in a byte-aligned BIT STRING`);
  return v.bytes;
}

/** GM/T 0031 uses UTCTime where GB/T 38540 uses GeneralizedTime: remember which, to re-encode. */
export type SesTimeKind = 'generalized' | 'utc';
export interface SesTime {
  date: Date;
  kind: SesTimeKind;
}

export function readSesTime(n: DerNode, what: string): SesTime {
  if (n.tagClass === 'universal' && n.tagNumber === TAG.UTC_TIME) return { date: readUtcTime(n, what), kind: 'utc' };
  return { date: readGeneralizedTime(n, what), kind: 'generalized' };
}

// ---------------------------------------------------------------------------------------------
// Writers (DER, minimal lengths; the inverse of the readers above).

export const seq = (...parts: Buffer[]): Buffer => encodeTlv(0x30, Buffer.concat(parts));
export const int = (v: number | bigint): Buffer => encodeTlv(0x02, bigIntToIntegerBytes(BigInt(v)));
export const octets = (b: Uint8Array): Buffer => encodeTlv(0x04, b);
export const bits = (b: Uint8Array): Buffer => encodeTlv(0x03, Buffer.concat([Buffer.from([0]), b]));
export const bool = (v: boolean): Buffer => encodeTlv(0x01, Buffer.from([v ? 0xff : 0x00]));
export const explicit = (tag: number, inner: Buffer): Buffer => encodeTlv(0xa0 | tag, inner);

export function ia5(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError('not an IA5String');
  return encodeTlv(0x16, Buffer.from(s, 'latin1'));
}
export const utf8 = (s: string): Buffer => encodeTlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string): Buffer => encodeTlv(0x13, Buffer.from(s, 'latin1'));

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** GeneralizedTime YYYYMMDDHHMMSSZ or UTCTime YYMMDDHHMMSSZ (whole seconds, UTC). */
export function time(t: SesTime): Buffer {
  const d = t.date;
  if (d.getUTCMilliseconds() !== 0) throw new RangeError('SES times are whole seconds');
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (t.kind === 'utc') {
    const y = d.getUTCFullYear();
    if (y < 1950 || y > 2049) throw new RangeError('UTCTime covers 1950–2049 only');
    return encodeTlv(0x17, Buffer.from(`${pad(y % 100)}${rest}`, 'latin1'));
  }
  return encodeTlv(0x18, Buffer.from(`${pad(d.getUTCFullYear(), 4)}${rest}`, 'latin1'));
}
