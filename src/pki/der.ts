/**
 * A strict DER reader (X.690 §10) and a few writer helpers.
 *
 * Why our own reader rather than @peculiar/asn1-schema's AsnParser for input we receive: AsnParser
 * sits on asn1js, which accepts BER (indefinite lengths, non-minimal lengths and integers),
 * ignores trailing bytes, and silently drops SEQUENCE OF elements that fail to parse. A
 * responder that echoes what it was sent, or a verifier that hashes what it received, needs the
 * exact bytes and a reader that refuses anything else. The @peculiar/asn1-* classes are used to
 * *build* structures (their serializer emits DER for the values we give them).
 *
 * The reader decodes the whole tree once, checking framing and the DER rules for every universal
 * type it meets, with a depth limit and a size limit, and rejects trailing bytes. Each node keeps
 * a view of its original encoding (`der`) so callers hash and echo what was received.
 */

export type TagClass = 'universal' | 'application' | 'context' | 'private';

export interface DerNode {
  readonly tagClass: TagClass;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** The whole TLV: a view into the input, never a re-encoding. */
  readonly der: Buffer;
  /** The contents octets (a view). */
  readonly content: Buffer;
  /** Children of a constructed node, in order; empty for a primitive. */
  readonly children: readonly DerNode[];
}

export interface DerLimits {
  /** Largest input accepted, in bytes. */
  maxBytes?: number;
  /** Deepest nesting of constructed values accepted (the outermost value is depth 1). */
  maxDepth?: number;
}

export const DEFAULT_DER_LIMITS: Required<DerLimits> = Object.freeze({ maxBytes: 1 << 20, maxDepth: 32 });

/**
 * Raised by the reader. Internal: each public parser turns it into a ParseError with its own
 * stable code (and this error as `cause`), so callers never see it.
 */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  ENUMERATED: 10,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  NUMERIC_STRING: 18,
  PRINTABLE_STRING: 19,
  TELETEX_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  VISIBLE_STRING: 26,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

const CLASSES: readonly TagClass[] = ['universal', 'application', 'context', 'private'];
const MAX_TAG_NUMBER = 1 << 21;

/** Decodes exactly one DER value that fills `input`. */
export function decodeDer(input: Uint8Array, limits: DerLimits = {}): DerNode {
  const maxBytes = limits.maxBytes ?? DEFAULT_DER_LIMITS.maxBytes;
  const maxDepth = limits.maxDepth ?? DEFAULT_DER_LIMITS.maxDepth;
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length === 0) throw new DerError('empty input');
  if (buf.length > maxBytes) throw new DerError(`input of ${buf.length} bytes exceeds the limit of ${maxBytes}`);
  const { node, next } = decodeAt(buf, 0, buf.length, 1, maxDepth);
  if (next !== buf.length) throw new DerError(`${buf.length - next} trailing byte(s) after the value`);
  return node;
}

function decodeAt(buf: Buffer, start: number, end: number, depth: number, maxDepth: number): { node: DerNode; next: number } {
  if (depth > maxDepth) throw new DerError(`nesting deeper than ${maxDepth}`);
  let p = start;
  if (p >= end) throw new DerError('truncated: missing tag');
  const first = buf[p++]!;
  const tagClass = CLASSES[first >> 6]!;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // High-tag-number form (X.690 §8.1.2.4): base-128, no leading 0x80, only for tags >= 31.
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (p >= end) throw new DerError('truncated: tag');
      const b = buf[p++]!;
      if (i === 0 && b === 0x80) throw new DerError('non-minimal tag encoding');
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (tagNumber > MAX_TAG_NUMBER) throw new DerError('tag number too large');
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 31) throw new DerError('non-minimal tag encoding');
  }
  if (p >= end) throw new DerError('truncated: missing length');
  const l0 = buf[p++]!;
  let length: number;
  if (l0 < 0x80) {
    length = l0;
  } else if (l0 === 0x80) {
    throw new DerError('indefinite length is not DER');
  } else {
    const n = l0 & 0x7f;
    if (n > 4) throw new DerError('length field too long');
    if (p + n > end) throw new DerError('truncated: length');
    if (buf[p] === 0) throw new DerError('non-minimal length encoding');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
    if (length < 0x80) throw new DerError('non-minimal length encoding');
  }
  if (length > end - p) throw new DerError('truncated: length exceeds the available bytes');
  const content = buf.subarray(p, p + length);
  const der = buf.subarray(start, p + length);
  const children: DerNode[] = [];
  if (tagClass === 'universal') checkUniversal(tagNumber, constructed, content);
  if (constructed) {
    let q = p;
    const childEnd = p + length;
    while (q < childEnd) {
      const r = decodeAt(buf, q, childEnd, depth + 1, maxDepth);
      children.push(r.node);
      q = r.next;
    }
  }
  return { node: { tagClass, constructed, tagNumber, der, content, children }, next: p + length };
}

function checkUniversal(tag: number, constructed: boolean, c: Buffer): void {
  if (tag === 0) throw new DerError('end-of-contents octets are not DER');
  if (tag === TAG.SEQUENCE || tag === TAG.SET) {
    if (!constructed) throw new DerError('SEQUENCE/SET must be constructed');
    return;
  }
  if (tag >= 31 || tag === 8 || tag === 11 || tag === 29) throw new DerError(`unsupported universal tag ${tag}`);
  // DER: every other universal type uses the primitive form (X.690 §10.2).
  if (constructed) throw new DerError(`constructed encoding of universal tag ${tag} is not DER`);
  switch (tag) {
    case TAG.BOOLEAN:
      checkBooleanContent(c);
      break;
    case TAG.INTEGER:
    case TAG.ENUMERATED:
      checkIntegerContent(c);
      break;
    case TAG.BIT_STRING:
      checkBitStringContent(c);
      break;
    case TAG.NULL:
      if (c.length !== 0) throw new DerError('NULL with contents');
      break;
    case TAG.OID:
      checkOidContent(c);
      break;
    case TAG.PRINTABLE_STRING:
      if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(c.toString('latin1'))) throw new DerError('invalid PrintableString');
      break;
    case TAG.IA5_STRING:
    case TAG.VISIBLE_STRING:
    case TAG.NUMERIC_STRING:
      for (const b of c) if (b > 0x7f) throw new DerError('non-ASCII byte in an ASCII string type');
      break;
    default:
      break;
  }
}

function checkBooleanContent(c: Buffer): void {
  if (c.length !== 1 || (c[0] !== 0x00 && c[0] !== 0xff)) throw new DerError('BOOLEAN must be one octet, 00 or FF');
}

function checkIntegerContent(c: Buffer): void {
  if (c.length === 0) throw new DerError('empty INTEGER');
  if (c.length > 1 && ((c[0] === 0x00 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0))) {
    throw new DerError('non-minimal INTEGER encoding');
  }
}

function checkBitStringContent(c: Buffer): void {
  if (c.length === 0) throw new DerError('empty BIT STRING');
  const unused = c[0]!;
  if (unused > 7 || (c.length === 1 && unused !== 0)) throw new DerError('invalid unused-bits count in BIT STRING');
  if (unused > 0 && (c[c.length - 1]! & ((1 << unused) - 1)) !== 0) throw new DerError('unused bits of a BIT STRING must be zero');
}

function checkOidContent(c: Buffer): void {
  if (c.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  if ((c[c.length - 1]! & 0x80) !== 0) throw new DerError('truncated OBJECT IDENTIFIER');
  for (let i = 0; i < c.length; i++) {
    const atStart = i === 0 || (c[i - 1]! & 0x80) === 0;
    if (atStart && c[i] === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER arc');
  }
}

// ---------------------------------------------------------------------------------------------
// Typed readers. `what` names the field in error messages (e.g. 'CertID.serialNumber').

function describe(n: DerNode): string {
  return n.tagClass === 'universal' ? `universal ${n.tagNumber}` : `[${n.tagNumber}] (${n.tagClass})`;
}

function expectTag(n: DerNode, tagClass: TagClass, tagNumber: number, constructed: boolean, what: string): void {
  if (n.tagClass !== tagClass || n.tagNumber !== tagNumber || n.constructed !== constructed) {
    throw new DerError(`${what}: unexpected ${describe(n)}`);
  }
}

/** Whether `n` carries the context-specific tag `[tagNumber]`. */
export function isContext(n: DerNode | undefined, tagNumber: number): boolean {
  return n !== undefined && n.tagClass === 'context' && n.tagNumber === tagNumber;
}

/** A cursor over the children of a SEQUENCE (or SET, or a constructed tagged value). */
export class DerReader {
  private index = 0;
  constructor(
    readonly node: DerNode,
    readonly what: string,
  ) {
    if (!node.constructed) throw new DerError(`${what}: expected a constructed value`);
  }

  peek(): DerNode | undefined {
    return this.node.children[this.index];
  }

  next(field: string): DerNode {
    const n = this.node.children[this.index];
    if (!n) throw new DerError(`${this.what}: missing ${field}`);
    this.index++;
    return n;
  }

  /** Consumes the next child if it carries context tag [tagNumber]. */
  optionalContext(tagNumber: number): DerNode | undefined {
    const n = this.peek();
    if (n && isContext(n, tagNumber)) {
      this.index++;
      return n;
    }
    return undefined;
  }

  /** Consumes the next child if it is the universal type `tagNumber`. */
  optionalUniversal(tagNumber: number): DerNode | undefined {
    const n = this.peek();
    if (n && n.tagClass === 'universal' && n.tagNumber === tagNumber) {
      this.index++;
      return n;
    }
    return undefined;
  }

  get remaining(): number {
    return this.node.children.length - this.index;
  }

  /** Asserts every child was consumed: unknown trailing elements are refused, not skipped. */
  end(): void {
    const n = this.peek();
    if (n) throw new DerError(`${this.what}: unexpected element ${describe(n)}`);
  }
}

export function readSequence(n: DerNode, what: string): DerReader {
  expectTag(n, 'universal', TAG.SEQUENCE, true, what);
  return new DerReader(n, what);
}

export function readSet(n: DerNode, what: string): DerReader {
  expectTag(n, 'universal', TAG.SET, true, what);
  return new DerReader(n, what);
}

/** `[tagNumber] EXPLICIT T`: the one value inside the tag. */
export function readExplicit(n: DerNode, tagNumber: number, what: string): DerNode {
  expectTag(n, 'context', tagNumber, true, what);
  if (n.children.length !== 1) throw new DerError(`${what}: an explicit tag must hold exactly one value`);
  return n.children[0]!;
}

/** `[tagNumber] IMPLICIT SEQUENCE/SET OF`: a reader over the tagged value's children. */
export function readImplicitConstructed(n: DerNode, tagNumber: number, what: string): DerReader {
  expectTag(n, 'context', tagNumber, true, what);
  return new DerReader(n, what);
}

/** INTEGER contents octets (two's complement, minimal). Pass `implicitTag` for `[n] IMPLICIT INTEGER`. */
export function readIntegerBytes(n: DerNode, what: string, implicitTag?: number): Buffer {
  if (implicitTag === undefined) expectTag(n, 'universal', TAG.INTEGER, false, what);
  else {
    expectTag(n, 'context', implicitTag, false, what);
    try {
      checkIntegerContent(n.content);
    } catch (e) {
      throw new DerError(`${what}: ${(e as Error).message}`);
    }
  }
  return n.content;
}

export function readBigInt(n: DerNode, what: string, implicitTag?: number): bigint {
  return integerBytesToBigInt(readIntegerBytes(n, what, implicitTag));
}

/** A small INTEGER (|v| < 2^31), e.g. a version number. */
export function readSmallInt(n: DerNode, what: string, implicitTag?: number): number {
  const c = readIntegerBytes(n, what, implicitTag);
  if (c.length > 4) throw new DerError(`${what}: integer out of range`);
  return Number(integerBytesToBigInt(c));
}

export function readEnumerated(n: DerNode, what: string): number {
  expectTag(n, 'universal', TAG.ENUMERATED, false, what);
  if (n.content.length > 4) throw new DerError(`${what}: enumerated value out of range`);
  return Number(integerBytesToBigInt(n.content));
}

export function readBoolean(n: DerNode, what: string): boolean {
  expectTag(n, 'universal', TAG.BOOLEAN, false, what);
  return n.content[0] === 0xff;
}

export function readNull(n: DerNode, what: string, implicitTag?: number): null {
  if (implicitTag === undefined) expectTag(n, 'universal', TAG.NULL, false, what);
  else expectTag(n, 'context', implicitTag, false, what);
  if (n.content.length !== 0) throw new DerError(`${what}: NULL with contents`);
  return null;
}

export function readOid(n: DerNode, what: string): string {
  expectTag(n, 'universal', TAG.OID, false, what);
  return oidContentToString(n.content);
}

export function readOctetString(n: DerNode, what: string, implicitTag?: number): Buffer {
  if (implicitTag === undefined) expectTag(n, 'universal', TAG.OCTET_STRING, false, what);
  else expectTag(n, 'context', implicitTag, false, what);
  return n.content;
}

export interface BitStringValue {
  unusedBits: number;
  /** The bit string's octets, without the unused-bits octet. */
  bytes: Buffer;
}

export function readBitString(n: DerNode, what: string): BitStringValue {
  expectTag(n, 'universal', TAG.BIT_STRING, false, what);
  return { unusedBits: n.content[0]!, bytes: n.content.subarray(1) };
}

/** Named bits set in a BIT STRING (bit 0 = the most significant bit of the first octet). */
export function bitStringBits(v: BitStringValue): number[] {
  const bits: number[] = [];
  const total = v.bytes.length * 8 - v.unusedBits;
  for (let i = 0; i < total; i++) if ((v.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0) bits.push(i);
  return bits;
}

const UTC_RE = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GEN_RE = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d*[1-9])?Z$/;

function makeDate(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, what: string): Date {
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const date = new Date(t);
  if (
    mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59 ||
    date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d
  ) {
    throw new DerError(`${what}: invalid date`);
  }
  return date;
}

/** UTCTime in the DER form RFC 5280 §4.1.2.5.1 requires: YYMMDDHHMMSSZ (YY < 50 → 20YY). */
export function readUtcTime(n: DerNode, what: string): Date {
  expectTag(n, 'universal', TAG.UTC_TIME, false, what);
  const m = UTC_RE.exec(n.content.toString('latin1'));
  if (!m) throw new DerError(`${what}: UTCTime not in YYMMDDHHMMSSZ form`);
  const yy = Number(m[1]);
  return makeDate(yy < 50 ? 2000 + yy : 1900 + yy, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, 0, what);
}

/**
 * GeneralizedTime in DER form: YYYYMMDDHHMMSS[.f]Z, no trailing zeros in the fraction
 * (X.690 §11.7). RFC 5280 and RFC 6960 forbid the fraction; RFC 3161 genTime allows it.
 * Fractions finer than milliseconds are truncated in the returned Date.
 */
export function readGeneralizedTime(n: DerNode, what: string, options: { allowFraction?: boolean; implicitTag?: number } = {}): Date {
  if (options.implicitTag === undefined) expectTag(n, 'universal', TAG.GENERALIZED_TIME, false, what);
  else expectTag(n, 'context', options.implicitTag, false, what);
  const m = GEN_RE.exec(n.content.toString('latin1'));
  if (!m) throw new DerError(`${what}: GeneralizedTime not in YYYYMMDDHHMMSS[.f]Z form`);
  if (m[7] && !options.allowFraction) throw new DerError(`${what}: fractional seconds are not allowed here`);
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000 + 1e-9) : 0;
  return makeDate(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms, what);
}

/** X.509 Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }. */
export function readTime(n: DerNode, what: string): Date {
  if (n.tagClass === 'universal' && n.tagNumber === TAG.UTC_TIME) return readUtcTime(n, what);
  return readGeneralizedTime(n, what);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes the string types that appear in names (DirectoryString, IA5String, ...). */
export function readString(n: DerNode, what: string): string {
  if (n.tagClass !== 'universal') throw new DerError(`${what}: expected a string type, got ${describe(n)}`);
  const c = n.content;
  switch (n.tagNumber) {
    case TAG.UTF8_STRING:
      try {
        return UTF8.decode(c);
      } catch {
        throw new DerError(`${what}: invalid UTF-8`);
      }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.VISIBLE_STRING:
    case TAG.NUMERIC_STRING:
      return c.toString('latin1');
    case TAG.TELETEX_STRING:
      // T.61 is rarely used as such; in practice it carries Latin-1.
      return c.toString('latin1');
    case TAG.BMP_STRING: {
      if (c.length % 2 !== 0) throw new DerError(`${what}: odd-length BMPString`);
      const swapped = Buffer.from(c);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case TAG.UNIVERSAL_STRING: {
      if (c.length % 4 !== 0) throw new DerError(`${what}: UniversalString length not a multiple of 4`);
      let s = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = c.readUInt32BE(i);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DerError(`${what}: invalid UniversalString`);
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw new DerError(`${what}: expected a string type, got ${describe(n)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Conversions and writers.

export function oidContentToString(c: Buffer): string {
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of c) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

export function integerBytesToBigInt(c: Buffer): bigint {
  if (c.length === 0) return 0n;
  let v = BigInt(`0x${c.toString('hex')}`);
  if ((c[0]! & 0x80) !== 0) v -= 1n << BigInt(c.length * 8);
  return v;
}

/** Minimal two's-complement contents octets of an integer. */
export function bigIntToIntegerBytes(v: bigint): Buffer {
  if (v === 0n) return Buffer.from([0]);
  if (v > 0n) {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    const b = Buffer.from(hex, 'hex');
    return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  }
  // Negative: find the smallest width that holds it.
  let bytes = 1;
  while (v < -(1n << BigInt(bytes * 8 - 1))) bytes++;
  let u = (1n << BigInt(bytes * 8)) + v;
  const out = Buffer.alloc(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

/**
 * Contents octets of the positive INTEGER whose magnitude is the unsigned big-endian `bytes`
 * (leading zeros removed, a 00 prepended when the top bit is set). Throws on zero.
 */
export function unsignedToPositiveIntegerBytes(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = Buffer.from(bytes.subarray(i));
  if (b.length === 0 || (b.length === 1 && b[0] === 0)) throw new RangeError('zero is not a positive integer');
  return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
}

function encodeLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-octet identifier (tags below 31). */
export function encodeTlv(identifier: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([identifier]), encodeLength(content.length), content]);
}

export function encodeInteger(v: bigint): Buffer {
  return encodeTlv(0x02, bigIntToIntegerBytes(v));
}

/**
 * DER SET OF: the elements sorted as octet strings, the shorter padded with zeros at the end
 * (X.690 §11.6). asn1-schema keeps SET OF elements in the order given, so callers that sign a
 * SET OF (CMS signed attributes) sort with this first.
 */
export function compareDerForSetOf(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/** A copy of the bytes as an ArrayBuffer (what asn1-schema wants), never the whole pool slab. */
export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function toBuffer(ab: ArrayBuffer | Uint8Array): Buffer {
  return ab instanceof Uint8Array ? Buffer.from(ab.buffer, ab.byteOffset, ab.byteLength) : Buffer.from(ab);
}

/** OBJECT IDENTIFIER contents octets. */
export function oidToBytes(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => BigInt(a));
  const out: number[] = [];
  const first = arcs[0]! * 40n + arcs[1]!;
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return Buffer.from(out);
}

export function encodeOid(oid: string): Buffer {
  return encodeTlv(0x06, oidToBytes(oid));
}
