/**
 * The lexer and object parser (ISO 32000-1 §7.2 lexical conventions, §7.3 objects). Strict:
 * anything outside the grammar is a PDF_MALFORMED error carrying the byte offset, nesting is
 * bounded by `maxDepth`, and every loop advances through a finite buffer.
 */
import { limitExceeded, malformed } from './errors';
import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, type PdfObject } from './objects';

// §7.2.2: white-space characters and delimiters.
const WS = new Uint8Array(256);
for (const c of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) WS[c] = 1;
const DELIM = new Uint8Array(256);
for (const c of '()<>[]{}/%') DELIM[c.charCodeAt(0)] = 1;

export const isWhite = (c: number | undefined): boolean => c !== undefined && WS[c] === 1;
export const isDelimiter = (c: number | undefined): boolean => c !== undefined && DELIM[c] === 1;
/** A regular character (§7.2.2): neither white space nor delimiter. */
export const isRegular = (c: number | undefined): boolean => c !== undefined && WS[c] !== 1 && DELIM[c] !== 1;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/** Resolves a stream's indirect /Length (§7.3.8.2); the reader supplies it. */
export type LengthResolver = (ref: PdfRef) => PdfObject;

export interface IndirectObject {
  num: number;
  gen: number;
  value: PdfObject;
  /** Offset just past the object (after `endobj` if present, else after the value). */
  end: number;
}

/** Sentinel for `]` and `>>` while parsing containers. */
const CLOSE_ARRAY = Symbol('close-array');
const CLOSE_DICT = Symbol('close-dict');
type Parsed = PdfObject | typeof CLOSE_ARRAY | typeof CLOSE_DICT;

export class Parser {
  pos = 0;

  constructor(
    readonly buf: Buffer,
    private readonly maxDepth: number,
  ) {}

  /** Skips white space and comments (§7.2.3). */
  skipWs(): void {
    const b = this.buf;
    let p = this.pos;
    for (;;) {
      while (p < b.length && WS[b[p]!] === 1) p++;
      if (p < b.length && b[p] === 0x25 /* % */) {
        while (p < b.length && b[p] !== 0x0a && b[p] !== 0x0d) p++;
        continue;
      }
      break;
    }
    this.pos = p;
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Reads a keyword (a run of regular characters) without interpreting it. */
  readKeyword(): string {
    this.skipWs();
    const start = this.pos;
    while (this.pos < this.buf.length && isRegular(this.buf[this.pos])) this.pos++;
    return this.buf.toString('latin1', start, this.pos);
  }

  expectKeyword(kw: string): void {
    const at = this.pos;
    const got = this.readKeyword();
    if (got !== kw) throw malformed(`Expected "${kw}"`, at);
  }

  /** Reads a non-negative integer token (used by xref tables and object headers). */
  readUint(): number {
    this.skipWs();
    const b = this.buf;
    const start = this.pos;
    let v = 0;
    while (this.pos < b.length && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x39) {
      v = v * 10 + (b[this.pos]! - 0x30);
      this.pos++;
      if (this.pos - start > 15) throw malformed('Integer too long', start);
    }
    if (this.pos === start || isRegular(b[this.pos])) throw malformed('Expected an unsigned integer', start);
    return v;
  }

  /** Parses one object at the current position. */
  parseObject(): PdfObject {
    const v = this.parse(0);
    if (v === CLOSE_ARRAY || v === CLOSE_DICT) throw malformed('Unexpected closing delimiter', this.pos - 1);
    return v;
  }

  private parse(depth: number): Parsed {
    this.skipWs();
    const b = this.buf;
    const start = this.pos;
    if (start >= b.length) throw malformed('Unexpected end of data', start);
    const c = b[start]!;
    switch (c) {
      case 0x2f: // '/'
        return this.parseName();
      case 0x28: // '('
        return this.parseLiteralString();
      case 0x3c: // '<'
        if (b[start + 1] === 0x3c) return this.parseDict(depth + 1);
        return this.parseHexString();
      case 0x3e: // '>'
        if (b[start + 1] === 0x3e) {
          this.pos += 2;
          return CLOSE_DICT;
        }
        throw malformed('Unexpected ">"', start);
      case 0x5b: // '['
        return this.parseArray(depth + 1);
      case 0x5d: // ']'
        this.pos++;
        return CLOSE_ARRAY;
      default:
        break;
    }
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) return this.parseNumberOrRef();
    if (isRegular(c)) {
      const kw = this.readKeyword();
      if (kw === 'true') return true;
      if (kw === 'false') return false;
      if (kw === 'null') return null;
      throw malformed(`Unexpected keyword "${kw.slice(0, 20)}"`, start);
    }
    throw malformed(`Unexpected character 0x${c.toString(16)}`, start);
  }

  private checkDepth(depth: number): void {
    if (depth > this.maxDepth) throw limitExceeded('nesting depth', this.maxDepth);
  }

  private parseArray(depth: number): PdfObject[] {
    this.checkDepth(depth);
    this.pos++; // '['
    const out: PdfObject[] = [];
    for (;;) {
      const v = this.parse(depth);
      if (v === CLOSE_ARRAY) return out;
      if (v === CLOSE_DICT) throw malformed('">>" inside an array', this.pos - 2);
      out.push(v);
    }
  }

  private parseDict(depth: number): PdfDict {
    this.checkDepth(depth);
    this.pos += 2; // '<<'
    const dict = new PdfDict();
    for (;;) {
      this.skipWs();
      const keyAt = this.pos;
      const k = this.parse(depth);
      if (k === CLOSE_DICT) return dict;
      if (!(k instanceof PdfName)) throw malformed('Dictionary key is not a name', keyAt);
      const v = this.parse(depth);
      if (v === CLOSE_DICT || v === CLOSE_ARRAY) throw malformed('Dictionary key without a value', keyAt);
      // §7.3.7: a null value is the same as an absent entry. Duplicate keys are undefined
      // behaviour; the first one wins, as in most readers.
      if (v !== null && !dict.has(k.name)) dict.set(k.name, v);
    }
  }

  private parseName(): PdfName {
    const b = this.buf;
    const start = this.pos;
    this.pos++; // '/'
    const bytes: number[] = [];
    while (this.pos < b.length && isRegular(b[this.pos])) {
      const ch = b[this.pos]!;
      if (ch === 0x23 /* # */) {
        const h = HEX[b[this.pos + 1] ?? 0]!;
        const l = HEX[b[this.pos + 2] ?? 0]!;
        if (h < 0 || l < 0) throw malformed('Bad #xx escape in a name', this.pos);
        bytes.push(h * 16 + l);
        this.pos += 3;
      } else {
        bytes.push(ch);
        this.pos++;
      }
      if (bytes.length > 32767) throw malformed('Name too long', start);
    }
    return new PdfName(Buffer.from(bytes).toString('latin1'));
  }

  /** §7.3.4.2: balanced parentheses, backslash escapes, EOL normalisation. */
  private parseLiteralString(): PdfString {
    const b = this.buf;
    const start = this.pos;
    this.pos++; // '('
    const out: number[] = [];
    let nest = 1;
    for (;;) {
      if (this.pos >= b.length) throw malformed('Unterminated string', start);
      const ch = b[this.pos++]!;
      if (ch === 0x5c /* \ */) {
        if (this.pos >= b.length) throw malformed('Unterminated string', start);
        const e = b[this.pos++]!;
        switch (e) {
          case 0x6e: out.push(0x0a); break; // n
          case 0x72: out.push(0x0d); break; // r
          case 0x74: out.push(0x09); break; // t
          case 0x62: out.push(0x08); break; // b
          case 0x66: out.push(0x0c); break; // f
          case 0x0d: // backslash-EOL: line continuation
            if (b[this.pos] === 0x0a) this.pos++;
            break;
          case 0x0a:
            break;
          default:
            if (e >= 0x30 && e <= 0x37) {
              let v = e - 0x30;
              for (let i = 0; i < 2 && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x37; i++) v = v * 8 + (b[this.pos++]! - 0x30);
              out.push(v & 0xff);
            } else {
              out.push(e); // \( \) \\ and unknown escapes: the character itself
            }
        }
      } else if (ch === 0x28) {
        nest++;
        out.push(ch);
      } else if (ch === 0x29) {
        if (--nest === 0) break;
        out.push(ch);
      } else if (ch === 0x0d) {
        if (b[this.pos] === 0x0a) this.pos++;
        out.push(0x0a);
      } else {
        out.push(ch);
      }
    }
    return new PdfString(Buffer.from(out), false);
  }

  private parseHexString(): PdfString {
    const b = this.buf;
    const start = this.pos;
    this.pos++; // '<'
    const end = b.indexOf(0x3e, this.pos);
    if (end < 0) throw malformed('Unterminated hex string', start);
    const out = Buffer.alloc((end - this.pos + 1) >> 1);
    let n = 0;
    let hi = -1;
    for (let p = this.pos; p < end; p++) {
      const ch = b[p]!;
      if (WS[ch] === 1) continue;
      const v = HEX[ch]!;
      if (v < 0) throw malformed('Non-hex character in a hex string', p);
      if (hi < 0) hi = v;
      else {
        out[n++] = hi * 16 + v;
        hi = -1;
      }
    }
    if (hi >= 0) out[n++] = hi * 16; // §7.3.4.3: a missing final digit is 0
    this.pos = end + 1;
    return new PdfString(out.subarray(0, n), true);
  }

  private parseNumberToken(): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2b || b[p] === 0x2d) p++;
    let digits = 0;
    let dot = false;
    while (p < b.length) {
      const ch = b[p]!;
      if (ch >= 0x30 && ch <= 0x39) digits++;
      else if (ch === 0x2e && !dot) dot = true;
      else break;
      p++;
    }
    if (digits === 0 || isRegular(b[p])) throw malformed('Malformed number', start);
    if (p - start > 64) throw malformed('Number too long', start);
    const v = Number(b.toString('latin1', start, p));
    if (!Number.isFinite(v) || (!dot && !Number.isSafeInteger(v))) throw malformed('Number out of range', start);
    this.pos = p;
    return v;
  }

  /** A number, or `num gen R` (§7.3.10) when two unsigned integers are followed by R. */
  private parseNumberOrRef(): PdfObject {
    const b = this.buf;
    const start = this.pos;
    const v = this.parseNumberToken();
    const isUint = (from: number, to: number) => {
      for (let i = from; i < to; i++) if (b[i]! < 0x30 || b[i]! > 0x39) return false;
      return to > from;
    };
    if (!isUint(start, this.pos)) return v;
    const save = this.pos;
    this.skipWs();
    const genStart = this.pos;
    let p = genStart;
    while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    // Not a generation number if empty, too long, or followed by a regular character ("0.5").
    if (p === genStart || p - genStart > 5 || isRegular(b[p])) {
      this.pos = save;
      return v;
    }
    const gen = Number(b.toString('latin1', genStart, p));
    this.pos = p;
    this.skipWs();
    if (b[this.pos] === 0x52 /* R */ && !isRegular(b[this.pos + 1])) {
      this.pos++;
      if (gen > 65535) throw malformed('Generation number out of range', genStart);
      return new PdfRef(v, gen);
    }
    this.pos = save;
    return v;
  }

  /**
   * Parses `num gen obj … endobj` at `offset` (§7.3.10), including a stream body (§7.3.8).
   * The stream's /Length may be indirect: `resolveLength` fetches it.
   */
  parseIndirectObject(offset: number, resolveLength: LengthResolver | null): IndirectObject {
    this.pos = offset;
    const num = this.readUint();
    const gen = this.readUint();
    this.expectKeyword('obj');
    const value = this.parseObject();
    const afterValue = this.pos;
    this.skipWs();
    const kwAt = this.pos;
    const kw = this.readKeyword();
    if (kw === 'endobj') return { num, gen, value, end: this.pos };
    if (kw === 'stream') {
      if (!(value instanceof PdfDict)) throw malformed('"stream" after a non-dictionary', kwAt);
      if (resolveLength === null) throw malformed('Stream where none is allowed', kwAt);
      // §7.3.8.1: "stream" is followed by CRLF or LF (a lone CR is tolerated).
      if (this.buf[this.pos] === 0x0d) this.pos++;
      if (this.buf[this.pos] === 0x0a) this.pos++;
      const dataStart = this.pos;
      let len = value.get('Length');
      if (len instanceof PdfRef) len = resolveLength(len);
      if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0) throw malformed('Stream /Length is not a non-negative integer', kwAt);
      if (dataStart + len > this.buf.length) throw malformed('Stream runs past the end of the file', dataStart);
      this.pos = dataStart + len;
      this.skipWs();
      const endAt = this.pos;
      if (this.readKeyword() !== 'endstream') throw malformed('Stream /Length does not end at "endstream"', endAt);
      const afterStream = this.pos;
      // endobj is required by the grammar; tolerate its absence as most readers do.
      const end = this.readKeyword() === 'endobj' ? this.pos : afterStream;
      return { num, gen, value: new PdfStream(value, this.buf.subarray(dataStart, dataStart + len)), end };
    }
    if (kw.startsWith('stream')) throw malformed('"stream" not followed by an end-of-line', kwAt);
    // Missing endobj: tolerated (common in the wild); the value itself parsed cleanly.
    return { num, gen, value, end: afterValue };
  }
}
