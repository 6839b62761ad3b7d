import { addDss, embedSignature, PdfDict, PdfName, PdfRef, PdfString, preparePdfSignature, readPdf, serialize, signPdf, type SignPdfOptions } from '../../../src/pdf';
import { classifyChanges, sameValue } from '../../../src/verify/pdf-changes';
import { analysePdfSignatures, type PdfAnalysis, type ReadablePdfAnalysis } from '../../../src/verify/pdf-signatures';
import type { DocumentChange } from '../../../src/verify/report';
import {
  addAnnotation,
  addSignatureField,
  appendSignedUpdate,
  appendUpdate,
  buildUpdate,
  certifyPdf,
  DOC_TIMESTAMP_SIG,
  fillTextField,
  padesSignFn,
  replacePageContent,
  signExistingField,
  type SignFn,
} from '../../helpers/pdf-attacks';
import { createTestPki } from '../../helpers/test-pki';
import { buildPdf, MINIMAL, rawPdf, redBox } from '../pdf/fixtures';

const OPTS: SignPdfOptions = { subFilter: 'ETSI.CAdES.detached', signingTime: new Date('2025-06-01T08:00:00Z'), contentsSize: 4096 };
const TOKEN = Buffer.from('3003020101', 'hex'); // stands in for an RFC 3161 token: only the PDF side is tested here

let sign: SignFn;
beforeAll(async () => {
  sign = padesSignFn(await createTestPki());
});

function readable(a: PdfAnalysis): ReadablePdfAnalysis {
  if (!a.readable) throw new Error(`unreadable: ${JSON.stringify(a.problems)}`);
  return a;
}

const signed = async (pdf = buildPdf({ textField: true }), options: Partial<SignPdfOptions> = {}): Promise<Buffer> => (await signPdf(pdf, { ...OPTS, ...options }, sign)).pdf;
const docTimestamp = (pdf: Buffer): Buffer => embedSignature(preparePdfSignature(pdf, { subFilter: 'ETSI.RFC3161', contentsSize: 256 }), TOKEN);

/** The first signature's changes as [kind, allowed]. */
function changes(pdf: Buffer, signature = 0): [string, boolean][] {
  return full(pdf, signature).map((c) => [c.kind, c.allowed]);
}

function full(pdf: Buffer, signature = 0): DocumentChange[] {
  const a = readable(analysePdfSignatures(pdf));
  const s = a.signatures[signature];
  if (!s) throw new Error('no such signature');
  expect(classifyChanges(pdf, a, s)).toEqual(s.changes);
  return s.changes;
}

function pageOf(pdf: Buffer, n = 1) {
  return readPdf(pdf).page(n)!;
}

describe('allowed changes', () => {
  it('a signed file has no changes', async () => {
    expect(changes(await signed())).toEqual([]);
  });

  it('a later approval signature is allowed', async () => {
    const pdf = await signed(await signed());
    expect(full(pdf)).toEqual([{ revision: 3, kind: 'signature-added', allowed: true, description: 'A signature was added in a new field', object: expect.stringMatching(/^\d+ 0 R$/), page: 1 }]);
    expect(changes(pdf, 1)).toEqual([]);
  });

  it('a visible approval signature on an uncertified document is allowed', async () => {
    const pdf = await signed(await signed(), { appearance: { page: 1, rect: [100, 100, 300, 150], stream: redBox(200, 50) } });
    expect(changes(pdf)).toEqual([['signature-added', true]]);
  });

  it('DSS updates and document time-stamps (PAdES B-LT, B-LTA) are allowed', async () => {
    const der = Buffer.from('3003020101', 'hex');
    let pdf = addDss(await signed(), { certs: [der], ocsps: [], crls: [], vri: true });
    pdf = docTimestamp(pdf);
    pdf = addDss(pdf, { certs: [Buffer.from('3003020102', 'hex')], ocsps: [der], crls: [] });
    expect(changes(pdf)).toEqual([
      ['dss-added', true],
      ['document-timestamp-added', true],
      ['dss-updated', true],
    ]);
    expect(full(pdf).map((c) => c.revision)).toEqual([3, 4, 5]);
    expect(changes(pdf, 1)).toEqual([['dss-updated', true]]);
  });

  it('works across cross-reference kinds: xref-stream file, classic and stream updates', async () => {
    let pdf = await signed(buildPdf({ xref: 'stream', textField: true }));
    pdf = addDss(pdf, { certs: [TOKEN], ocsps: [], crls: [] });
    pdf = appendUpdate(pdf, [{ num: 3, body: "<< /Producer (eseal test fixture) /Title (Fixture) /ModDate (D:20250602000000Z) >>" }]);
    pdf = appendUpdate(pdf, [{ num: 3, body: "<< /Producer (other) /Title (Fixture) /ModDate (D:20250603000000Z) >>" }], { xrefStream: true });
    expect(changes(pdf)).toEqual([
      ['dss-added', true],
      ['info-updated', true],
      ['info-updated', true],
    ]);
  });

  it('form filling is allowed after an approval signature and a /P 2 certification, not after /P 1', async () => {
    const fill = (pdf: Buffer) => fillTextField(pdf, 'name', 'Bob');
    expect(changes(fill(await signed()))).toEqual([['form-field-filled', true]]);
    expect(changes(fill(await certifyPdf(buildPdf({ textField: true }), { p: 2, sign })))).toEqual([['form-field-filled', true]]);
    expect(changes(fill(await certifyPdf(buildPdf({ textField: true }), { p: 3, sign })))).toEqual([['form-field-filled', true]]);
    const p1 = full(fill(await certifyPdf(buildPdf({ textField: true }), { p: 1, sign })));
    expect(p1.map((c) => [c.kind, c.allowed, c.page])).toEqual([['form-field-filled', false, 1]]);
  });

  it('a /P 1 certification allows DSS and document time-stamps only (ETSI EN 319 142-1)', async () => {
    const cert = await certifyPdf(buildPdf(), { p: 1, sign });
    const ts = await addSignatureField(addDss(cert, { certs: [TOKEN], ocsps: [], crls: [] }), { sign: async () => TOKEN, sigBody: DOC_TIMESTAMP_SIG });
    // addDss also declares the PAdES extension in the catalog (certifyPdf did not).
    expect(changes(ts)).toEqual([
      ['catalog-extensions-updated', true],
      ['dss-added', true],
      ['document-timestamp-added', true],
    ]);
    expect(changes(await addSignatureField(cert, { sign }))).toEqual([['signature-added', false]]);
  });

  it('after a /P 2 certification: signing existing empty fields is allowed; new signature fields are not (STANDARDS item 5, sneaky signature)', async () => {
    const cert = await certifyPdf(buildPdf(), { p: 2, sign });
    // signPdf also declares the PAdES extension in the catalog (certifyPdf did not).
    const invisible = full(await signed(cert));
    expect(invisible.map((c) => [c.kind, c.allowed])).toEqual([
      ['catalog-extensions-updated', true],
      ['signature-added', false],
    ]);
    expect(invisible[1]!.description).toMatch(/fields that existed/);
    const visible = await signed(cert, { appearance: { page: 1, rect: [100, 100, 300, 150], stream: redBox(200, 50) } });
    const c = full(visible).filter((x) => x.kind !== 'catalog-extensions-updated');
    expect(c.map((x) => [x.kind, x.allowed])).toEqual([['signature-added', false]]);
    expect(c[0]!.description).toMatch(/sneaky signature/);
    expect(changes(await addSignatureField(cert, { sign, empty: true }))).toEqual([['signature-field-added', false]]);

    // A field created before certifying may be signed later, visibly.
    const withField = await addSignatureField(buildPdf(), { sign, empty: true, fieldName: 'Approver', rect: [50, 50, 150, 100] });
    const cert2 = await certifyPdf(withField, { p: 2, sign });
    const approved = await signExistingField(cert2, 'Approver', { sign, appearance: '0 0 1 rg 0 0 100 50 re f' });
    expect(changes(approved)).toEqual([['signature-added', true]]);
    const r = readable(analysePdfSignatures(approved));
    expect(r.signatures.map((s) => [s.fieldName, s.isCertification])).toEqual([
      ['Certification', true],
      ['Approver', false],
    ]);
  });
});

describe('disallowed changes', () => {
  it.each([false, true])('page content replaced in place (xref stream update: %s) → page-content-changed', async (xrefStream) => {
    const pdf = await signed();
    const contentRef = pageOf(pdf).dict.get('Contents') as PdfRef;
    const out = full(replacePageContent(pdf, 1, 'BT /F1 24 Tf 72 720 Td (Pay 1,000,000) Tj ET', { xrefStream }));
    expect(out).toEqual([{ revision: 3, kind: 'page-content-changed', allowed: false, description: expect.any(String), object: `${contentRef.key} R`, page: 1 }]);
  });

  it('page /Contents re-pointed at a new stream → page-content-changed on the page', async () => {
    const pdf = await signed();
    const doc = readPdf(pdf);
    const page = doc.page(1)!;
    const n = doc.nextObjectNumber;
    const out = appendUpdate(pdf, [
      { num: n, body: '<< /Length 2 >>\nstream\nq \nendstream' },
      { num: page.ref.num, body: serialize(page.dict.clone().set('Contents', [page.dict.get('Contents')!, new PdfRef(n, 0)])).bytes },
    ]);
    expect(full(out).map((c) => [c.kind, c.allowed, c.object, c.page])).toEqual([['page-content-changed', false, `${page.ref.key} R`, 1]]);
  });

  it('a compressed font changed by a classic update on an xref-stream file → object-changed', async () => {
    const pdf = await signed(buildPdf({ xref: 'stream' }));
    const out = full(appendUpdate(pdf, [{ num: 4, body: '<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>' }]));
    // The font is in the /Resources the Pages root passes down: no single page.
    expect(out.map((c) => [c.kind, c.allowed, c.object, c.page])).toEqual([['object-changed', false, '4 0 R', undefined]]);
    expect(out[0]!.description).toMatch(/page resource/);
  });

  it('shadow hide: an entry re-pointed at an object written, unused, before signing → xref-repointed', async () => {
    const base = buildPdf();
    const contentRef = pageOf(base).dict.get('Contents') as PdfRef;
    // The shadow document: a second object with the content's number, left out of the xref.
    const evil = 'BT /F1 24 Tf 72 720 Td (Pay 1,000,000) Tj ET';
    const shadow = buildUpdate(base, [
      { num: contentRef.num, body: `<< /Length ${evil.length} >>\nstream\n${evil}\nendstream`, orphan: true },
      { num: 3, body: '<< /Producer (shadow) >>' },
    ]);
    const pdf = await signed(shadow.pdf);
    expect(changes(pdf)).toEqual([]);
    const hidden = appendUpdate(pdf, [], { entries: [{ num: contentRef.num, offset: shadow.offsets.get(contentRef.num)! }] });
    expect(full(hidden).map((c) => [c.kind, c.allowed, c.object, c.page])).toEqual([['xref-repointed', false, `${contentRef.key} R`, 1]]);
    // The same with a cross-reference stream.
    expect(changes(appendUpdate(pdf, [], { xrefStream: true, entries: [{ num: contentRef.num, offset: shadow.offsets.get(contentRef.num)! }] }))).toEqual([['xref-repointed', false]]);
  });

  it('shadow hide-and-replace: a page made to use an object that was in the file but unused at signing → xref-repointed', async () => {
    const base = buildPdf();
    const n = readPdf(base).nextObjectNumber;
    const evil = '1 0 0 rg 0 0 595 842 re f';
    const shadow = appendUpdate(base, [{ num: n, body: `<< /Length ${evil.length} >>\nstream\n${evil}\nendstream` }]);
    const pdf = await signed(shadow);
    const page = pageOf(pdf);
    const out = appendUpdate(pdf, [{ num: page.ref.num, body: serialize(page.dict.clone().set('Contents', [page.dict.get('Contents')!, new PdfRef(n, 0)])).bytes }]);
    expect(changes(out).sort()).toEqual([
      ['page-content-changed', false],
      ['xref-repointed', false],
    ]);
  });

  it('shadow hide-and-replace: the trailer /Root switched to a catalog hidden in the signed file → catalog-changed, xref-repointed', async () => {
    const base = buildPdf();
    const n = readPdf(base).nextObjectNumber;
    const evil = 'BT /F1 24 Tf 72 720 Td (Pay 1,000,000) Tj ET';
    // The hidden document: its own catalog, page tree, page and content, all unused when signed.
    const shadow = appendUpdate(base, [
      { num: n, body: `<< /Type /Catalog /Pages ${n + 1} 0 R >>` },
      { num: n + 1, body: `<< /Type /Pages /Kids [${n + 2} 0 R] /Count 1 /MediaBox [0 0 595 842] >>` },
      { num: n + 2, body: `<< /Type /Page /Parent ${n + 1} 0 R /Contents ${n + 3} 0 R >>` },
      { num: n + 3, body: `<< /Length ${evil.length} >>\nstream\n${evil}\nendstream` },
    ]);
    const pdf = await signed(shadow);
    const out = full(appendUpdate(pdf, [], { root: `${n} 0 R` }));
    expect(out.every((c) => !c.allowed)).toBe(true);
    expect(new Set(out.map((c) => c.kind))).toEqual(new Set(['catalog-changed', 'xref-repointed']));
    expect(out.filter((c) => c.kind === 'xref-repointed')).toHaveLength(1); // the hidden tree is one finding, not four
    // The signature is still reported although the new catalog has no form: it was hidden, not absent.
    const a = readable(analysePdfSignatures(appendUpdate(pdf, [], { root: `${n} 0 R` })));
    expect(a.signatures[0]!.checks.find((c) => c.name === 'signature-presence')).toMatchObject({ result: 'warning', code: 'SIGNATURE_NOT_IN_LAST_REVISION' });
  });

  it('an overlay hidden by freeing its object → xref-repointed', async () => {
    const pdf = await signed();
    const contentRef = pageOf(pdf).dict.get('Contents') as PdfRef;
    expect(changes(appendUpdate(pdf, [], { free: [contentRef.num] }))).toEqual([['xref-repointed', false]]);
  });

  it('evil annotation: a FreeText annotation is disallowed after an approval or a /P 2 certification, allowed under /P 3', async () => {
    const annot = '<< /Type /Annot /Subtype /FreeText /Rect [72 600 400 700] /Contents (Paid in full) /DA (/Helv 24 Tf 1 0 0 rg) >>';
    const approval = full(addAnnotation(await signed(), 1, annot));
    expect(approval.map((c) => [c.kind, c.allowed, c.page])).toEqual([['annotation-added', false, 1]]);
    expect(approval[0]!.description).toMatch(/FreeText/);
    expect(changes(addAnnotation(await certifyPdf(buildPdf(), { p: 2, sign }), 1, annot))).toEqual([['annotation-added', false]]);
    expect(changes(addAnnotation(await certifyPdf(buildPdf(), { p: 3, sign }), 1, annot))).toEqual([['annotation-added', true]]);
  });

  it('an annotation removed from an indirect /Annots array is disallowed (allowed under /P 3)', async () => {
    const cert = await certifyPdf(buildPdf({ indirectAnnots: true }), { p: 2, sign });
    const page = pageOf(cert);
    const stripped = appendUpdate(cert, [{ num: page.ref.num, body: serialize(page.dict.clone().set('Annots', [(readPdf(cert).resolveArray(page.dict.get('Annots')) ?? [])[1]!])).bytes }]);
    expect(changes(stripped)).toEqual([['annotation-removed', false]]);
    const cert3 = await certifyPdf(buildPdf({ indirectAnnots: true }), { p: 3, sign });
    const page3 = pageOf(cert3);
    const stripped3 = appendUpdate(cert3, [{ num: page3.ref.num, body: serialize(page3.dict.clone().set('Annots', [(readPdf(cert3).resolveArray(page3.dict.get('Annots')) ?? [])[1]!])).bytes }]);
    expect(changes(stripped3)).toEqual([['annotation-removed', true]]);
  });

  it('catalog changes: /OpenAction, /Names, /AcroForm /NeedAppearances', async () => {
    const pdf = await signed();
    const doc = readPdf(pdf);
    const cat = doc.catalog().clone().set('OpenAction', new PdfDict().set('S', new PdfName('JavaScript')).set('JS', new PdfString(Buffer.from('app.alert(1)'))));
    const out = full(appendUpdate(pdf, [{ num: doc.catalogRef.num, body: serialize(cat).bytes }]));
    expect(out.map((c) => [c.kind, c.allowed])).toEqual([['catalog-changed', false]]);
    expect(out[0]!.description).toContain('/OpenAction');

    const formRef = doc.catalog().get('AcroForm') as PdfRef;
    const form = doc.acroForm()!.clone().set('NeedAppearances', true);
    const na = full(appendUpdate(pdf, [{ num: formRef.num, body: serialize(form).bytes }]));
    expect(na.map((c) => [c.kind, c.allowed])).toEqual([['catalog-changed', false]]);
    expect(na[0]!.description).toContain('/NeedAppearances');
  });

  it('a certification added to an approved document → catalog-changed (/Perms)', async () => {
    const out = changes(await certifyPdf(await signed(), { p: 3, sign }));
    expect(out).toContainEqual(['catalog-changed', false]);
  });

  it('the document information beyond /ModDate and /Producer → object-changed', async () => {
    const pdf = await signed();
    expect(changes(appendUpdate(pdf, [{ num: 3, body: '<< /Producer (eseal test fixture) /Title (Another title) >>' }]))).toEqual([['object-changed', false]]);
  });

  it('form fields: a new text field, a changed field /Rect, a removed signature field', async () => {
    const pdf = await signed();
    const doc = readPdf(pdf);
    const formRef = doc.catalog().get('AcroForm') as PdfRef;
    const form = doc.acroForm()!;
    const fields = doc.resolveArray(form.get('Fields'))!;
    const n = doc.nextObjectNumber;
    const added = appendUpdate(pdf, [
      { num: n, body: '<< /FT /Tx /T (extra) /V (x) >>' },
      { num: formRef.num, body: serialize(form.clone().set('Fields', [...fields, new PdfRef(n, 0)])).bytes },
    ]);
    expect(changes(added)).toEqual([['form-field-added', false]]);

    const field = doc.fields().find((f) => f.fullName === 'name')!;
    const moved = appendUpdate(pdf, [{ num: field.ref.num, body: serialize(field.dict.clone().set('Rect', [0, 0, 595, 842])).bytes }]);
    expect(changes(moved)).toEqual([['form-field-changed', false]]);

    const two = await signed(pdf);
    const d2 = readPdf(two);
    const f2 = d2.acroForm()!;
    const removed = appendUpdate(two, [{ num: formRef.num, body: serialize(f2.clone().set('Fields', (d2.resolveArray(f2.get('Fields')) ?? []).slice(0, -1))).bytes }]);
    expect(changes(removed)).toEqual([
      ['signature-added', true],
      ['form-field-removed', false],
    ]);
  });

  it('a signature dictionary or widget appearance changed after signing → disallowed', async () => {
    const pdf = await signed(buildPdf(), { appearance: { page: 1, rect: [100, 100, 300, 150], stream: redBox(200, 50) } });
    const doc = readPdf(pdf);
    const widget = doc.signatures()[0]!.field.dict;
    const ap = doc.resolveDict(widget.get('AP'))!.get('N') as PdfRef;
    const repainted = appendUpdate(pdf, [{ num: ap.num, body: '<< /Type /XObject /Subtype /Form /BBox [0 0 200 50] /Length 24 >>\nstream\n0 1 0 rg 0 0 200 50 re f\nendstream' }]);
    expect(changes(repainted)).toEqual([['annotation-changed', false]]);
  });

  it('a page added to the page tree → object-changed', async () => {
    const pdf = await signed();
    const doc = readPdf(pdf);
    const pages = doc.catalog().get('Pages') as PdfRef;
    const n = doc.nextObjectNumber;
    const tree = doc.resolveDict(pages)!.clone().set('Kids', [doc.page(1)!.ref, new PdfRef(n, 0)]).set('Count', 2);
    const out = appendUpdate(pdf, [
      { num: n, body: `<< /Type /Page /Parent ${pages.key} R >>` },
      { num: pages.num, body: serialize(tree).bytes },
    ]);
    expect(changes(out)).toEqual([['object-changed', false]]);
  });

  it('a page added through an indirect /Kids array → object-changed', async () => {
    const base = rawPdf({
      ...MINIMAL,
      2: '<< /Type /Pages /Kids 4 0 R /Count 1 /MediaBox [0 0 200 200] >>',
      4: '[3 0 R]',
    });
    const pdf = await signed(base);
    const n = readPdf(pdf).nextObjectNumber;
    const out = appendUpdate(pdf, [
      { num: n, body: '<< /Type /Page /Parent 2 0 R >>' },
      { num: 4, body: `[3 0 R ${n} 0 R]` },
    ]);
    expect(changes(out)).toEqual([['object-changed', false]]);
    expect(readPdf(out).pageCount).toBe(2);
  });

  it('an unreadable object in a later update → unparseable-update', async () => {
    const pdf = await signed();
    const contentRef = pageOf(pdf).dict.get('Contents') as PdfRef;
    expect(changes(appendUpdate(pdf, [{ num: contentRef.num, body: '<< /Length 999999 >>\nstream\nx\nendstream' }]))).toEqual([['unparseable-update', false]]);
  });

  it('a stream whose indirect /Length is changed later → disallowed', async () => {
    const content = 'BT /F1 12 Tf 10 10 Td (ok) Tj ET';
    const base = rawPdf({
      ...MINIMAL,
      3: '<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>',
      4: `<< /Length 5 0 R >>\nstream\n${content}\nendstream`,
      5: String(content.length),
    });
    const pdf = await signed(base);
    const out = changes(appendUpdate(pdf, [{ num: 5, body: String(content.length - 5) }]));
    expect(out.length).toBeGreaterThan(0);
    expect(out.every(([, allowed]) => !allowed)).toBe(true);
  });

  it('a truncated update after the signature → unparseable-update', async () => {
    const pdf = await signed();
    const withDss = addDss(pdf, { certs: [TOKEN], ocsps: [], crls: [] });
    const cut = withDss.subarray(0, withDss.length - 40);
    expect(full(cut).map((c) => [c.kind, c.allowed, c.revision])).toEqual([['unparseable-update', false, 3]]);
  });

  it('fails closed when the comparison exceeds its bounds', async () => {
    let pdf = await signed(buildPdf());
    for (let i = 0; i < 8; i++) pdf = appendUpdate(pdf, [{ num: 3, body: `<< /Producer (p${i}) >>` }]);
    const a = readable(analysePdfSignatures(pdf, { maxObjects: readPdf(pdf).nextObjectNumber + 1 }));
    const kinds = a.signatures[0]!.changes.map((c) => [c.kind, c.allowed]);
    expect(kinds).toContainEqual(['change-analysis-incomplete', false]);
  });

  it('a signature appended to a certified document by hand with a second certification → disallowed', async () => {
    const cert = await certifyPdf(buildPdf(), { p: 2, sign });
    const doc = readPdf(cert);
    const n = doc.nextObjectNumber;
    const out = await appendSignedUpdate(
      cert,
      [
        { num: n, body: DOC_TIMESTAMP_SIG },
        { num: doc.catalogRef.num, body: serialize(doc.catalog().clone().set('Perms', new PdfDict().set('DocMDP', new PdfRef(n, 0)))).bytes },
      ],
      async () => TOKEN,
    );
    expect(changes(out)).toContainEqual(['catalog-changed', false]);
  });
});

describe('sameValue', () => {
  it('compares references by number and streams by bytes', () => {
    expect(sameValue(new PdfRef(1, 0), new PdfRef(1, 0))).toBe(true);
    expect(sameValue(new PdfRef(1, 0), new PdfRef(1, 1))).toBe(false);
    expect(sameValue(new PdfDict().set('A', [1, new PdfName('x')]), new PdfDict().set('A', [1, new PdfName('x')]))).toBe(true);
    expect(sameValue(new PdfDict().set('A', 1), new PdfDict().set('A', 1).set('B', 2))).toBe(false);
    expect(sameValue(new PdfString(Buffer.from('a')), new PdfString(Buffer.from('a'), true))).toBe(true);
    expect(sameValue(null, undefined)).toBe(false);
  });
});
