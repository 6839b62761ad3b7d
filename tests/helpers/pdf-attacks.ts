/**
 * Hand-written incremental updates for attack fixtures (the 2019 "PDF insecurity" and 2020–21
 * shadow / certification attacks): objects with arbitrary bodies, cross-reference entries
 * pointing anywhere (re-pointing, freeing), classic tables or cross-reference streams, and
 * signed updates whose signature dictionary is written by hand (certification signatures,
 * signature wrapping). Everything is built from strings so a reader of the test sees the bytes.
 *
 * Shared by the verifier's unit tests and the attack corpus.
 */
import { createHash } from 'node:crypto';
import { PdfDict, PdfName, PdfRef, PdfStream, PdfString, readPdf, serialize, type PdfObject } from '../../src/pdf';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export interface UpdateObjectSpec {
  num: number;
  gen?: number;
  /** The object's body between "n g obj" and "endobj" (a stream includes its dictionary). */
  body: string | Buffer;
  /** Write the bytes but leave the object out of this update's cross-reference section. */
  orphan?: boolean;
}

export interface AppendUpdateOptions {
  /** Write a cross-reference stream (uncompressed, W [1 4 2]) instead of a table. */
  xrefStream?: boolean;
  /** Text appended inside the trailer (or xref stream) dictionary. */
  trailerExtra?: string;
  /** Extra in-use entries, e.g. an object re-pointed at bytes already in the file (shadow "hide"). */
  entries?: { num: number; gen?: number; offset: number }[];
  /** Object numbers listed as free (an object deleted, or an overlay hidden). */
  free?: number[];
  /** Entries for objects inside an object stream (type 2; needs xrefStream). */
  compressed?: { num: number; stream: number; index: number }[];
  /** /Prev; default the input's last startxref. `null` omits it. */
  prev?: number | null;
  /** /Root as written; default the input's. */
  root?: string;
  /** /Size; default one past the highest number in use. */
  size?: number;
  /** Object number of the xref stream; default the next free number. */
  xrefNum?: number;
}

export interface AppendedUpdate {
  pdf: Buffer;
  /** Offset of each object written (orphans included). */
  offsets: Map<number, number>;
  /** Offset of the cross-reference section (the new startxref). */
  xrefOffset: number;
}

function lastStartxref(pdf: Buffer): number {
  const text = pdf.toString('latin1', Math.max(0, pdf.length - 2048));
  const all = [...text.matchAll(/startxref\s+(\d+)/g)];
  if (all.length === 0) throw new Error('no startxref in the input');
  return Number(all[all.length - 1]![1]);
}

/** Appends one incremental update made of `objects` (ISO 32000-1 §7.5.6), returning offsets too. */
export function buildUpdate(pdf: Buffer, objects: UpdateObjectSpec[], options: AppendUpdateOptions = {}): AppendedUpdate {
  let root = options.root;
  let size = 0;
  let id = '';
  try {
    const doc = readPdf(pdf);
    root ??= `${doc.trailer.root.num} ${doc.trailer.root.gen} R`;
    size = doc.nextObjectNumber;
    if (doc.trailer.id) id = `/ID [<${doc.trailer.id[0].toString('hex')}> <${createHash('sha256').update(pdf).digest('hex').slice(0, 32)}>]`;
  } catch {
    root ??= '1 0 R';
  }
  const prev = options.prev === undefined ? lastStartxref(pdf) : options.prev;
  const parts: Buffer[] = [pdf];
  let off = pdf.length;
  const push = (x: Buffer) => {
    parts.push(x);
    off += x.length;
  };
  if (pdf[pdf.length - 1] !== 0x0a && pdf[pdf.length - 1] !== 0x0d) push(b('\n'));
  const offsets = new Map<number, number>();
  const entries: { num: number; gen: number; offset: number; type: 0 | 1 | 2 }[] = [];
  for (const o of objects) {
    offsets.set(o.num, off);
    if (!o.orphan) entries.push({ num: o.num, gen: o.gen ?? 0, offset: off, type: 1 });
    push(Buffer.concat([b(`${o.num} ${o.gen ?? 0} obj\n`), Buffer.isBuffer(o.body) ? o.body : b(o.body), b('\nendobj\n')]));
  }
  for (const e of options.entries ?? []) entries.push({ num: e.num, gen: e.gen ?? 0, offset: e.offset, type: 1 });
  for (const n of options.free ?? []) entries.push({ num: n, gen: 1, offset: 0, type: 0 });
  if (options.compressed?.length && !options.xrefStream) throw new Error('compressed entries need an xref stream');
  for (const c of options.compressed ?? []) entries.push({ num: c.num, gen: c.index, offset: c.stream, type: 2 });
  const maxNum = Math.max(0, ...entries.map((e) => e.num), ...objects.map((o) => o.num));
  const xrefNum = options.xrefNum ?? Math.max(size, maxNum + 1);
  const finalSize = options.size ?? Math.max(size, maxNum + 1, options.xrefStream ? xrefNum + 1 : 0);
  const extra = `${options.trailerExtra ? ' ' + options.trailerExtra : ''}`;
  const prevText = prev === null ? '' : ` /Prev ${prev}`;
  const xrefOffset = off;
  if (options.xrefStream) entries.push({ num: xrefNum, gen: 0, offset: xrefOffset, type: 1 });
  entries.sort((x, y) => x.num - y.num);
  // Subsections of consecutive numbers.
  const groups: (typeof entries)[] = [];
  for (const e of entries) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1]!.num + 1 === e.num) g.push(e);
    else groups.push([e]);
  }
  if (options.xrefStream) {
    const rows: Buffer[] = [];
    const index: number[] = [];
    for (const g of groups) {
      index.push(g[0]!.num, g.length);
      for (const e of g) {
        const r = Buffer.alloc(7);
        r[0] = e.type;
        r.writeUInt32BE(e.offset, 1);
        r.writeUInt16BE(e.gen, 5);
        rows.push(r);
      }
    }
    const data = Buffer.concat(rows);
    push(
      Buffer.concat([
        b(`${xrefNum} 0 obj\n<< /Type /XRef /Size ${finalSize} /W [1 4 2] /Index [${index.join(' ')}] /Root ${root}${prevText} ${id}${extra} /Length ${data.length} >>\nstream\n`),
        data,
        b('\nendstream\nendobj\n'),
      ]),
    );
  } else {
    let xref = 'xref\n';
    for (const g of groups) {
      xref += `${g[0]!.num} ${g.length}\n`;
      for (const e of g) xref += `${String(e.offset).padStart(10, '0')} ${String(e.gen).padStart(5, '0')} ${e.type === 1 ? 'n' : 'f'}\r\n`;
    }
    push(b(`${xref}trailer\n<< /Size ${finalSize} /Root ${root}${prevText} ${id}${extra} >>\n`));
  }
  push(b(`startxref\n${xrefOffset}\n%%EOF\n`));
  return { pdf: Buffer.concat(parts), offsets, xrefOffset };
}

/** Appends one incremental update made of `objects`; see buildUpdate. */
export function appendUpdate(pdf: Buffer, objects: UpdateObjectSpec[], options: AppendUpdateOptions = {}): Buffer {
  return buildUpdate(pdf, objects, options).pdf;
}

/** Placeholders for appendSignedUpdate: the fixed-width /ByteRange and the /Contents hex string. */
export const BYTE_RANGE = '__BYTERANGE__';
export const CONTENTS = '__CONTENTS__';
const BYTE_RANGE_TEXT = `[0 ${'0'.repeat(10)} ${'0'.repeat(10)} ${'0'.repeat(10)}]`;

export type SignFn = (toBeSigned: Buffer) => Promise<Buffer>;

/**
 * Appends an update whose bodies contain BYTE_RANGE and CONTENTS once each (anywhere: the
 * CONTENTS placeholder may sit outside the signature dictionary, which is how the wrapping
 * fixtures are made), then fills /ByteRange with [0 a b c] around the CONTENTS string and
 * `sign`'s CMS into it.
 */
export async function appendSignedUpdate(pdf: Buffer, objects: UpdateObjectSpec[], sign: SignFn, options: AppendUpdateOptions & { contentsSize?: number } = {}): Promise<Buffer> {
  const size = options.contentsSize ?? 8192;
  const contentsText = `<${'0'.repeat(size * 2)}>`;
  const filled = objects.map((o) => ({
    ...o,
    body: typeof o.body === 'string' ? o.body.replace(BYTE_RANGE, BYTE_RANGE_TEXT).replace(CONTENTS, contentsText) : o.body,
  }));
  const out = buildUpdate(pdf, filled, options).pdf;
  const brAt = out.indexOf(BYTE_RANGE_TEXT, pdf.length, 'latin1');
  const cAt = out.indexOf(contentsText, pdf.length, 'latin1');
  if (brAt < 0 || cAt < 0) throw new Error('appendSignedUpdate: placeholders missing');
  const a = cAt;
  const c = cAt + contentsText.length;
  const br = `[0 ${a} ${c} ${out.length - c}]`.padEnd(BYTE_RANGE_TEXT.length, ' ');
  out.write(br, brAt, 'latin1');
  const cms = await sign(Buffer.concat([out.subarray(0, a), out.subarray(c)]));
  if (cms.length > size) throw new Error('appendSignedUpdate: CMS larger than contentsSize');
  out.write(cms.toString('hex').toUpperCase(), a + 1, 'latin1');
  return out;
}

function body(o: PdfObject): string {
  return serialize(o).bytes.toString('latin1');
}

export interface CertifyOptions {
  /** DocMDP /P (ISO 32000-1 §12.8.2.2, Table 254). */
  p: 1 | 2 | 3;
  sign: SignFn;
  fieldName?: string;
  signingTime?: string;
  contentsSize?: number;
  /** Also write the catalog's /Perms /DocMDP (default true). */
  perms?: boolean;
}

/**
 * A certification signature (DocMDP): signature dictionary with a /Reference to DocMDP
 * transform parameters, the catalog's /Perms /DocMDP, an invisible widget on page 1 and the
 * field in /AcroForm, all in one signed update.
 */
export async function certifyPdf(pdf: Buffer, o: CertifyOptions): Promise<Buffer> {
  const doc = readPdf(pdf);
  const sigNum = doc.nextObjectNumber;
  const widgetNum = sigNum + 1;
  const page = doc.page(1)!;
  const objects: UpdateObjectSpec[] = [];
  const time = o.signingTime ?? "D:20250601080000+00'00'";
  objects.push({
    num: sigNum,
    body:
      `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (${time}) ` +
      `/Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P ${o.p} /V /1.2 >> >>] ` +
      `/ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`,
  });
  objects.push({
    num: widgetNum,
    body: `<< /Type /Annot /Subtype /Widget /FT /Sig /T (${o.fieldName ?? 'Certification'}) /V ${sigNum} 0 R /F 132 /P ${page.ref.num} ${page.ref.gen} R /Rect [0 0 0 0] >>`,
  });
  const annots = doc.resolveArray(page.dict.get('Annots')) ?? [];
  objects.push({ num: page.ref.num, gen: page.ref.gen, body: body(page.dict.clone().set('Annots', [...annots, new PdfRef(widgetNum, 0)])) });
  const catalog = doc.catalog().clone();
  if (o.perms !== false) catalog.set('Perms', new PdfDict().set('DocMDP', new PdfRef(sigNum, 0)));
  const formEntry = catalog.get('AcroForm');
  const form = (doc.resolveDict(formEntry) ?? new PdfDict()).clone();
  const fields = doc.resolveArray(form.get('Fields')) ?? [];
  form.set('Fields', [...fields, new PdfRef(widgetNum, 0)]).set('SigFlags', 3);
  if (formEntry instanceof PdfRef) objects.push({ num: formEntry.num, gen: formEntry.gen, body: body(form) });
  else catalog.set('AcroForm', form);
  objects.push({ num: doc.catalogRef.num, gen: doc.catalogRef.gen, body: body(catalog) });
  return appendSignedUpdate(pdf, objects, o.sign, { contentsSize: o.contentsSize });
}

/**
 * Fills the text field `fieldName` with `value`: the field gets /V and a new appearance stream,
 * as a form filler would write it.
 */
export function fillTextField(pdf: Buffer, fieldName: string, value: string, options: AppendUpdateOptions = {}): Buffer {
  const doc = readPdf(pdf);
  const field = doc.fields().find((f) => f.fullName === fieldName);
  if (!field) throw new Error(`no field ${fieldName}`);
  const apNum = doc.nextObjectNumber;
  const ap = new PdfStream(
    new PdfDict().set('Type', new PdfName('XObject')).set('Subtype', new PdfName('Form')).set('BBox', [0, 0, 200, 20]),
    b(`BT /Helv 12 Tf 2 5 Td (${value}) Tj ET`),
  );
  const d = field.dict.clone().set('V', new PdfString(b(value))).set('AP', new PdfDict().set('N', new PdfRef(apNum, 0)));
  return appendUpdate(
    pdf,
    [
      { num: field.ref.num, gen: field.ref.gen, body: body(d) },
      { num: apNum, body: serialize(ap).bytes },
    ],
    options,
  );
}

/** Adds an annotation (e.g. a FreeText: the "evil annotation") to page `page`'s /Annots. */
export function addAnnotation(pdf: Buffer, pageNumber: number, annotBody: string, options: AppendUpdateOptions = {}): Buffer {
  const doc = readPdf(pdf);
  const page = doc.page(pageNumber)!;
  const num = doc.nextObjectNumber;
  const annots = doc.resolveArray(page.dict.get('Annots')) ?? [];
  return appendUpdate(
    pdf,
    [
      { num, body: annotBody },
      { num: page.ref.num, gen: page.ref.gen, body: body(page.dict.clone().set('Annots', [...annots, new PdfRef(num, 0)])) },
    ],
    options,
  );
}

/** Replaces page `pageNumber`'s content with a new stream (shadow "replace" without hiding). */
export function replacePageContent(pdf: Buffer, pageNumber: number, content: string, options: AppendUpdateOptions = {}): Buffer {
  const doc = readPdf(pdf);
  const page = doc.page(pageNumber)!;
  const contents = page.dict.get('Contents');
  if (contents instanceof PdfRef) {
    return appendUpdate(pdf, [{ num: contents.num, gen: contents.gen, body: `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream` }], options);
  }
  const num = doc.nextObjectNumber;
  return appendUpdate(
    pdf,
    [
      { num, body: `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream` },
      { num: page.ref.num, gen: page.ref.gen, body: body(page.dict.clone().set('Contents', new PdfRef(num, 0))) },
    ],
    options,
  );
}

/** A SignFn making a real PAdES CMS (CAdES B-B, profile 'pades') with the test PKI's seal key. */
export function padesSignFn(pki: { seal: { signer: import('./test-pki').TestSigner; der: Buffer }; issuing: { der: Buffer } }): SignFn {
  return async (tbs: Buffer) => {
    const { buildCadesSignature } = await import('../../src/signing');
    const digest = createHash('sha256').update(tbs).digest();
    return (await buildCadesSignature({ signer: pki.seal.signer, certificate: pki.seal.der, chain: [pki.issuing.der], contentDigest: digest, profile: 'pades' })).der;
  };
}

/** An approval signature dictionary with the placeholders (PAdES, ETSI.CAdES.detached). */
export const APPROVAL_SIG = `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:20250601080000+00'00') /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`;
/** A document time-stamp dictionary with the placeholders (ETSI EN 319 142-1 §5.4.3). */
export const DOC_TIMESTAMP_SIG = `<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`;

export interface SignatureFieldOptions {
  sign: SignFn;
  /** The signature dictionary (with BYTE_RANGE and CONTENTS); default APPROVAL_SIG. */
  sigBody?: string;
  fieldName?: string;
  /** 1-based page of the widget; default 1. */
  page?: number;
  /** The widget's /Rect; default [0 0 0 0] (invisible). */
  rect?: [number, number, number, number];
  /** Content stream of a visible appearance (/AP /N), drawn in the rect. */
  appearance?: string;
  /** Leave the signature dictionary out: an empty signature field (then nothing is signed). */
  empty?: boolean;
  contentsSize?: number;
  xrefStream?: boolean;
}

/**
 * Adds a new signature field (merged field/widget) on a page and in /AcroForm /Fields, signed
 * unless `empty`, written by hand: lets tests add signatures that signPdf refuses (after a
 * /P 1 certification) and visible ones on certified documents (the "sneaky signature").
 */
export async function addSignatureField(pdf: Buffer, o: SignatureFieldOptions): Promise<Buffer> {
  const doc = readPdf(pdf);
  const n = doc.nextObjectNumber;
  const sigNum = n;
  const widgetNum = n + 1;
  const apNum = n + 2;
  const page = doc.page(o.page ?? 1)!;
  const rect = o.rect ?? [0, 0, 0, 0];
  const objects: UpdateObjectSpec[] = [];
  if (!o.empty) objects.push({ num: sigNum, body: o.sigBody ?? APPROVAL_SIG });
  const ap = o.appearance !== undefined ? ` /AP << /N ${apNum} 0 R >>` : '';
  const v = o.empty ? '' : ` /V ${sigNum} 0 R`;
  objects.push({
    num: widgetNum,
    body: `<< /Type /Annot /Subtype /Widget /FT /Sig /T (${o.fieldName ?? `Field${widgetNum}`})${v} /F 4 /P ${page.ref.num} ${page.ref.gen} R /Rect [${rect.join(' ')}]${ap} >>`,
  });
  if (o.appearance !== undefined) {
    const w = Math.abs(rect[2] - rect[0]);
    const h = Math.abs(rect[3] - rect[1]);
    objects.push({ num: apNum, body: `<< /Type /XObject /Subtype /Form /BBox [0 0 ${w} ${h}] /Length ${Buffer.byteLength(o.appearance, 'latin1')} >>\nstream\n${o.appearance}\nendstream` });
  }
  const annots = doc.resolveArray(page.dict.get('Annots')) ?? [];
  objects.push({ num: page.ref.num, gen: page.ref.gen, body: body(page.dict.clone().set('Annots', [...annots, new PdfRef(widgetNum, 0)])) });
  const catalog = doc.catalog().clone();
  const formEntry = catalog.get('AcroForm');
  const form = (doc.resolveDict(formEntry) ?? new PdfDict()).clone();
  const fields = doc.resolveArray(form.get('Fields')) ?? [];
  form.set('Fields', [...fields, new PdfRef(widgetNum, 0)]).set('SigFlags', 3);
  if (formEntry instanceof PdfRef) objects.push({ num: formEntry.num, gen: formEntry.gen, body: body(form) });
  else objects.push({ num: doc.catalogRef.num, gen: doc.catalogRef.gen, body: body(catalog.set('AcroForm', form)) });
  if (o.empty) return appendUpdate(pdf, objects, { xrefStream: o.xrefStream });
  return appendSignedUpdate(pdf, objects, o.sign, { contentsSize: o.contentsSize, xrefStream: o.xrefStream });
}

/** Signs the existing empty signature field `fieldName` (the field gets /V and an appearance). */
export async function signExistingField(pdf: Buffer, fieldName: string, o: { sign: SignFn; sigBody?: string; appearance?: string; contentsSize?: number }): Promise<Buffer> {
  const doc = readPdf(pdf);
  const field = doc.fields().find((f) => f.fullName === fieldName);
  if (!field) throw new Error(`no field ${fieldName}`);
  const sigNum = doc.nextObjectNumber;
  const apNum = sigNum + 1;
  const d = field.dict.clone().set('V', new PdfRef(sigNum, 0));
  const objects: UpdateObjectSpec[] = [{ num: sigNum, body: o.sigBody ?? APPROVAL_SIG }];
  if (o.appearance !== undefined) {
    d.set('AP', new PdfDict().set('N', new PdfRef(apNum, 0)));
    objects.push({ num: apNum, body: `<< /Type /XObject /Subtype /Form /BBox [0 0 100 50] /Length ${Buffer.byteLength(o.appearance, 'latin1')} >>\nstream\n${o.appearance}\nendstream` });
  }
  objects.push({ num: field.ref.num, gen: field.ref.gen, body: body(d) });
  return appendSignedUpdate(pdf, objects, o.sign, { contentsSize: o.contentsSize });
}
