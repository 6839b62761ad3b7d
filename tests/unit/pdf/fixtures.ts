/**
 * Hand-written PDFs built at test time, so every structural variant the reader must handle is
 * made by code we can read: classic xref tables, cross-reference streams (Flate + PNG Up
 * predictor), object streams, hybrid-reference files (/XRefStm), incremental updates (/Prev),
 * inherited page attributes, AcroForm fields. qpdf-made variants (linearised, encrypted) are
 * produced by the tests that need them.
 */
import { deflateSync } from 'node:zlib';

export interface FixtureOptions {
  pages?: number;
  /** Page size, inherited from the Pages root (ISO 32000-1 §7.7.3.4). */
  mediaBox?: [number, number, number, number];
  /** Put a CropBox and /Rotate on page 2 (if any). */
  page2Attrs?: boolean;
  /** 'table' (default), 'stream' (xref stream; Info and fonts in an object stream) or 'hybrid'. */
  xref?: 'table' | 'stream' | 'hybrid';
  /** Add an AcroForm with one text field named "name". */
  textField?: boolean;
  /** Page 1's /Annots as an indirect array holding a link annotation. */
  indirectAnnots?: boolean;
  /** Omit the trailer /ID. */
  noId?: boolean;
  /** Extra trailer text (e.g. "/Encrypt 99 0 R"). */
  extraTrailer?: string;
  /** Header version, default 1.4. */
  version?: string;
  /** Hybrid layout: list the compressed objects in the table as free entries. */
  hybridFreeEntries?: boolean;
  /** Bytes of incompressible filler in page 1's content stream (for size tests). */
  padding?: number;
}

interface Obj {
  num: number;
  body: Buffer;
  /** Put in the object stream (stream/hybrid layouts). */
  compressible?: boolean;
}

const b = (s: string) => Buffer.from(s, 'latin1');

function stream(dict: string, data: Buffer): Buffer {
  return Buffer.concat([b(`<< ${dict} /Length ${data.length} >>\nstream\n`), data, b('\nendstream')]);
}

/** A page content stream: a grey box and a line of Helvetica text. */
function content(i: number, padding = 0): Buffer {
  const text = b(`0.8 g 72 600 200 100 re f 0 g BT /F1 24 Tf 72 720 Td (Page ${i}) Tj ET\n`);
  if (!padding) return text;
  // A comment line of pseudo-random (incompressible, deterministic) bytes without EOLs.
  const filler = Buffer.alloc(padding);
  let x = 12345;
  for (let k = 0; k < padding; k++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const c = 0x21 + (x >> 16) % 90;
    filler[k] = c;
  }
  return Buffer.concat([text, b('%'), filler, b('\n')]);
}

export function buildPdf(opts: FixtureOptions = {}): Buffer {
  const pages = opts.pages ?? 1;
  const mb = opts.mediaBox ?? [0, 0, 595, 842];
  const layout = opts.xref ?? 'table';
  const objs: Obj[] = [];
  // 1 catalog, 2 pages root, 3 info, 4 font, 5.. pages and contents, then form objects.
  let next = 5;
  const pageNums: number[] = [];
  const pageObjs: Obj[] = [];
  let annotsNum = 0;
  let linkNum = 0;
  let fieldNum = 0;
  for (let i = 1; i <= pages; i++) {
    const pageNum = next++;
    const contentNum = next++;
    pageNums.push(pageNum);
    let extra = '';
    if (opts.page2Attrs && i === 2) extra += ` /CropBox [10 10 ${mb[2] - 10} ${mb[3] - 10}] /Rotate 90`;
    if (i === 1 && opts.indirectAnnots) {
      annotsNum = next++;
      linkNum = next++;
      extra += ` /Annots ${annotsNum} 0 R`;
    }
    pageObjs.push({ num: pageNum, body: b(`<< /Type /Page /Parent 2 0 R /Contents ${contentNum} 0 R${extra} >>`) });
    objs.push({ num: contentNum, body: stream('', content(i, i === 1 ? opts.padding : 0)) });
  }
  objs.push(...pageObjs);
  if (annotsNum) {
    objs.push({ num: annotsNum, body: b(`[${linkNum} 0 R]`), compressible: true });
    objs.push({ num: linkNum, body: b(`<< /Type /Annot /Subtype /Link /Rect [72 72 144 96] /Border [0 0 1] /A << /S /URI /URI (https://example.invalid/) >> >>`), compressible: true });
  }
  let acro = '';
  if (opts.textField) {
    fieldNum = next++;
    acro = ` /AcroForm << /Fields [${fieldNum} 0 R] /DA (/Helv 0 Tf 0 g) >>`;
    objs.push({
      num: fieldNum,
      body: b(`<< /FT /Tx /T (name) /V (Alice) /Type /Annot /Subtype /Widget /Rect [72 500 272 520] /P ${pageNums[0]} 0 R >>`),
      compressible: true,
    });
  }
  objs.push({ num: 1, body: b(`<< /Type /Catalog /Pages 2 0 R${acro} >>`) });
  objs.push({
    num: 2,
    body: b(`<< /Type /Pages /Kids [${pageNums.map((n) => `${n} 0 R`).join(' ')}] /Count ${pages} /MediaBox [${mb.join(' ')}] /Resources << /Font << /F1 4 0 R >> >> >>`),
  });
  objs.push({ num: 3, body: b('<< /Producer (eseal test fixture) /Title (Fixture) >>'), compressible: true });
  objs.push({ num: 4, body: b('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'), compressible: true });
  objs.sort((x, y) => x.num - y.num);
  if (opts.textField && fieldNum) {
    // Page 1 lists the text field's widget in its /Annots (the same object: merged field/widget).
    const p1 = objs.find((o) => o.num === pageNums[0])!;
    if (!opts.indirectAnnots) p1.body = b(p1.body.toString('latin1').replace(' >>', ` /Annots [${fieldNum} 0 R] >>`));
  }
  return layout === 'table' ? writeClassic(objs, next, opts) : writeWithStreams(objs, next, opts, layout);
}

const ID = '<0123456789ABCDEF0123456789ABCDEF>';

function header(opts: FixtureOptions): Buffer {
  return b(`%PDF-${opts.version ?? '1.4'}\n%\xe2\xe3\xcf\xd3\n`);
}

function trailerExtras(opts: FixtureOptions): string {
  return `${opts.noId ? '' : ` /ID [${ID} ${ID}]`}${opts.extraTrailer ? ' ' + opts.extraTrailer : ''}`;
}

function writeClassic(objs: Obj[], size: number, opts: FixtureOptions): Buffer {
  const parts: Buffer[] = [header(opts)];
  let off = parts[0]!.length;
  const offsets = new Map<number, number>();
  for (const o of objs) {
    offsets.set(o.num, off);
    const chunk = Buffer.concat([b(`${o.num} 0 obj\n`), o.body, b('\nendobj\n')]);
    parts.push(chunk);
    off += chunk.length;
  }
  let xref = `xref\n0 ${size}\n0000000000 65535 f\r\n`;
  for (let n = 1; n < size; n++) {
    const o = offsets.get(n);
    xref += o === undefined ? '0000000000 00001 f\r\n' : `${String(o).padStart(10, '0')} 00000 n\r\n`;
  }
  parts.push(b(`${xref}trailer\n<< /Size ${size} /Root 1 0 R /Info 3 0 R${trailerExtras(opts)} >>\nstartxref\n${off}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/** PNG "Up" predictor rows (RFC 2083 filter type 2), as Predictor 12 expects. */
function pngUp(rows: Buffer[], width: number): Buffer {
  const out: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(width);
  for (const r of rows) {
    const line = Buffer.alloc(width + 1);
    line[0] = 2;
    for (let i = 0; i < width; i++) line[i + 1] = (r[i]! - prev[i]!) & 0xff;
    out.push(line);
    prev = r;
  }
  return Buffer.concat(out);
}

function writeWithStreams(objs: Obj[], size: number, opts: FixtureOptions, layout: 'stream' | 'hybrid'): Buffer {
  const objStmNum = size;
  const xrefNum = size + 1;
  const total = size + 2;
  const compressed = objs.filter((o) => o.compressible);
  const plain = objs.filter((o) => !o.compressible);
  // §7.5.7: "num offset" pairs, then the objects from /First.
  let headerText = '';
  let bodyText = Buffer.alloc(0);
  const index = new Map<number, number>();
  compressed.forEach((o, i) => {
    headerText += `${o.num} ${bodyText.length} `;
    index.set(o.num, i);
    bodyText = Buffer.concat([bodyText, o.body, b('\n')]);
  });
  const objStmData = deflateSync(Buffer.concat([b(headerText), bodyText]));
  const objStm = stream(`/Type /ObjStm /N ${compressed.length} /First ${Buffer.byteLength(headerText)} /Filter /FlateDecode`, objStmData);

  const parts: Buffer[] = [header(opts)];
  let off = parts[0]!.length;
  const offsets = new Map<number, number>();
  const emit = (num: number, body: Buffer) => {
    offsets.set(num, off);
    const chunk = Buffer.concat([b(`${num} 0 obj\n`), body, b('\nendobj\n')]);
    parts.push(chunk);
    off += chunk.length;
  };
  for (const o of plain) emit(o.num, o.body);
  emit(objStmNum, objStm);

  // Rows of W [1 4 2] (type, offset/stream number, generation/index).
  const row = (type: number, a: number, c: number) => {
    const r = Buffer.alloc(7);
    r[0] = type;
    r.writeUInt32BE(a, 1);
    r.writeUInt16BE(c, 5);
    return r;
  };
  const xrefOffset = off;
  const rows: Buffer[] = [];
  for (let n = 0; n < total; n++) {
    if (n === xrefNum) rows.push(row(1, xrefOffset, 0));
    else if (offsets.has(n)) rows.push(row(1, offsets.get(n)!, 0));
    else if (index.has(n)) rows.push(row(2, objStmNum, index.get(n)!));
    else rows.push(row(0, 0, n === 0 ? 65535 : 1));
  }
  if (layout === 'stream') {
    const data = deflateSync(pngUp(rows, 7));
    const dict = `/Type /XRef /Size ${total} /W [1 4 2] /Root 1 0 R /Info 3 0 R${trailerExtras(opts)} /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >>`;
    emit(xrefNum, stream(dict, data));
    parts.push(b(`startxref\n${xrefOffset}\n%%EOF\n`));
    return Buffer.concat(parts);
  }
  // Hybrid (§7.5.8.4): an xref stream listing only the compressed objects, then a classic table
  // for the rest whose trailer points at the stream with /XRefStm. Readers without xref-stream
  // support see the compressed objects as free.
  const stmRows: Buffer[] = [];
  const idx: number[] = [];
  for (const o of compressed) {
    idx.push(o.num, 1);
    stmRows.push(row(2, objStmNum, index.get(o.num)!));
  }
  idx.push(xrefNum, 1);
  stmRows.push(row(1, xrefOffset, 0));
  emit(xrefNum, stream(`/Type /XRef /Size ${total} /W [1 4 2] /Index [${idx.join(' ')}]`, Buffer.concat(stmRows)));
  const tableOffset = off;
  // The table leaves the compressed objects out (subsections skip them) unless asked to list
  // them as free entries, a form some writers use and poppler does not accept.
  let xref = 'xref\n';
  const listed = [0, ...[...offsets.keys()].filter((n) => n !== xrefNum).sort((x, y) => x - y)];
  const nums = opts.hybridFreeEntries ? Array.from({ length: xrefNum }, (_, i) => i) : listed;
  for (let i = 0; i < nums.length; ) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
    xref += `${nums[i]} ${j - i + 1}\n`;
    for (let k = i; k <= j; k++) {
      const n = nums[k]!;
      const o = offsets.get(n);
      xref += n === 0 ? '0000000000 65535 f\r\n' : o === undefined ? '0000000000 00001 f\r\n' : `${String(o).padStart(10, '0')} 00000 n\r\n`;
    }
    i = j + 1;
  }
  parts.push(b(`${xref}trailer\n<< /Size ${total} /Root 1 0 R /Info 3 0 R /XRefStm ${xrefOffset}${trailerExtras(opts)} >>\nstartxref\n${tableOffset}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/**
 * Appends a hand-written incremental update that changes the Info dictionary and page 1's
 * content (a /Prev chain of two sections).
 */
export function appendUpdate(pdf: Buffer): Buffer {
  const text = pdf.toString('latin1');
  const sx = text.lastIndexOf('startxref');
  const prev = Number(/startxref\s+(\d+)/.exec(text.slice(sx))![1]);
  const size = Number(/\/Size (\d+)/.exec(text.slice(text.lastIndexOf('/Size')))![1]);
  const start = pdf.length;
  const info = `3 0 obj\n<< /Producer (eseal test fixture, updated) /Title (Fixture v2) >>\nendobj\n`;
  const xrefAt = start + Buffer.byteLength(info, 'latin1');
  const tail = `xref\n3 1\n${String(start).padStart(10, '0')} 00000 n\r\ntrailer\n<< /Size ${size} /Root 1 0 R /Info 3 0 R /Prev ${prev} /ID [${ID} ${ID}] >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.concat([pdf, b(info + tail)]);
}

/** A red rectangle filling the whole form BBox of the given size. */
export function redBox(w: number, h: number): Buffer {
  return b(`1 0 0 rg 0 0 ${w} ${h} re f\n`);
}

/**
 * A classic-xref PDF from literal object bodies (for crafted, often broken, structures).
 * `trailer` is the dictionary's inside; /Size is added.
 */
export function rawPdf(objects: Record<number, string | Buffer>, trailer = '/Root 1 0 R'): Buffer {
  const nums = Object.keys(objects).map(Number).sort((x, y) => x - y);
  const size = (nums[nums.length - 1] ?? 0) + 1;
  const parts: Buffer[] = [b('%PDF-1.7\n')];
  let off = parts[0]!.length;
  const offsets = new Map<number, number>();
  for (const n of nums) {
    offsets.set(n, off);
    const body = objects[n]!;
    const chunk = Buffer.concat([b(`${n} 0 obj\n`), Buffer.isBuffer(body) ? body : b(body), b('\nendobj\n')]);
    parts.push(chunk);
    off += chunk.length;
  }
  let xref = `xref\n0 ${size}\n0000000000 65535 f\r\n`;
  for (let n = 1; n < size; n++) {
    const o = offsets.get(n);
    xref += o === undefined ? '0000000000 00001 f\r\n' : `${String(o).padStart(10, '0')} 00000 n\r\n`;
  }
  parts.push(b(`${xref}trailer\n<< /Size ${size} ${trailer} >>\nstartxref\n${off}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/** A minimal valid one-page document for rawPdf. */
export const MINIMAL: Record<number, string> = {
  1: '<< /Type /Catalog /Pages 2 0 R >>',
  2: '<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 200 200] >>',
  3: '<< /Type /Page /Parent 2 0 R >>',
};

export { stream as streamObject };
