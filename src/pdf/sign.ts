/**
 * PAdES signature placeholders (ETSI EN 319 142-1 §5, ISO 32000-1 §12.8): one incremental update
 * that adds a signature dictionary with a fixed-width /ByteRange and a zero-filled /Contents, a
 * signature field whose widget sits on a page, and the field in /AcroForm. The CMS is made by
 * the caller over the ByteRange bytes (or their digest) and written into the placeholder.
 *
 * Memory: the input is read in place; preparing costs one copy (original + update), embedding
 * one more, and signPdf's ByteRange bytes one more.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors';
import { withPadesDeclarations } from './catalog';
import { changesNotPermitted, fieldConflict, invalidOption, PDF_ERROR, unsupported } from './errors';
import type { PdfLimits } from './limits';
import { PdfDict, PdfRaw, PdfRef, PdfStream, PdfString, name, pdfDate, textString, type PdfObject } from './objects';
import { asPdfError, readPdf, type PdfDocument, type PdfPage } from './reader';
import { hoistStreams, ObjectAllocator, writeIncrementalUpdate, type UpdateObject } from './update';

export type PdfSubFilter = 'ETSI.CAdES.detached' | 'ETSI.RFC3161';

export interface SignatureAppearance {
  /** 1-based page number. */
  page: number;
  /** [x1, y1, x2, y2] in the page's default user space (points). */
  rect: [number, number, number, number];
  /** Content stream operators, in the form XObject's space: (0,0) is the rect's lower-left corner. */
  stream: Buffer;
  /**
   * The form XObject's /Resources. Streams inside (image XObjects, fonts' files) are written as
   * new indirect objects; references to existing objects are refused.
   */
  resources?: PdfDict;
}

export interface PrepareSignatureOptions {
  /** Partial name of the new field (no '.'); default "SignatureN" with the first free N. */
  fieldName?: string;
  reason?: string;
  location?: string;
  contactInfo?: string;
  /** Written as /M. Required for ETSI.CAdES.detached (PAdES puts the claimed time here, not in the CMS). */
  signingTime?: Date;
  subFilter: PdfSubFilter;
  /** Bytes of DER reserved for the CMS (the hex placeholder is twice as long). */
  contentsSize: number;
  /** A visible widget; without it the widget is invisible (/Rect [0 0 0 0]) on page 1. */
  appearance?: SignatureAppearance;
  limits?: Partial<PdfLimits>;
}

export type ByteRange = [number, number, number, number];

export interface PreparedSignature {
  /** Original bytes followed by the update; /Contents still zero. */
  pdf: Buffer;
  byteRange: ByteRange;
  /** Offset of the '<' that opens the /Contents hex string. */
  contentsOffset: number;
  /** Bytes of DER the placeholder holds. */
  contentsSize: number;
  fieldName: string;
}

/** Largest placeholder accepted (a CMS with a long chain, revocation data and a timestamp fits easily). */
export const MAX_CONTENTS_SIZE = 8 * 1024 * 1024;
/** What signPdf reserves first when the caller gives no size. */
export const DEFAULT_CONTENTS_SIZE = 16 * 1024;

// /ByteRange is written as "[0 " + three 10-digit fields + "]" and patched in place: 10 digits
// cover any file below 10 GB, far above the reader's limit.
const BYTE_RANGE_PLACEHOLDER = `[0 ${'0'.repeat(10)} ${'0'.repeat(10)} ${'0'.repeat(10)}]`;

/** §12.7.4.5 + §12.5.3: print (4) + locked (128). */
const WIDGET_FLAGS = 132;
/** §12.7.2 Table 219: SignaturesExist (1) | AppendOnly (2). */
const SIG_FLAGS = 3;

export function preparePdfSignature(pdf: Buffer, options: PrepareSignatureOptions): PreparedSignature {
  checkOptions(options);
  try {
    const doc = readPdf(pdf, { limits: options.limits });
    return prepare(doc, options);
  } catch (e) {
    throw asPdfError(e);
  }
}

function checkText(v: unknown, pointer: string): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || v.length > 4096) throw invalidOption(pointer, 'must be a string of at most 4096 characters');
}

function checkOptions(o: PrepareSignatureOptions): void {
  if (o === null || typeof o !== 'object') throw invalidOption('', 'options are required');
  if (o.subFilter !== 'ETSI.CAdES.detached' && o.subFilter !== 'ETSI.RFC3161') throw invalidOption('/subFilter', 'must be ETSI.CAdES.detached or ETSI.RFC3161');
  if (!Number.isInteger(o.contentsSize) || o.contentsSize < 64 || o.contentsSize > MAX_CONTENTS_SIZE) {
    throw invalidOption('/contentsSize', `must be an integer between 64 and ${MAX_CONTENTS_SIZE}`);
  }
  if (o.subFilter === 'ETSI.CAdES.detached') {
    if (!(o.signingTime instanceof Date) || Number.isNaN(o.signingTime.getTime())) throw invalidOption('/signingTime', 'a valid Date is required');
  } else if (o.reason !== undefined || o.location !== undefined || o.contactInfo !== undefined) {
    // ISO 32000-2 §12.8.5: a document time-stamp dictionary carries no signer metadata.
    throw invalidOption('/subFilter', 'a document time-stamp takes no reason, location or contactInfo');
  }
  checkText(o.reason, '/reason');
  checkText(o.location, '/location');
  checkText(o.contactInfo, '/contactInfo');
  if (o.fieldName !== undefined) {
    // §12.7.3.2: '.' separates partial names.
    if (typeof o.fieldName !== 'string' || o.fieldName.length === 0 || o.fieldName.length > 255 || o.fieldName.includes('.')) {
      throw invalidOption('/fieldName', "must be 1-255 characters without '.'");
    }
  }
  const a = o.appearance;
  if (a !== undefined) {
    if (a === null || typeof a !== 'object') throw invalidOption('/appearance', 'must be an object');
    if (!Number.isInteger(a.page) || a.page < 1) throw invalidOption('/appearance/page', 'must be a positive integer');
    if (!Array.isArray(a.rect) || a.rect.length !== 4 || !a.rect.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw invalidOption('/appearance/rect', 'must be four finite numbers');
    }
    const [x1, y1, x2, y2] = a.rect;
    if (x1 === x2 || y1 === y2) throw invalidOption('/appearance/rect', 'must have a non-zero width and height');
    if (!Buffer.isBuffer(a.stream)) throw invalidOption('/appearance/stream', 'must be a Buffer');
    if (a.resources !== undefined) {
      if (!(a.resources instanceof PdfDict)) throw invalidOption('/appearance/resources', 'must be a PdfDict');
      if (containsRef(a.resources, 0)) throw invalidOption('/appearance/resources', 'must not refer to objects of the document');
    }
  }
}

function containsRef(o: PdfObject, depth: number): boolean {
  if (depth > 32) return true;
  if (o instanceof PdfRef || o instanceof PdfRaw) return true;
  if (Array.isArray(o)) return o.some((v) => containsRef(v, depth + 1));
  if (o instanceof PdfDict) return [...o.map.values()].some((v) => containsRef(v, depth + 1));
  if (o instanceof PdfStream) return containsRef(o.dict, depth + 1);
  return false;
}

/** A DocMDP certification signature with /P 1 forbids any change, new signatures included (§12.8.2.2). */
function assertChangesPermitted(doc: PdfDocument): void {
  const perms = doc.resolveDict(doc.catalog().get('Perms'));
  const sig = doc.resolveDict(perms?.get('DocMDP'));
  for (const r of doc.resolveArray(sig?.get('Reference')) ?? []) {
    const params = doc.resolveDict(doc.resolveDict(r)?.get('TransformParams'));
    if (doc.resolve(params?.get('P')) === 1) {
      throw changesNotPermitted('The document is certified with no changes permitted (DocMDP /P 1)');
    }
  }
}

function chooseFieldName(doc: PdfDocument, requested: string | undefined): string {
  const taken = new Set(doc.fields().map((f) => f.fullName));
  if (requested !== undefined) {
    if (taken.has(requested)) throw fieldConflict(`A form field named "${requested}" already exists`);
    return requested;
  }
  for (let i = 1; ; i++) {
    const n = `Signature${i}`;
    if (!taken.has(n)) return n;
  }
}

function prepare(doc: PdfDocument, o: PrepareSignatureOptions): PreparedSignature {
  assertChangesPermitted(doc);
  if (doc.pageCount === 0) throw unsupported('The PDF has no pages to attach a signature widget to');
  const page: PdfPage | undefined = doc.page(o.appearance?.page ?? 1);
  if (!page) throw invalidOption('/appearance/page', `the document has ${doc.pageCount} page(s)`);
  const fieldName = chooseFieldName(doc, o.fieldName);
  const isTimestamp = o.subFilter === 'ETSI.RFC3161';

  const alloc = new ObjectAllocator(doc);
  const objects: UpdateObject[] = [];
  const sigRef = alloc.alloc();
  const widgetRef = alloc.alloc();

  // §12.8.1 Table 252; ETSI EN 319 142-1 §5.3 (CAdES) and §5.4.3 (document time-stamp).
  const byteRangeRaw = new PdfRaw(Buffer.from(BYTE_RANGE_PLACEHOLDER, 'latin1'));
  const contentsRaw = new PdfRaw(Buffer.from(`<${'0'.repeat(o.contentsSize * 2)}>`, 'latin1'));
  const sig = new PdfDict()
    .set('Type', name(isTimestamp ? 'DocTimeStamp' : 'Sig'))
    .set('Filter', name('Adobe.PPKLite'))
    .set('SubFilter', name(o.subFilter));
  if (!isTimestamp) sig.set('M', new PdfString(Buffer.from(pdfDate(o.signingTime!), 'latin1')));
  if (o.reason !== undefined) sig.set('Reason', textString(o.reason));
  if (o.location !== undefined) sig.set('Location', textString(o.location));
  if (o.contactInfo !== undefined) sig.set('ContactInfo', textString(o.contactInfo));
  sig.set('ByteRange', byteRangeRaw).set('Contents', contentsRaw);
  objects.push({ ref: sigRef, value: sig });

  // §12.7.4.5: a signature field merged with its widget annotation (§12.5.6.19).
  const widget = new PdfDict()
    .set('Type', name('Annot'))
    .set('Subtype', name('Widget'))
    .set('FT', name('Sig'))
    .set('T', textString(fieldName))
    .set('V', sigRef)
    .set('F', WIDGET_FLAGS)
    .set('P', page.ref);
  if (o.appearance) {
    const [ax1, ay1, ax2, ay2] = o.appearance.rect;
    const rect: [number, number, number, number] = [Math.min(ax1, ax2), Math.min(ay1, ay2), Math.max(ax1, ax2), Math.max(ay1, ay2)];
    const mb = page.mediaBox;
    if (rect[0] < mb[0] || rect[1] < mb[1] || rect[2] > mb[2] || rect[3] > mb[3]) {
      throw invalidOption('/appearance/rect', `must lie inside the page's MediaBox [${mb.join(' ')}]`);
    }
    const w = rect[2] - rect[0];
    const h = rect[3] - rect[1];
    // §8.10: a form XObject whose BBox is the widget's size; §12.5.5 maps it onto /Rect.
    const form = new PdfDict()
      .set('Type', name('XObject'))
      .set('Subtype', name('Form'))
      .set('BBox', [0, 0, w, h])
      .set('Resources', o.appearance.resources ? hoistStreams(o.appearance.resources, alloc, objects) : new PdfDict());
    const apRef = alloc.alloc();
    objects.push({ ref: apRef, value: new PdfStream(form, o.appearance.stream) });
    widget.set('Rect', rect).set('AP', new PdfDict().set('N', apRef));
  } else {
    widget.set('Rect', [0, 0, 0, 0]);
  }
  objects.push({ ref: widgetRef, value: widget });

  // The page gets the widget in a direct /Annots array: a shared indirect array would put the
  // widget on every page that shares it.
  const annots = doc.resolveArray(page.dict.get('Annots')) ?? [];
  objects.push({ ref: page.ref, value: page.dict.clone().set('Annots', [...annots, widgetRef]) });

  // §12.7.2: the field joins /AcroForm /Fields; /SigFlags 3.
  const catalog = doc.catalog();
  let newCatalog = withPadesDeclarations(doc, catalog);
  const formEntry = catalog.get('AcroForm');
  const oldForm = doc.resolveDict(formEntry);
  const form = oldForm ? oldForm.clone() : new PdfDict();
  const fields = doc.resolveArray(form.get('Fields')) ?? [];
  const oldFlags = doc.resolve(form.get('SigFlags'));
  form.set('Fields', [...fields, widgetRef]).set('SigFlags', (typeof oldFlags === 'number' && Number.isInteger(oldFlags) ? oldFlags : 0) | SIG_FLAGS);
  if (formEntry instanceof PdfRef && oldForm) {
    objects.push({ ref: formEntry, value: form });
  } else {
    const formRef = alloc.alloc();
    objects.push({ ref: formRef, value: form });
    newCatalog = (newCatalog ?? catalog.clone()).set('AcroForm', formRef);
  }
  if (newCatalog) objects.push({ ref: doc.catalogRef, value: newCatalog });

  const update = writeIncrementalUpdate(doc, objects, alloc);
  const contentsOffset = update.raws.get(contentsRaw)!;
  const afterContents = contentsOffset + contentsRaw.bytes.length;
  const byteRange: ByteRange = [0, contentsOffset, afterContents, update.totalLength - afterContents];
  const filled = `[${byteRange.join(' ')}]`.padEnd(BYTE_RANGE_PLACEHOLDER.length, ' ');
  update.bytes.write(filled, update.raws.get(byteRangeRaw)! - doc.bytes.length, 'latin1');
  return { pdf: Buffer.concat([doc.bytes, update.bytes]), byteRange, contentsOffset, contentsSize: o.contentsSize, fieldName };
}

function checkPrepared(p: PreparedSignature): void {
  const ok =
    p !== null &&
    typeof p === 'object' &&
    Buffer.isBuffer(p.pdf) &&
    Number.isInteger(p.contentsOffset) &&
    Number.isInteger(p.contentsSize) &&
    Array.isArray(p.byteRange) &&
    p.byteRange.length === 4 &&
    p.byteRange[0] === 0 &&
    p.byteRange[1] === p.contentsOffset &&
    p.byteRange[2] === p.contentsOffset + 2 * p.contentsSize + 2 &&
    p.byteRange[2] + p.byteRange[3] === p.pdf.length &&
    p.pdf[p.contentsOffset] === 0x3c &&
    p.pdf[p.byteRange[2] - 1] === 0x3e;
  if (!ok) throw invalidOption('/prepared', 'is not the result of preparePdfSignature');
}

/** The bytes the signature covers (§12.8.1: the file minus the /Contents hex string). */
export function byteRangeBytes(p: PreparedSignature): Buffer {
  checkPrepared(p);
  return Buffer.concat([p.pdf.subarray(0, p.byteRange[1]), p.pdf.subarray(p.byteRange[2])]);
}

/** Digest of the ByteRange bytes without copying them (for a CMS built from a message digest). */
export function byteRangeDigest(p: PreparedSignature, algorithm: 'sha256' | 'sha384' | 'sha512' = 'sha256'): Buffer {
  checkPrepared(p);
  return createHash(algorithm).update(p.pdf.subarray(0, p.byteRange[1])).update(p.pdf.subarray(p.byteRange[2])).digest();
}

function signatureTooLarge(needed: number, reserved: number): ValidationError {
  return new ValidationError(
    `The CMS is ${needed} bytes but only ${reserved} were reserved; prepare again with contentsSize >= ${needed}`,
    [{ pointer: '/contentsSize', detail: `needs at least ${needed}` }],
    PDF_ERROR.SIGNATURE_TOO_LARGE,
    { status: 422, details: { neededBytes: needed, reservedBytes: reserved } },
  );
}

function writeContents(target: Buffer, p: PreparedSignature, cmsDer: Buffer): void {
  if (!Buffer.isBuffer(cmsDer) || cmsDer.length === 0 || cmsDer[0] !== 0x30) throw invalidOption('/cms', 'must be a DER-encoded ContentInfo (a SEQUENCE)');
  if (cmsDer.length > p.contentsSize) throw signatureTooLarge(cmsDer.length, p.contentsSize);
  target.write(cmsDer.toString('hex').toUpperCase(), p.contentsOffset + 1, 'latin1');
}

/** Writes the CMS into the placeholder of a copy of `prepared.pdf` (the rest stays zero padding). */
export function embedSignature(prepared: PreparedSignature, cmsDer: Buffer): Buffer {
  checkPrepared(prepared);
  if (Buffer.isBuffer(cmsDer) && cmsDer.length > prepared.contentsSize) throw signatureTooLarge(cmsDer.length, prepared.contentsSize);
  const out = Buffer.from(prepared.pdf);
  writeContents(out, prepared, cmsDer);
  return out;
}

export interface SignedPdf {
  pdf: Buffer;
  byteRange: ByteRange;
  fieldName: string;
  /** Bytes reserved for the CMS in the final file. */
  contentsSize: number;
}

export type SignPdfOptions = Omit<PrepareSignatureOptions, 'contentsSize'> & { contentsSize?: number };

/**
 * Prepares, has `sign` make the CMS over the ByteRange bytes, and embeds it. When the CMS does
 * not fit, prepares once more with its real size plus a margin (a CMS's size can vary by a few
 * bytes between runs: ECDSA signatures, timestamps) and signs again.
 */
export async function signPdf(pdf: Buffer, options: SignPdfOptions, sign: (toBeSigned: Buffer) => Promise<Buffer>): Promise<SignedPdf> {
  let size = options.contentsSize ?? DEFAULT_CONTENTS_SIZE;
  for (let attempt = 0; ; attempt++) {
    const prepared = preparePdfSignature(pdf, { ...options, contentsSize: size });
    const cms = await sign(byteRangeBytes(prepared));
    if (Buffer.isBuffer(cms) && cms.length > size) {
      if (attempt > 0) throw signatureTooLarge(cms.length, size);
      size = Math.min(MAX_CONTENTS_SIZE, cms.length + Math.max(1024, Math.ceil(cms.length / 10)));
      if (cms.length > size) throw signatureTooLarge(cms.length, size);
      continue;
    }
    // prepared.pdf is ours alone: embed in place rather than copy it again.
    writeContents(prepared.pdf, prepared, cms);
    return { pdf: prepared.pdf, byteRange: prepared.byteRange, fieldName: prepared.fieldName, contentsSize: prepared.contentsSize };
  }
}

