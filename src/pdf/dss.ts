/**
 * The Document Security Store for PAdES B-LT (ETSI EN 319 142-1 §5.4.2; ISO 32000-2 §12.8.4.3):
 * an incremental update adding certificates, OCSP responses and CRLs to the catalog's /DSS,
 * merging with (never rewriting the entries of) an existing one. B-LTA then adds a document
 * time-stamp with preparePdfSignature({ subFilter: 'ETSI.RFC3161' }).
 *
 * Entries already in the DSS (same bytes after decoding) are not added twice. With `vri`, a
 * /VRI entry (§5.4.2.3) is written for the newest signature, keyed by the upper-case hex SHA-1
 * of its /Contents string (padding included, as pyHanko does) and listing this call's data.
 */
import { createHash } from 'node:crypto';
import { withPadesDeclarations } from './catalog';
import { invalidOption } from './errors';
import type { PdfLimits } from './limits';
import { PdfDict, PdfRef, PdfStream, name, type PdfObject } from './objects';
import { asPdfError, readPdf, type PdfDocument } from './reader';
import { ObjectAllocator, writeIncrementalUpdate, type UpdateObject } from './update';

export interface DssInput {
  /** DER certificates. */
  certs: Buffer[];
  /** DER OCSPResponse values (RFC 6960 §4.2.1). */
  ocsps: Buffer[];
  /** DER CertificateList values. */
  crls: Buffer[];
  /** Also write a /VRI entry for the newest signature. */
  vri?: boolean;
  limits?: Partial<PdfLimits>;
}

type Kind = 'Certs' | 'OCSPs' | 'CRLs';
const VRI_KEY: Record<Kind, string> = { Certs: 'Cert', OCSPs: 'OCSP', CRLs: 'CRL' };

/** Returns the PDF with one more revision holding the DSS; the input itself when nothing is new. */
export function addDss(pdf: Buffer, input: DssInput): Buffer {
  const lists: Record<Kind, Buffer[]> = { Certs: checkList(input?.certs, '/certs'), OCSPs: checkList(input?.ocsps, '/ocsps'), CRLs: checkList(input?.crls, '/crls') };
  try {
    const doc = readPdf(pdf, { limits: input.limits });
    return update(doc, lists, input.vri === true) ?? pdf;
  } catch (e) {
    throw asPdfError(e);
  }
}

function checkList(v: unknown, pointer: string): Buffer[] {
  if (!Array.isArray(v)) throw invalidOption(pointer, 'must be an array of DER buffers');
  v.forEach((b, i) => {
    // A cheap framing check: each value is one DER SEQUENCE and nothing after it.
    if (!Buffer.isBuffer(b) || !isSingleDerSequence(b)) throw invalidOption(`${pointer}/${i}`, 'must be one DER SEQUENCE');
  });
  return v as Buffer[];
}

function isSingleDerSequence(b: Buffer): boolean {
  if (b.length < 2 || b[0] !== 0x30) return false;
  const l = b[1]!;
  if (l < 0x80) return 2 + l === b.length;
  const n = l & 0x7f;
  if (n === 0 || n > 4 || b.length < 2 + n) return false;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!;
  return 2 + n + len === b.length;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function update(doc: PdfDocument, lists: Record<Kind, Buffer[]>, vri: boolean): Buffer | undefined {
  const catalog = doc.catalog();
  const dssEntry = catalog.get('DSS');
  const oldDss = doc.resolveDict(dssEntry);
  const dss = oldDss ? oldDss.clone() : new PdfDict().set('Type', name('DSS'));
  const alloc = new ObjectAllocator(doc);
  const objects: UpdateObject[] = [];
  const refsThisCall: Record<Kind, PdfRef[]> = { Certs: [], OCSPs: [], CRLs: [] };
  let added = 0;

  for (const kind of ['Certs', 'OCSPs', 'CRLs'] as const) {
    const existing = doc.resolveArray(dss.get(kind)) ?? [];
    const known = new Map<string, PdfRef>();
    for (const r of existing) {
      if (!(r instanceof PdfRef)) continue;
      const s = doc.resolve(r);
      if (!(s instanceof PdfStream)) continue;
      try {
        known.set(sha256(doc.decode(s)), r);
      } catch {
        // An entry we cannot decode stays as it is; it just is not used for de-duplication.
      }
    }
    const list: PdfObject[] = [...existing];
    for (const der of lists[kind]) {
      const h = sha256(der);
      let r = known.get(h);
      if (!r) {
        r = alloc.alloc();
        objects.push({ ref: r, value: new PdfStream(new PdfDict(), der) });
        known.set(h, r);
        list.push(r);
        added++;
      }
      if (!refsThisCall[kind].some((x) => x.equals(r!))) refsThisCall[kind].push(r);
    }
    if (list.length > 0) dss.set(kind, list);
  }

  if (vri) {
    const sigs = doc.signatures().filter((s) => s.contents && s.byteRange?.length === 4);
    if (sigs.length === 0) throw invalidOption('/vri', 'the document has no signature to attach validation data to');
    // The newest signature is the one whose ByteRange reaches furthest into the file.
    const newest = sigs.reduce((a, b) => (end(b.byteRange!) > end(a.byteRange!) ? b : a));
    const key = createHash('sha1').update(newest.contents!).digest('hex').toUpperCase();
    const vriDict = (doc.resolveDict(dss.get('VRI')) ?? new PdfDict()).clone();
    const entry = new PdfDict();
    for (const kind of ['Certs', 'OCSPs', 'CRLs'] as const) if (refsThisCall[kind].length > 0) entry.set(VRI_KEY[kind], refsThisCall[kind]);
    vriDict.set(key, entry);
    dss.set('VRI', vriDict);
    added++;
  }
  if (added === 0) return undefined;

  let newCatalog = withPadesDeclarations(doc, catalog);
  if (dssEntry instanceof PdfRef && oldDss) {
    objects.push({ ref: dssEntry, value: dss });
  } else {
    const dssRef = alloc.alloc();
    objects.push({ ref: dssRef, value: dss });
    newCatalog = (newCatalog ?? catalog.clone()).set('DSS', dssRef);
  }
  if (newCatalog) objects.push({ ref: doc.catalogRef, value: newCatalog });
  const u = writeIncrementalUpdate(doc, objects, alloc);
  return Buffer.concat([doc.bytes, u.bytes]);
}

function end(br: number[]): number {
  return (br[2] ?? 0) + (br[3] ?? 0);
}

