/**
 * The cross-reference chain (ISO 32000-1 §7.5.4 tables, §7.5.5 trailer, §7.5.6 incremental
 * updates, §7.5.8 cross-reference streams, §7.5.8.4 hybrid-reference files). Starting at the
 * last `startxref`, sections are read newest first and an entry already seen is never
 * overwritten, so the newest revision of every object wins. /Prev and /XRefStm loops, too many
 * sections and too many objects are refused.
 */
import { decodeStream, type DecodeBudget } from './filters';
import { limitExceeded, malformed } from './errors';
import type { PdfLimits } from './limits';
import { PdfDict, PdfStream, type PdfObject } from './objects';
import { Parser } from './parser';

export type XrefKind = 'table' | 'stream';

export interface XrefEntry {
  /** 0 free, 1 in use at `a` = byte offset with generation `b`, 2 compressed in object stream `a` at index `b`. */
  type: 0 | 1 | 2;
  a: number;
  b: number;
}

/** Entries indexed by object number, in typed arrays (an entry costs 13 bytes, not an object). */
export class XrefTable {
  private types = new Int8Array(0);
  private as = new Float64Array(0);
  private bs = new Int32Array(0);
  private count = 0;

  constructor(private readonly maxObjects: number) {}

  /** One past the highest object number that has an entry. */
  get size(): number {
    return this.count;
  }

  get(num: number): XrefEntry | undefined {
    if (!Number.isInteger(num) || num < 0 || num >= this.count) return undefined;
    const t = this.types[num]!;
    if (t < 0) return undefined;
    return { type: t as 0 | 1 | 2, a: this.as[num]!, b: this.bs[num]! };
  }

  /** Records an entry unless a newer section already did. Type values other than 0–2 are null references (§7.5.8.3). */
  setIfAbsent(num: number, type: number, a: number, b: number): void {
    if (num >= this.maxObjects) throw limitExceeded('object number', this.maxObjects);
    if (num >= this.types.length) this.grow(num + 1);
    if (num >= this.count) this.count = num + 1;
    if (this.types[num]! >= 0 || this.types[num] === -2) return;
    if (type < 0 || type > 2) {
      this.types[num] = -2; // seen, null
      return;
    }
    this.types[num] = type;
    this.as[num] = a;
    this.bs[num] = b;
  }

  private grow(min: number): void {
    const cap = Math.min(this.maxObjects, Math.max(min, this.types.length * 2, 1024));
    const t = new Int8Array(cap).fill(-1);
    t.set(this.types);
    const a = new Float64Array(cap);
    a.set(this.as);
    const b = new Int32Array(cap);
    b.set(this.bs);
    this.types = t;
    this.as = a;
    this.bs = b;
  }
}

export interface XrefSection {
  offset: number;
  kind: XrefKind;
  trailer: PdfDict;
}

export interface XrefChain {
  /** The offset the last `startxref` gives (the /Prev of an update appended to this file). */
  startxref: number;
  /** Sections newest first (the main one of a hybrid file; its /XRefStm is not listed separately). */
  sections: XrefSection[];
  table: XrefTable;
}

/** §7.5.5: the last `startxref` keyword, its offset, and the %%EOF after it. */
export function findStartxref(buf: Buffer): number {
  // §7.5.5 puts it in the last 1024 bytes; 64 KiB tolerates trailing junk without scanning a large file.
  const from = Math.max(0, buf.length - 64 * 1024);
  const rel = buf.subarray(from).lastIndexOf('startxref');
  if (rel < 0) throw malformed('No startxref near the end of the file');
  const at = from + rel;
  const p = new Parser(buf, 1);
  p.pos = at + 'startxref'.length;
  const offset = p.readUint();
  if (buf.indexOf('%%EOF', at) < 0) throw malformed('No %%EOF after startxref', at);
  if (offset <= 0 || offset >= buf.length) throw malformed('startxref offset outside the file', at);
  return offset;
}

export function readXrefChain(buf: Buffer, limits: PdfLimits, budget: DecodeBudget): XrefChain {
  const startxref = findStartxref(buf);
  const table = new XrefTable(limits.maxObjects);
  const sections: XrefSection[] = [];
  const visited = new Set<number>();
  let offset: number | undefined = startxref;
  while (offset !== undefined) {
    if (visited.has(offset)) throw malformed('Cross-reference /Prev loop', offset);
    visited.add(offset);
    if (visited.size > limits.maxXrefSections) throw limitExceeded('cross-reference sections', limits.maxXrefSections);
    const pending: number[] = [];
    const section = readSection(buf, offset, table, limits, budget, pending);
    if (section.kind === 'table') {
      // §7.5.8.4: a hybrid file's /XRefStm entries come after the table's, before /Prev's.
      // The table lists compressed objects as free for readers without xref-stream support,
      // so its free entries are applied after the stream's, or they would hide those objects.
      const stm = section.trailer.get('XRefStm');
      const hybrid = stm !== undefined;
      for (let i = 0; i < pending.length; i += 4) {
        if (!hybrid || pending[i + 1] !== 0) table.setIfAbsent(pending[i]!, pending[i + 1]!, pending[i + 2]!, pending[i + 3]!);
      }
      if (hybrid) {
        const o = checkOffset(stm, buf, 'XRefStm');
        if (!visited.has(o)) {
          visited.add(o);
          const s = readSection(buf, o, table, limits, budget, []);
          if (s.kind !== 'stream') throw malformed('/XRefStm does not point at a cross-reference stream', o);
        }
        for (let i = 0; i < pending.length; i += 4) {
          if (pending[i + 1] === 0) table.setIfAbsent(pending[i]!, 0, pending[i + 2]!, pending[i + 3]!);
        }
      }
    }
    sections.push(section);
    const prev = section.trailer.get('Prev');
    offset = prev === undefined ? undefined : checkOffset(prev, buf, 'Prev');
  }
  return { startxref, sections, table };
}

function checkOffset(v: PdfObject, buf: Buffer, key: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= buf.length) throw malformed(`Trailer /${key} is not an offset inside the file`);
  return v;
}

/** A table's entries go to `pending` (num, type, a, b) for the caller to apply; a stream's go straight into `table`. */
function readSection(buf: Buffer, offset: number, table: XrefTable, limits: PdfLimits, budget: DecodeBudget, pending: number[]): XrefSection {
  const p = new Parser(buf, limits.maxDepth);
  p.pos = offset;
  p.skipWs();
  if (buf.toString('latin1', p.pos, p.pos + 4) === 'xref') return readTable(p, offset, pending, limits);
  return readStream(p, offset, table, limits, budget);
}

/** §7.5.4: `xref`, subsections `first count` of 20-byte entries, then `trailer << … >>`. */
function readTable(p: Parser, offset: number, pending: number[], limits: PdfLimits): XrefSection {
  p.expectKeyword('xref');
  for (;;) {
    p.skipWs();
    const at = p.pos;
    if (p.atEnd()) throw malformed('Cross-reference table without a trailer', at);
    if (p.buf.toString('latin1', at, at + 7) === 'trailer') break;
    const first = p.readUint();
    const count = p.readUint();
    if (first + count > limits.maxObjects) throw limitExceeded('object number', limits.maxObjects);
    // Each entry takes at least 18 bytes: a count the rest of the file cannot hold is malformed.
    if (count * 18 > p.buf.length - p.pos) throw malformed('Cross-reference subsection runs past the end of the file', at);
    for (let i = 0; i < count; i++) {
      const a = p.readUint();
      const b = p.readUint();
      const entryAt = p.pos;
      const kind = p.readKeyword();
      if (kind !== 'n' && kind !== 'f') throw malformed('Cross-reference entry type is not n or f', entryAt);
      if (b > 65535) throw malformed('Generation number out of range', entryAt);
      pending.push(first + i, kind === 'n' ? 1 : 0, a, b);
    }
  }
  p.expectKeyword('trailer');
  const trailer = p.parseObject();
  if (!(trailer instanceof PdfDict)) throw malformed('Trailer is not a dictionary', offset);
  return { offset, kind: 'table', trailer };
}

function int(v: PdfObject | undefined, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw malformed(`Cross-reference stream ${what} out of range`);
  return v;
}

/** §7.5.8: a stream object with /Type /XRef, /W, /Size, optional /Index and /Prev. */
function readStream(p: Parser, offset: number, table: XrefTable, limits: PdfLimits, budget: DecodeBudget): XrefSection {
  const obj = p.parseIndirectObject(offset, () => {
    // §7.5.8.2: entries of a cross-reference stream dictionary are direct objects.
    throw malformed('Cross-reference stream /Length is indirect', offset);
  });
  const stream = obj.value;
  if (!(stream instanceof PdfStream) || stream.dict.nameOf('Type') !== 'XRef') throw malformed('startxref/Prev does not point at a cross-reference table or stream', offset);
  const d = stream.dict;
  const w = d.get('W');
  if (!Array.isArray(w) || w.length !== 3) throw malformed('Cross-reference stream /W is not an array of 3 integers', offset);
  const ws = w.map((x, i) => int(x, `/W[${i}]`, 0, i === 0 ? 4 : 7));
  const size = int(d.get('Size'), '/Size', 0, limits.maxObjects);
  const index = d.get('Index') ?? [0, size];
  if (!Array.isArray(index) || index.length % 2 !== 0) throw malformed('Cross-reference stream /Index malformed', offset);
  const data = decodeStream(stream, budget);
  const rowLen = ws[0]! + ws[1]! + ws[2]!;
  if (rowLen === 0) throw malformed('Cross-reference stream /W is all zero', offset);
  let pos = 0;
  const field = (width: number): number => {
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + data[pos++]!;
    return v;
  };
  for (let i = 0; i < index.length; i += 2) {
    const first = int(index[i], '/Index', 0, limits.maxObjects);
    const count = int(index[i + 1], '/Index', 0, limits.maxObjects);
    if (first + count > limits.maxObjects) throw limitExceeded('object number', limits.maxObjects);
    if (pos + count * rowLen > data.length) throw malformed('Cross-reference stream data is shorter than /Index says', offset);
    for (let j = 0; j < count; j++) {
      const type = ws[0] === 0 ? 1 : field(ws[0]!);
      const a = field(ws[1]!);
      // §7.5.8.3: a missing third field defaults to 0 (generation, or index in the object stream).
      const b = field(ws[2]!);
      if (type === 1 && b > 65535) throw malformed('Generation number out of range', offset);
      table.setIfAbsent(first + j, type, a, b > 0x7fffffff ? 0x7fffffff : b);
    }
  }
  return { offset, kind: 'stream', trailer: d };
}
