/**
 * The small PDF object model (ISO 32000-1 §7.3): null, boolean, number, name, string, array,
 * dictionary, indirect reference and stream. Numbers are JS numbers (the reader refuses values
 * that are not safe integers or finite reals). Names hold their decoded bytes as a latin1 string
 * (`#xx` escapes resolved, §7.3.5); strings hold their decoded bytes.
 *
 * A stream read from a file keeps `data` as a view of the file's (still encoded) bytes: nothing
 * is copied or decoded until a caller asks for it.
 */

export type PdfObject = null | boolean | number | PdfName | PdfString | PdfObject[] | PdfDict | PdfRef | PdfStream | PdfRaw;

export class PdfName {
  constructor(readonly name: string) {}
  is(name: string): boolean {
    return this.name === name;
  }
}

export class PdfString {
  /** `hex` records how the string was (or should be) written; the value is `bytes` either way. */
  constructor(
    readonly bytes: Buffer,
    readonly hex = false,
  ) {}
  /** The bytes as latin1 text (for ASCII keys and dates); use decodeTextString for text strings. */
  get latin1(): string {
    return this.bytes.toString('latin1');
  }
}

export class PdfRef {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}
  get key(): string {
    return `${this.num} ${this.gen}`;
  }
  equals(other: PdfRef): boolean {
    return this.num === other.num && this.gen === other.gen;
  }
}

export class PdfDict {
  readonly map: Map<string, PdfObject>;
  constructor(entries?: Iterable<readonly [string, PdfObject]> | Record<string, PdfObject>) {
    if (entries === undefined) this.map = new Map();
    else if (Symbol.iterator in Object(entries)) this.map = new Map(entries as Iterable<[string, PdfObject]>);
    else this.map = new Map(Object.entries(entries as Record<string, PdfObject>));
  }
  get(key: string): PdfObject | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  set(key: string, value: PdfObject): this {
    this.map.set(key, value);
    return this;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  /** A shallow copy: the update writer edits copies, never the objects the reader cached. */
  clone(): PdfDict {
    return new PdfDict(this.map);
  }
  /** The /Type (or another name-valued key) as a string, or undefined. */
  nameOf(key: string): string | undefined {
    const v = this.map.get(key);
    return v instanceof PdfName ? v.name : undefined;
  }
}

export class PdfStream {
  constructor(
    readonly dict: PdfDict,
    /** The encoded bytes between `stream` EOL and `endstream` (a view for streams read from a file). */
    readonly data: Buffer,
  ) {}
}

/**
 * Bytes written verbatim by the serializer. Only the writer uses it, for the fixed-width
 * placeholders (/ByteRange, /Contents) it patches later; the reader never produces one.
 */
export class PdfRaw {
  constructor(readonly bytes: Buffer) {}
}

export const name = (n: string): PdfName => new PdfName(n);
export const ref = (num: number, gen = 0): PdfRef => new PdfRef(num, gen);

/** A PDF text string (§7.9.2.2): PDFDocEncoding when plain printable ASCII, else UTF-16BE with BOM. */
export function textString(text: string): PdfString {
  if (/^[\x20-\x7e]*$/.test(text)) return new PdfString(Buffer.from(text, 'latin1'));
  const utf16le = Buffer.from(text, 'utf16le');
  const be = Buffer.alloc(utf16le.length + 2);
  be[0] = 0xfe;
  be[1] = 0xff;
  for (let i = 0; i < utf16le.length; i += 2) {
    be[i + 2] = utf16le[i + 1]!;
    be[i + 3] = utf16le[i]!;
  }
  return new PdfString(be, true);
}

/** Decodes a text string: UTF-16BE (BOM FE FF), UTF-8 (BOM EF BB BF, PDF 2.0) or PDFDocEncoding (read as latin1). */
export function decodeTextString(s: PdfString): string {
  const b = s.bytes;
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const swapped = Buffer.alloc((b.length - 2) & ~1);
    for (let i = 0; i < swapped.length; i += 2) {
      swapped[i] = b[i + 3]!;
      swapped[i + 1] = b[i + 2]!;
    }
    return swapped.toString('utf16le');
  }
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  return b.toString('latin1');
}

export function isDict(o: PdfObject | undefined): o is PdfDict {
  return o instanceof PdfDict;
}

export function isArray(o: PdfObject | undefined): o is PdfObject[] {
  return Array.isArray(o);
}

/** A PDF date (§7.9.4) in UTC: D:YYYYMMDDHHmmSS+00'00'. */
export function pdfDate(d: Date): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError('pdfDate needs a valid Date');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `D:${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+00'00'`
  );
}
