import { createHash } from 'node:crypto';
import { AppError } from '../../../src/errors';
import { addDss, embedSignature, PdfRef, PdfStream, preparePdfSignature, readPdf, type PdfDocument } from '../../../src/pdf';
import { buildPdf } from './fixtures';
import { createTestPki } from '../../helpers/test-pki';

const opts = { subFilter: 'ETSI.CAdES.detached' as const, signingTime: new Date('2025-06-01T08:00:00Z'), contentsSize: 256 };
const der = (tag: string) => Buffer.concat([Buffer.from([0x30, tag.length]), Buffer.from(tag)]);

function dssData(doc: PdfDocument, key: 'Certs' | 'OCSPs' | 'CRLs'): Buffer[] {
  const dss = doc.resolveDict(doc.catalog().get('DSS'))!;
  return (doc.resolveArray(dss.get(key)) ?? []).map((r) => (doc.resolve(r) as PdfStream).data);
}

describe('addDss (PAdES B-LT, ETSI EN 319 142-1 §5.4.2)', () => {
  it.each(['table', 'stream'] as const)('adds a DSS to a signed %s file as one more revision', async (xref) => {
    const pki = await createTestPki();
    const signed = embedSignature(preparePdfSignature(buildPdf({ xref }), opts), der('cms'));
    const out = addDss(signed, { certs: [pki.seal.der, pki.issuing.der], ocsps: [der('ocsp')], crls: [der('crl')] });
    expect(out.subarray(0, signed.length).equals(signed)).toBe(true);
    const doc = readPdf(out);
    expect(doc.xrefKind).toBe(xref);
    expect(dssData(doc, 'Certs')).toEqual([pki.seal.der, pki.issuing.der]);
    expect(dssData(doc, 'OCSPs')).toEqual([der('ocsp')]);
    expect(dssData(doc, 'CRLs')).toEqual([der('crl')]);
    expect(doc.resolveDict(doc.catalog().get('DSS'))!.nameOf('Type')).toBe('DSS');
    expect(doc.signatures()).toHaveLength(1);
  });

  it('merges with an existing DSS without duplicating entries', () => {
    const once = addDss(buildPdf(), { certs: [der('a'), der('b')], ocsps: [], crls: [] });
    const twice = addDss(once, { certs: [der('b'), der('c')], ocsps: [der('o')], crls: [] });
    const doc = readPdf(twice);
    expect(dssData(doc, 'Certs')).toEqual([der('a'), der('b'), der('c')]);
    expect(dssData(doc, 'OCSPs')).toEqual([der('o')]);
    // The DSS object was rewritten in place, not duplicated.
    expect(readPdf(once).catalog().get('DSS')).toEqual(doc.catalog().get('DSS'));
    // Nothing new: the input comes back unchanged.
    expect(addDss(twice, { certs: [der('a')], ocsps: [], crls: [] })).toBe(twice);
  });

  it('writes a VRI entry keyed by the SHA-1 of the newest signature /Contents', () => {
    const first = embedSignature(preparePdfSignature(buildPdf(), opts), der('cms-1'));
    const second = embedSignature(preparePdfSignature(first, opts), der('cms-2'));
    const out = readPdf(addDss(second, { certs: [der('leaf')], ocsps: [der('ocsp')], crls: [], vri: true }));
    const contents = out.signatures().find((s) => s.field.fullName === 'Signature2')!.contents!;
    const key = createHash('sha1').update(contents).digest('hex').toUpperCase();
    const vri = out.resolveDict(out.resolveDict(out.catalog().get('DSS'))!.get('VRI'))!;
    expect([...vri.map.keys()]).toEqual([key]);
    const entry = out.resolveDict(vri.get(key))!;
    expect((entry.get('Cert') as PdfRef[]).map((r) => (out.resolve(r) as PdfStream).data)).toEqual([der('leaf')]);
    expect(entry.has('CRL')).toBe(false);
  });

  it('refuses values that are not one DER SEQUENCE, and VRI without a signature', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as AppError).code;
      }
      return undefined;
    };
    expect(code(() => addDss(buildPdf(), { certs: [Buffer.from('nope')], ocsps: [], crls: [] }))).toBe('PDF_SIGN_OPTIONS_INVALID');
    expect(code(() => addDss(buildPdf(), { certs: [Buffer.concat([der('a'), Buffer.from([0])])], ocsps: [], crls: [] }))).toBe('PDF_SIGN_OPTIONS_INVALID');
    expect(code(() => addDss(buildPdf(), { certs: [der('a')], ocsps: [], crls: [], vri: true }))).toBe('PDF_SIGN_OPTIONS_INVALID');
    expect(code(() => addDss(buildPdf({ extraTrailer: '/Encrypt 3 0 R' }), { certs: [der('a')], ocsps: [], crls: [] }))).toBe('PDF_ENCRYPTED');
  });
});
