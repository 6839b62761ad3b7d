import { createHash } from 'node:crypto';
import { AppError } from '../../../src/errors';
import {
  byteRangeBytes,
  byteRangeDigest,
  decodeTextString,
  embedSignature,
  PdfDict,
  PdfName,
  PdfRef,
  PdfStream,
  PdfString,
  preparePdfSignature,
  readPdf,
  ref,
  signPdf,
  type PrepareSignatureOptions,
} from '../../../src/pdf';
import { appendUpdate, buildPdf, MINIMAL, rawPdf, redBox } from './fixtures';

const SIGNING_TIME = new Date('2025-06-01T08:00:00Z');
const base: PrepareSignatureOptions = { subFilter: 'ETSI.CAdES.detached', signingTime: SIGNING_TIME, contentsSize: 512 };

/** A stand-in CMS: a DER SEQUENCE of the given total length. */
function fakeCms(length: number, fill = 0xab): Buffer {
  const body = length - 4;
  return Buffer.concat([Buffer.from([0x30, 0x82, body >> 8, body & 0xff]), Buffer.alloc(body, fill)]);
}

function errorOf(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('preparePdfSignature', () => {
  it.each(['table', 'stream', 'hybrid'] as const)('appends one update to a %s file with a correct placeholder', (xref) => {
    const pdf = buildPdf({ pages: 2, xref, textField: true, indirectAnnots: true });
    const before = readPdf(pdf);
    const p = preparePdfSignature(pdf, { ...base, reason: '审批', location: 'Hangzhou', contactInfo: 'seal@example.invalid' });

    // The original bytes are a prefix of the output.
    expect(p.pdf.subarray(0, pdf.length).equals(pdf)).toBe(true);
    // ByteRange: [0 a b c], the gap is exactly the /Contents hex string.
    const [s0, a, b, c] = p.byteRange;
    expect(s0).toBe(0);
    expect(a).toBe(p.contentsOffset);
    expect(b - a).toBe(2 * 512 + 2);
    expect(b + c).toBe(p.pdf.length);
    expect(p.pdf.toString('latin1', a, b)).toMatch(/^<0+>$/);
    expect(p.pdf.toString('latin1', a - 10, a)).toContain('/Contents');

    const after = readPdf(p.pdf);
    expect(after.xrefKind).toBe(before.xrefKind);
    expect(after.sectionCount).toBe(before.sectionCount + 1);
    expect(after.trailer.id![0]).toEqual(before.trailer.id![0]);
    expect(after.trailer.id![1]).not.toEqual(before.trailer.id![1]);

    const [sig] = after.signatures();
    expect(sig!.field.fullName).toBe('Signature1');
    expect(sig!.type).toBe('Sig');
    expect(sig!.subFilter).toBe('ETSI.CAdES.detached');
    expect(sig!.byteRange).toEqual(p.byteRange);
    expect(sig!.contents).toEqual(Buffer.alloc(512));
    const sd = sig!.value!.dict;
    expect(sd.nameOf('Filter')).toBe('Adobe.PPKLite');
    expect((sd.get('M') as PdfString).latin1).toBe("D:20250601080000+00'00'");
    expect(decodeTextString(sd.get('Reason') as PdfString)).toBe('审批');
    expect(decodeTextString(sd.get('Location') as PdfString)).toBe('Hangzhou');

    // The widget: /FT /Sig, locked + print, invisible, on page 1, in /Annots and /Fields.
    const widget = sig!.field.dict;
    expect(widget.get('F')).toBe(132);
    expect(widget.get('Rect')).toEqual([0, 0, 0, 0]);
    const page1 = after.page(1)!;
    expect(widget.get('P')).toEqual(page1.ref);
    const annots = after.resolveArray(page1.dict.get('Annots'))!;
    expect(annots.some((x) => x instanceof PdfRef && x.equals(sig!.field.ref))).toBe(true);
    expect(after.resolveDict(annots[0])!.nameOf('Subtype')).toBe('Link'); // existing annotation kept
    const form = after.acroForm()!;
    expect(form.get('SigFlags')).toBe(3);
    expect(after.fields().map((f) => f.fullName)).toEqual(['name', 'Signature1']);

    // PAdES on PDF 1.x: the ESIC extension is declared (ETSI EN 319 142-1) and the version is 1.7.
    const ext = after.resolveDict(after.catalog().get('Extensions'))!;
    expect(after.resolveDict(ext.get('ESIC'))!.get('ExtensionLevel')).toBe(1);
    expect(after.version()).toEqual([1, 7]);
  });

  it('is deterministic: same input and options, same bytes', () => {
    const pdf = buildPdf();
    expect(preparePdfSignature(pdf, base).pdf.equals(preparePdfSignature(pdf, base).pdf)).toBe(true);
  });

  it('continues a file with a /Prev chain and one without /ID', () => {
    const chained = appendUpdate(buildPdf());
    expect(readPdf(preparePdfSignature(chained, base).pdf).sectionCount).toBe(3);
    const noId = buildPdf({ noId: true });
    const after = readPdf(preparePdfSignature(noId, base).pdf);
    expect(after.trailer.id![0]).toEqual(createHash('sha256').update(noId).digest().subarray(0, 16));
  });

  it('does not declare the ESIC extension in a PDF 2.0 file', () => {
    const pdf = buildPdf({ version: '2.0' });
    const after = readPdf(preparePdfSignature(pdf, base).pdf);
    expect(after.catalog().has('Extensions')).toBe(false);
  });

  it('writes an AcroForm held in its own object back to that object', () => {
    const pdf = rawPdf({ ...MINIMAL, 1: '<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>', 4: '<< /Fields [] /SigFlags 1 /DA (/Helv 0 Tf 0 g) >>' });
    const after = readPdf(preparePdfSignature(pdf, base).pdf);
    expect(after.catalog().get('AcroForm')).toEqual(ref(4));
    const form = after.acroForm()!;
    expect(form.get('SigFlags')).toBe(3);
    expect((form.get('DA') as PdfString).latin1).toBe('/Helv 0 Tf 0 g');
    expect(after.fields()).toHaveLength(1);
  });

  it('writes a document time-stamp dictionary for ETSI.RFC3161', () => {
    const p = preparePdfSignature(buildPdf(), { subFilter: 'ETSI.RFC3161', contentsSize: 256 });
    const [sig] = readPdf(p.pdf).signatures();
    expect(sig!.type).toBe('DocTimeStamp');
    expect(sig!.subFilter).toBe('ETSI.RFC3161');
    expect(sig!.value!.dict.has('M')).toBe(false);
  });

  it('adds a visible widget with an appearance stream on the requested page', () => {
    const image = new PdfStream(
      new PdfDict({ Type: new PdfName('XObject'), Subtype: new PdfName('Image'), Width: 1, Height: 1, ColorSpace: new PdfName('DeviceRGB'), BitsPerComponent: 8 }),
      Buffer.from([255, 0, 0]),
    );
    const resources = new PdfDict({ XObject: new PdfDict({ Im1: image }) });
    const p = preparePdfSignature(buildPdf({ pages: 3 }), { ...base, appearance: { page: 2, rect: [300, 100, 100, 150], stream: redBox(200, 50), resources } });
    const doc = readPdf(p.pdf);
    const w = doc.signatures()[0]!.field.dict;
    expect(w.get('Rect')).toEqual([100, 100, 300, 150]);
    expect(w.get('P')).toEqual(doc.page(2)!.ref);
    const ap = doc.resolve(doc.resolveDict(w.get('AP'))!.get('N')) as PdfStream;
    expect(ap.dict.get('BBox')).toEqual([0, 0, 200, 50]);
    expect(ap.data.toString()).toBe(redBox(200, 50).toString());
    const im = doc.resolveDict(doc.resolveDict(ap.dict.get('Resources'))!.get('XObject'))!.get('Im1');
    expect(im).toBeInstanceOf(PdfRef); // the image became an indirect object
    expect((doc.resolve(im) as PdfStream).data).toEqual(Buffer.from([255, 0, 0]));
    expect(doc.resolveArray(doc.page(2)!.dict.get('Annots'))).toHaveLength(1);
    expect(doc.page(1)!.dict.has('Annots')).toBe(false);
  });

  it('names fields Signature1, Signature2… and refuses a name in use', () => {
    const once = embedSignature(preparePdfSignature(buildPdf({ textField: true }), base), fakeCms(100));
    expect(preparePdfSignature(once, base).fieldName).toBe('Signature2');
    for (const fieldName of ['Signature1', 'name']) {
      const e = errorOf(() => preparePdfSignature(once, { ...base, fieldName }));
      expect([e.code, e.status]).toEqual(['PDF_FIELD_CONFLICT', 409]);
    }
  });

  it('refuses to sign a document certified with no changes allowed (DocMDP /P 1)', () => {
    const pdf = rawPdf({
      ...MINIMAL,
      1: '<< /Type /Catalog /Pages 2 0 R /Perms << /DocMDP 4 0 R >> >>',
      4: '<< /Type /Sig /Reference [<< /TransformMethod /DocMDP /TransformParams << /P 1 /V /1.2 >> >>] >>',
    });
    const e = errorOf(() => preparePdfSignature(pdf, base));
    expect([e.code, e.status]).toEqual(['PDF_CHANGES_NOT_PERMITTED', 409]);
  });

  it.each<[string, Partial<PrepareSignatureOptions>, string]>([
    ['an unknown subFilter', { subFilter: 'adbe.pkcs7.detached' as never }, '/subFilter'],
    ['a tiny contentsSize', { contentsSize: 10 }, '/contentsSize'],
    ['a fractional contentsSize', { contentsSize: 1000.5 }, '/contentsSize'],
    ['no signingTime', { signingTime: undefined }, '/signingTime'],
    ['an invalid signingTime', { signingTime: new Date(NaN) }, '/signingTime'],
    ['a field name with a dot', { fieldName: 'a.b' }, '/fieldName'],
    ['a page beyond the document', { appearance: { page: 9, rect: [0, 0, 10, 10], stream: Buffer.alloc(0) } }, '/appearance/page'],
    ['a rect outside the page', { appearance: { page: 1, rect: [500, 800, 700, 900], stream: Buffer.alloc(0) } }, '/appearance/rect'],
    ['an empty rect', { appearance: { page: 1, rect: [10, 10, 10, 50], stream: Buffer.alloc(0) } }, '/appearance/rect'],
    ['resources pointing into the document', { appearance: { page: 1, rect: [0, 0, 10, 10], stream: Buffer.alloc(0), resources: new PdfDict({ Font: ref(4) }) } }, '/appearance/resources'],
    ['a document time-stamp with a reason', { subFilter: 'ETSI.RFC3161', reason: 'x' }, '/subFilter'],
  ])('refuses %s (PDF_SIGN_OPTIONS_INVALID)', (_label, patch, pointer) => {
    const e = errorOf(() => preparePdfSignature(buildPdf(), { ...base, ...patch }));
    expect(e.code).toBe('PDF_SIGN_OPTIONS_INVALID');
    expect(e.status).toBe(400);
    expect((e as AppError & { errors: { pointer: string }[] }).errors[0]!.pointer).toBe(pointer);
  });
});

describe('embedSignature and signPdf', () => {
  it('writes the CMS hex into the placeholder of a copy, padding with zeros', () => {
    const p = preparePdfSignature(buildPdf(), base);
    const cms = fakeCms(300);
    const out = embedSignature(p, cms);
    expect(out.length).toBe(p.pdf.length);
    expect(out.toString('latin1', p.contentsOffset + 1, p.contentsOffset + 601)).toBe(cms.toString('hex').toUpperCase());
    expect(out.toString('latin1', p.contentsOffset + 601, p.byteRange[2] - 1)).toMatch(/^0+$/);
    expect(p.pdf.toString('latin1', p.contentsOffset + 1, p.contentsOffset + 3)).toBe('00'); // prepared untouched
    // Everything outside the gap is what was prepared.
    expect(byteRangeBytes({ ...p, pdf: out }).equals(byteRangeBytes(p))).toBe(true);
    expect(readPdf(out).signatures()[0]!.contents!.subarray(0, 300)).toEqual(cms);
  });

  it('refuses a CMS larger than the placeholder and says the size it needs', () => {
    const p = preparePdfSignature(buildPdf(), base);
    const e = errorOf(() => embedSignature(p, fakeCms(600)));
    expect(e.code).toBe('PDF_SIGNATURE_TOO_LARGE');
    expect(e.status).toBe(422);
    expect(e.message).toContain('600');
    expect(e.details).toEqual({ neededBytes: 600, reservedBytes: 512 });
  });

  it('refuses a prepared value that was tampered with', () => {
    const p = preparePdfSignature(buildPdf(), base);
    expect(errorOf(() => embedSignature({ ...p, contentsOffset: p.contentsOffset + 1 }, fakeCms(100))).code).toBe('PDF_SIGN_OPTIONS_INVALID');
  });

  it('gives the digest of exactly the ByteRange bytes', () => {
    const p = preparePdfSignature(buildPdf(), base);
    const expected = createHash('sha256')
      .update(Buffer.concat([p.pdf.subarray(0, p.byteRange[1]), p.pdf.subarray(p.byteRange[2], p.byteRange[2] + p.byteRange[3])]))
      .digest();
    expect(byteRangeDigest(p)).toEqual(expected);
  });

  it('signPdf redoes once with the real size when the CMS does not fit', async () => {
    const seen: Buffer[] = [];
    const out = await signPdf(buildPdf(), { ...base, contentsSize: 100 }, async (tbs) => {
      seen.push(tbs);
      return fakeCms(2000);
    });
    expect(seen).toHaveLength(2);
    expect(out.contentsSize).toBeGreaterThanOrEqual(2000);
    const [sig] = readPdf(out.pdf).signatures();
    expect(sig!.contents!.subarray(0, 2000)).toEqual(fakeCms(2000));
    // What was signed the second time is what the final file's ByteRange covers.
    const br = out.byteRange;
    expect(Buffer.concat([out.pdf.subarray(0, br[1]), out.pdf.subarray(br[2])]).equals(seen[1]!)).toBe(true);
  });

  it('signPdf gives up when the CMS grows again', async () => {
    let n = 0;
    await expect(signPdf(buildPdf(), { ...base, contentsSize: 100 }, async () => fakeCms(n++ === 0 ? 200 : 60000))).rejects.toMatchObject({
      code: 'PDF_SIGNATURE_TOO_LARGE',
    });
  });

  it('signs a 50 MB file in bounded time, reading only what it needs', async () => {
    const big = buildPdf({ padding: 50 * 1024 * 1024 });
    const t0 = Date.now();
    const out = await signPdf(big, base, async () => fakeCms(400));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.pdf.length - big.length).toBeLessThan(8192);
    expect(out.pdf.subarray(0, big.length).equals(big)).toBe(true);
  });
});
