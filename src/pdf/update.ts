/**
 * Writes one incremental update (ISO 32000-1 §7.5.6): changed and new objects, then a
 * cross-reference section of the same kind as the file's newest one (a table after a table or
 * hybrid file, a stream after a stream file, §7.5.8.4), with /Prev pointing at the previous
 * section and /ID[0] kept (§14.4). The original bytes are never touched: the caller appends the
 * returned bytes to them.
 */
import { createHash } from 'node:crypto';
import { malformed } from './errors';
import { PdfDict, PdfRaw, PdfRef, PdfStream, PdfString, name, type PdfObject } from './objects';
import type { PdfDocument } from './reader';
import { serialize } from './serialize';
import type { XrefKind } from './xref';

/** Hands out object numbers after the document's highest one. */
export class ObjectAllocator {
  private nextNum: number;
  constructor(doc: PdfDocument) {
    this.nextNum = Math.max(1, doc.nextObjectNumber);
  }
  alloc(): PdfRef {
    return new PdfRef(this.nextNum++, 0);
  }
  get next(): number {
    return this.nextNum;
  }
}

export interface UpdateObject {
  ref: PdfRef;
  value: PdfObject;
}

export interface IncrementalUpdate {
  /** The bytes to append to the original file. */
  bytes: Buffer;
  /** Offset of each PdfRaw placeholder, counted from the start of the whole output file. */
  raws: Map<PdfRaw, number>;
  /** Length of the whole output file (original + update). */
  totalLength: number;
}

/**
 * Replaces streams nested inside `value` (which must be indirect, §7.3.8) with references to
 * new objects, appended to `out`. Lets callers pass e.g. an image XObject inside /Resources.
 */
export function hoistStreams(value: PdfObject, alloc: ObjectAllocator, out: UpdateObject[], depth = 0): PdfObject {
  if (depth > 64) throw new RangeError('Object nested too deeply');
  if (value instanceof PdfStream) {
    const dict = hoistStreams(value.dict, alloc, out, depth + 1) as PdfDict;
    const ref = alloc.alloc();
    out.push({ ref, value: new PdfStream(dict, value.data) });
    return ref;
  }
  if (Array.isArray(value)) return value.map((v) => hoistStreams(v, alloc, out, depth + 1));
  if (value instanceof PdfDict) {
    const d = new PdfDict();
    for (const [k, v] of value.map) d.set(k, hoistStreams(v, alloc, out, depth + 1));
    return d;
  }
  return value;
}

export function writeIncrementalUpdate(doc: PdfDocument, objects: UpdateObject[], alloc: ObjectAllocator, kind: XrefKind = doc.xrefKind): IncrementalUpdate {
  const base = doc.bytes.length;
  const parts: Buffer[] = [];
  const raws = new Map<PdfRaw, number>();
  let offset = base;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  // An update starts on a new line (§7.5.6); a file ending right after %%EOF gets one.
  const last = doc.bytes[base - 1];
  if (last !== 0x0a && last !== 0x0d) push(Buffer.from('\n', 'latin1'));

  const entries: { num: number; gen: number; offset: number }[] = [];
  const sorted = [...objects].sort((a, b) => a.ref.num - b.ref.num);
  // Two objects with one number would make an ambiguous xref section; only a file whose
  // catalog, form and page share objects could get here.
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.ref.num === sorted[i - 1]!.ref.num) throw malformed(`Object ${sorted[i]!.ref.num} has two roles in the document`);
  }
  for (const { ref, value } of sorted) {
    entries.push({ num: ref.num, gen: ref.gen, offset });
    push(Buffer.from(`${ref.num} ${ref.gen} obj\n`, 'latin1'));
    const s = serialize(value);
    for (const [raw, at] of s.raws) raws.set(raw, offset + at);
    push(s.bytes);
    push(Buffer.from('\nendobj\n', 'latin1'));
  }

  // §14.4: the first identifier stays; the second changes with each revision. Derived from the
  // update's bytes so the output is deterministic (no clock or randomness of our own).
  const id0 = doc.trailer.id?.[0] ?? doc.fallbackId();
  const h = createHash('sha256').update(id0).update(String(doc.startxref));
  for (const p of parts) h.update(p);
  const id1 = h.digest().subarray(0, 16);
  const idArray: PdfObject = [new PdfString(Buffer.from(id0), true), new PdfString(id1, true)];

  const xrefOffset = offset;
  if (kind === 'table') {
    const size = Math.max(alloc.next, doc.nextObjectNumber);
    push(Buffer.from(xrefTable(entries), 'latin1'));
    const trailer = trailerDict(doc, size, idArray);
    push(Buffer.from('trailer\n', 'latin1'));
    push(serialize(trailer).bytes);
    push(Buffer.from('\n', 'latin1'));
  } else {
    const self = alloc.alloc();
    const size = Math.max(alloc.next, doc.nextObjectNumber);
    entries.push({ num: self.num, gen: 0, offset: xrefOffset });
    const stream = xrefStream(doc, entries, size, idArray, xrefOffset);
    push(Buffer.from(`${self.num} 0 obj\n`, 'latin1'));
    push(serialize(stream).bytes);
    push(Buffer.from('\nendobj\n', 'latin1'));
  }
  push(Buffer.from(`startxref\n${xrefOffset}\n%%EOF\n`, 'latin1'));
  return { bytes: Buffer.concat(parts), raws, totalLength: offset };
}

function groups(entries: { num: number; gen: number; offset: number }[]): { first: number; items: typeof entries }[] {
  const out: { first: number; items: typeof entries }[] = [];
  for (const e of [...entries].sort((a, b) => a.num - b.num)) {
    const g = out[out.length - 1];
    if (g && g.first + g.items.length === e.num) g.items.push(e);
    else out.push({ first: e.num, items: [e] });
  }
  return out;
}

/** §7.5.4: 20-byte entries "nnnnnnnnnn ggggg n\r\n". */
function xrefTable(entries: { num: number; gen: number; offset: number }[]): string {
  let s = 'xref\n';
  for (const g of groups(entries)) {
    s += `${g.first} ${g.items.length}\n`;
    for (const e of g.items) s += `${String(e.offset).padStart(10, '0')} ${String(e.gen).padStart(5, '0')} n\r\n`;
  }
  return s;
}

function trailerDict(doc: PdfDocument, size: number, id: PdfObject): PdfDict {
  const t = new PdfDict().set('Size', size).set('Root', doc.trailer.root);
  if (doc.trailer.info) t.set('Info', doc.trailer.info);
  t.set('ID', id);
  t.set('Prev', doc.startxref);
  return t;
}

/** §7.5.8: an uncompressed cross-reference stream with W [1 n 2]. */
function xrefStream(doc: PdfDocument, entries: { num: number; gen: number; offset: number }[], size: number, id: PdfObject, maxOffset: number): PdfStream {
  let w2 = 1;
  while (maxOffset >= 2 ** (8 * w2)) w2++;
  const gs = groups(entries);
  const rowLen = 1 + w2 + 2;
  const data = Buffer.alloc(entries.length * rowLen);
  let p = 0;
  const index: PdfObject[] = [];
  for (const g of gs) {
    index.push(g.first, g.items.length);
    for (const e of g.items) {
      data[p++] = 1;
      for (let i = w2 - 1; i >= 0; i--) data[p++] = Math.floor(e.offset / 2 ** (8 * i)) & 0xff;
      data[p++] = (e.gen >> 8) & 0xff;
      data[p++] = e.gen & 0xff;
    }
  }
  const d = new PdfDict()
    .set('Type', name('XRef'))
    .set('Size', size)
    .set('Index', index)
    .set('W', [1, w2, 2])
    .set('Root', doc.trailer.root);
  if (doc.trailer.info) d.set('Info', doc.trailer.info);
  d.set('ID', id).set('Prev', doc.startxref);
  return new PdfStream(d, data);
}

