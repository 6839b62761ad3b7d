/**
 * Writes objects of the model (ISO 32000-1 §7.3). Output is ASCII apart from the bytes of
 * literal strings and stream data. The serializer reports where each PdfRaw landed, so the
 * signature writer can patch its fixed-width placeholders without searching the output.
 */
import { PdfDict, PdfName, PdfRaw, PdfRef, PdfStream, PdfString, type PdfObject } from './objects';
import { isDelimiter } from './parser';

export interface Serialized {
  bytes: Buffer;
  /** Offset of each PdfRaw inside `bytes`. */
  raws: Map<PdfRaw, number>;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError('PDF numbers must be finite');
  if (Object.is(n, -0)) return '0';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  let s = String(n);
  // §7.3.3: no exponent notation in PDF.
  if (s.includes('e')) s = n.toFixed(10).replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

export function formatName(n: string): string {
  let out = '/';
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i) & 0xff;
    if (c < 0x21 || c > 0x7e || c === 0x23 || isDelimiter(c)) out += '#' + c.toString(16).padStart(2, '0').toUpperCase();
    else out += String.fromCharCode(c);
  }
  return out;
}

function formatString(s: PdfString): string {
  if (s.hex) return '<' + s.bytes.toString('hex').toUpperCase() + '>';
  let out = '(';
  for (const c of s.bytes) {
    if (c === 0x28 || c === 0x29 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else out += String.fromCharCode(c);
  }
  return out + ')';
}

class Writer {
  private parts: Buffer[] = [];
  private pending = '';
  private length = 0;
  readonly raws = new Map<PdfRaw, number>();

  text(s: string): void {
    this.pending += s;
  }
  bytes(b: Buffer): void {
    this.flush();
    this.parts.push(b);
    this.length += b.length;
  }
  get offset(): number {
    return this.length + this.pending.length;
  }
  private flush(): void {
    if (this.pending) {
      const b = Buffer.from(this.pending, 'latin1');
      this.parts.push(b);
      this.length += b.length;
      this.pending = '';
    }
  }
  done(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }
}

function write(w: Writer, o: PdfObject, depth: number): void {
  if (depth > 256) throw new RangeError('Object nested too deeply to serialize');
  if (o === null) w.text('null');
  else if (typeof o === 'boolean') w.text(o ? 'true' : 'false');
  else if (typeof o === 'number') w.text(formatNumber(o));
  else if (o instanceof PdfName) w.text(formatName(o.name));
  else if (o instanceof PdfString) w.text(formatString(o));
  else if (o instanceof PdfRef) w.text(`${o.num} ${o.gen} R`);
  else if (o instanceof PdfRaw) {
    w.raws.set(o, w.offset);
    w.bytes(o.bytes);
  } else if (Array.isArray(o)) {
    w.text('[');
    o.forEach((v, i) => {
      if (i > 0) w.text(' ');
      write(w, v, depth + 1);
    });
    w.text(']');
  } else if (o instanceof PdfDict) {
    w.text('<<');
    for (const [k, v] of o.map) {
      w.text(formatName(k) + ' ');
      write(w, v, depth + 1);
      w.text('\n');
    }
    w.text('>>');
  } else if (o instanceof PdfStream) {
    const d = o.dict.clone().set('Length', o.data.length);
    write(w, d, depth + 1);
    w.text('\nstream\n');
    w.bytes(o.data);
    w.text('\nendstream');
  } else {
    throw new TypeError('Not a PDF object');
  }
}

export function serialize(o: PdfObject): Serialized {
  const w = new Writer();
  write(w, o, 0);
  return { bytes: w.done(), raws: w.raws };
}
