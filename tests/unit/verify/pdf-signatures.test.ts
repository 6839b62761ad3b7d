import { createHash } from 'node:crypto';
import { addDss, byteRangeBytes, embedSignature, PdfDict, PdfRef, preparePdfSignature, readPdf, serialize, signPdf, type SignPdfOptions } from '../../../src/pdf';
import { analysePdfSignatures, parsePdfDate, type PdfAnalysis, type PdfSignatureCandidate, type ReadablePdfAnalysis } from '../../../src/verify/pdf-signatures';
import { appendSignedUpdate, appendUpdate, BYTE_RANGE, certifyPdf, CONTENTS, padesSignFn, type SignFn, type UpdateObjectSpec } from '../../helpers/pdf-attacks';
import { createTestPki, type TestPki } from '../../helpers/test-pki';
import { buildPdf } from '../pdf/fixtures';

const T = new Date('2025-06-01T08:00:00Z');
const OPTS: SignPdfOptions = { subFilter: 'ETSI.CAdES.detached', signingTime: T, contentsSize: 4096, reason: '审批', location: 'Hangzhou' };

let pki: TestPki;
let sign: SignFn;
beforeAll(async () => {
  pki = await createTestPki();
  sign = padesSignFn(pki);
});

function readable(a: PdfAnalysis): ReadablePdfAnalysis {
  if (!a.readable) throw new Error(`unreadable: ${JSON.stringify(a.problems)}`);
  return a;
}

const failedCodes = (c: PdfSignatureCandidate): (string | undefined)[] => c.checks.filter((x) => x.result === 'failed').map((x) => x.code);
const only = (pdf: Buffer): PdfSignatureCandidate => {
  const a = readable(analysePdfSignatures(pdf));
  expect(a.signatures).toHaveLength(1);
  return a.signatures[0]!;
};

async function signed(pdf = buildPdf(), options: Partial<SignPdfOptions> = {}, fn: SignFn = sign): Promise<Buffer> {
  return (await signPdf(pdf, { ...OPTS, ...options }, fn)).pdf;
}

/** Rewrites the text of the last /ByteRange array in place (it is space-padded to a fixed width). */
function patchByteRange(pdf: Buffer, f: (br: number[]) => string): Buffer {
  const out = Buffer.from(pdf);
  const start = out.lastIndexOf('/ByteRange [') + '/ByteRange '.length;
  let end = out.indexOf(']', start) + 1;
  const br = out.toString('latin1', start + 1, end - 1).trim().split(/\s+/).map(Number);
  while (out[end] === 0x20) end++;
  const text = f(br);
  if (text.length > end - start) throw new Error('replacement too long');
  out.write(text.padEnd(end - start, ' '), start, 'latin1');
  return out;
}

/** Replaces `from` by `to` (same length after padding with spaces) at its last occurrence. */
function patchLast(pdf: Buffer, from: string, to: string): Buffer {
  const out = Buffer.from(pdf);
  const at = out.lastIndexOf(from);
  if (at < 0 || to.length > from.length) throw new Error(`cannot patch ${from}`);
  out.write(to.padEnd(from.length, ' '), at, 'latin1');
  return out;
}

/**
 * A signature written by hand: the signature dictionary `sigBody` (with BYTE_RANGE and,
 * unless elsewhere, CONTENTS placeholders), a widget field for it on page 1 and /AcroForm.
 * `extra(n)` adds objects numbered from n.
 */
async function handSigned(pdf: Buffer, sigBody: string, extra: (n: number) => UpdateObjectSpec[] = () => [], fn: SignFn = sign): Promise<Buffer> {
  const doc = readPdf(pdf);
  const sig = doc.nextObjectNumber;
  const widget = sig + 1;
  const page = doc.page(1)!;
  const catalog = doc.catalog().clone().set('AcroForm', new PdfDict().set('Fields', [new PdfRef(widget, 0)]).set('SigFlags', 3));
  const objects: UpdateObjectSpec[] = [
    { num: sig, body: sigBody },
    { num: widget, body: `<< /Type /Annot /Subtype /Widget /FT /Sig /T (Hand) /V ${sig} 0 R /F 132 /P ${page.ref.num} 0 R /Rect [0 0 0 0] >>` },
    { num: page.ref.num, body: serialize(page.dict.clone().set('Annots', [new PdfRef(widget, 0)])).bytes },
    { num: doc.catalogRef.num, body: serialize(catalog).bytes },
    ...extra(sig + 2),
  ];
  return appendSignedUpdate(pdf, objects, fn, { contentsSize: 4096 });
}

const SIG_HEAD = "/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:20250601080000+00'00')";

describe('analysePdfSignatures: a cleanly signed file', () => {
  it.each(['table', 'stream', 'hybrid'] as const)('finds one signature covering the whole %s file', async (xref) => {
    const base = buildPdf({ xref, textField: true, pages: 2 });
    let cms: Buffer | undefined;
    const pdf = await signed(base, {}, async (tbs) => (cms = await sign(tbs)));
    const a = readable(analysePdfSignatures(pdf));
    expect(a.size).toBe(pdf.length);
    expect(a.revisions.map((r) => r.number)).toEqual([1, 2]);
    expect(a.revisions[0]!.end).toBe(base.length);
    expect(a.revisions[1]!.end).toBe(pdf.length);
    expect(a.revisions[1]!.xrefKind).toBe(xref === 'hybrid' ? 'table' : xref);
    expect(a.problems).toEqual([]);
    expect(a.trailing).toEqual([]);
    const s = a.signatures[0]!;
    expect(a.signatures).toHaveLength(1);
    expect(failedCodes(s)).toEqual([]);
    expect(s.checks.every((c) => c.group === 'format' && c.result === 'passed')).toBe(true);
    const doc = readPdf(pdf);
    const info = doc.signatures()[0]!;
    expect(s).toMatchObject({
      fieldName: 'Signature1',
      fieldRef: `${info.field.ref.key} R`,
      sigRef: `${info.value!.ref!.key} R`,
      type: 'Sig',
      filter: 'Adobe.PPKLite',
      subFilter: 'ETSI.CAdES.detached',
      byteRange: info.byteRange,
      reason: '审批',
      location: 'Hangzhou',
      isCertification: false,
      signedRevision: 2,
      coverage: 'WHOLE_DOCUMENT',
      modifiedAfterSigning: false,
      changes: [],
    });
    expect(s.docMdpP).toBeUndefined();
    expect(s.claimedSigningTime).toEqual(T);
    expect(s.claimedSigningTimeRaw).toBe("D:20250601080000+00'00'");
    expect(s.cms).toEqual(cms);
    expect(s.vriKey).toBe(createHash('sha1').update(info.contents!).digest('hex').toUpperCase());
    const [x, a1, b, c] = s.byteRange!;
    const expected = createHash('sha256').update(pdf.subarray(x!, a1)).update(pdf.subarray(b!, b! + c!)).digest();
    expect(s.digest!('sha256')).toEqual(expected);
    expect(s.signedBytes!()).toEqual(Buffer.concat([pdf.subarray(0, a1), pdf.subarray(b!)]));
    expect(s.signedRanges![0].buffer).toBe(pdf.buffer); // views, not copies
  });

  it('cuts the CMS at its outer DER length, keeping zero bytes that belong to it', async () => {
    const der = Buffer.from('3006040401020000', 'hex'); // SEQUENCE { OCTET STRING 01 02 00 00 }
    const s = only(await signed(buildPdf(), {}, async () => der));
    expect(s.cms).toEqual(der);
    const ber = Buffer.from('30800402010000000000', 'hex').subarray(0, 8); // indefinite length, EOC
    expect(only(await signed(buildPdf(), {}, async () => ber)).cms).toEqual(ber);
  });

  it('reads a document time-stamp', async () => {
    const first = await signed();
    const p = preparePdfSignature(first, { subFilter: 'ETSI.RFC3161', contentsSize: 256 });
    const token = Buffer.from('3003020101', 'hex');
    const pdf = embedSignature(p, token);
    const a = readable(analysePdfSignatures(pdf));
    expect(a.signatures.map((s) => [s.type, s.subFilter, s.coverage, s.signedRevision])).toEqual([
      ['Sig', 'ETSI.CAdES.detached', 'REVISION', 2],
      ['DocTimeStamp', 'ETSI.RFC3161', 'WHOLE_DOCUMENT', 3],
    ]);
    const ts = a.signatures[1]!;
    expect(failedCodes(ts)).toEqual([]);
    expect(ts.cms).toEqual(token);
    expect(ts.claimedSigningTime).toBeUndefined();
    expect(ts.digest!('sha256')).toEqual(createHash('sha256').update(byteRangeBytes(p)).digest());
  });

  it('lists two approval signatures in file order, the first covering its revision', async () => {
    const pdf = await signed(await signed());
    const a = readable(analysePdfSignatures(pdf));
    expect(a.signatures.map((s) => [s.fieldName, s.coverage, s.signedRevision, s.modifiedAfterSigning])).toEqual([
      ['Signature1', 'REVISION', 2, true],
      ['Signature2', 'WHOLE_DOCUMENT', 3, false],
    ]);
    expect(a.signatures.flatMap(failedCodes)).toEqual([]);
  });

  it('decodes the DSS, its VRI and the DSS of earlier revisions', async () => {
    const der = (s: string) => Buffer.concat([Buffer.from([0x30, s.length]), Buffer.from(s)]);
    const pdf = addDss(await signed(), { certs: [pki.seal.der, pki.issuing.der], ocsps: [der('ocsp')], crls: [der('crl')], vri: true });
    const a = readable(analysePdfSignatures(pdf));
    expect(a.dss!.certs).toEqual([pki.seal.der, pki.issuing.der]);
    expect(a.dss!.ocsps).toEqual([der('ocsp')]);
    expect(a.dss!.crls).toEqual([der('crl')]);
    expect(a.dss!.vri).toEqual([{ key: a.signatures[0]!.vriKey, certs: [pki.seal.der, pki.issuing.der], ocsps: [der('ocsp')], crls: [der('crl')] }]);
    expect(a.dssRevision).toBe(3);
    expect(a.dssAt(2)).toBeUndefined();
    expect(a.dssAt(3)).toBe(a.dss);
    expect(a.dssAt(9)).toBeUndefined();
    const more = readable(analysePdfSignatures(addDss(pdf, { certs: [pki.root.der], ocsps: [], crls: [] })));
    expect(more.dssRevision).toBe(4);
    expect(more.dssAt(3)!.certs).toHaveLength(2);
    expect(more.dss!.certs).toHaveLength(3);
  });
});

describe('analysePdfSignatures: unreadable input never throws', () => {
  it.each<[string, () => Buffer, string]>([
    ['random bytes', () => Buffer.from('hello, not a pdf'), 'PDF_MALFORMED'],
    ['an empty buffer', () => Buffer.alloc(0), 'PDF_MALFORMED'],
    ['an encrypted file', () => buildPdf({ extraTrailer: '/Encrypt 3 0 R' }), 'PDF_ENCRYPTED'],
    ['a file truncated before its first %%EOF', () => buildPdf().subarray(0, 400), 'PDF_MALFORMED'],
  ])('%s → readable: false (%s)', (_l, make, code) => {
    const a = analysePdfSignatures(make());
    expect(a.readable).toBe(false);
    expect(a.problems.map((p) => [p.group, p.name, p.result, p.code])).toEqual([['format', 'pdf-structure', 'failed', code]]);
  });

  it('honours the size limit and refuses a non-Buffer', () => {
    expect(analysePdfSignatures(buildPdf(), { maxBytes: 100 }).problems[0]!.code).toBe('PDF_LIMIT_EXCEEDED');
    expect(analysePdfSignatures('%PDF-1.7' as unknown as Buffer).readable).toBe(false);
  });

  it('survives random mutations of a signed, updated file (only checks and changes, never an exception)', async () => {
    const base = addDss(await signed(buildPdf({ xref: 'stream', textField: true })), { certs: [pki.seal.der], ocsps: [], crls: [] });
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let readableCount = 0;
    for (let i = 0; i < 150; i++) {
      let m = Buffer.from(base);
      const op = rnd(4);
      if (op === 0) for (let k = 0; k < 1 + rnd(8); k++) m[rnd(m.length)] = rnd(256);
      else if (op === 1) m = m.subarray(0, rnd(m.length));
      else if (op === 2) {
        const at = rnd(m.length);
        m = Buffer.concat([m.subarray(0, at), Buffer.from('>> endobj [ 9 0 R'), m.subarray(at)]);
      } else for (let k = 0; k < 1 + rnd(4); k++) m[rnd(m.length)] = '0123456789<>[]/R'.charCodeAt(rnd(16));
      const a = analysePdfSignatures(m);
      expect(typeof a.readable).toBe('boolean');
      if (a.readable) {
        readableCount++;
        for (const s of a.signatures) for (const c of s.checks) expect(['passed', 'failed', 'warning']).toContain(c.result);
      }
    }
    expect(readableCount).toBeGreaterThan(10);
  });
});

describe('analysePdfSignatures: /ByteRange (checklist items 1–3)', () => {
  let pdf: Buffer;
  beforeAll(async () => {
    pdf = await signed();
  });

  it.each<[string, (br: number[]) => string, string[]]>([
    ['three values', ([x, a, b]) => `[${x} ${a} ${b}]`, ['BYTE_RANGE_MALFORMED']],
    ['five values', ([x, a, b, c]) => `[${x} ${a} ${b} ${c} 0]`, ['BYTE_RANGE_MALFORMED']],
    ['a negative length', ([x, a, b]) => `[${x} ${a} ${b} -1]`, ['BYTE_RANGE_MALFORMED']],
    ['a fraction', ([x, a, b, c]) => `[${x} ${a}.5 ${b} ${c}]`, ['BYTE_RANGE_MALFORMED']],
    ['not starting at 0', ([, a, b, c]) => `[1 ${a} ${b} ${c}]`, ['BYTE_RANGE_MALFORMED']],
    ['ranges out of order', ([x, a, b, c]) => `[${x} ${b} ${a} ${c}]`, ['BYTE_RANGE_MALFORMED']],
    ['a range past the end of the file', ([x, a, b, c]) => `[${x} ${a} ${b} ${c! + 10}]`, ['BYTE_RANGE_MALFORMED']],
    ['an indirect element', ([x, a, b]) => `[${x} ${a} ${b} 1 0 R]`, ['BYTE_RANGE_MALFORMED']],
    ['a flipped digit in the gap start', ([x, a, b, c]) => `[${x} ${a! - 1} ${b} ${c}]`, ['BYTE_RANGE_GAP_NOT_CONTENTS']],
    ['a flipped digit in the gap end', ([x, a, b, c]) => `[${x} ${a} ${b! + 1} ${c! - 1}]`, ['BYTE_RANGE_GAP_NOT_CONTENTS']],
    ['a shrunk last range', ([x, a, b, c]) => `[${x} ${a} ${b} ${c! - 10}]`, ['BYTE_RANGE_NOT_REVISION']],
  ])('fails closed on %s', (_l, f, codes) => {
    const s = only(patchByteRange(pdf, f));
    expect(failedCodes(s)).toEqual(codes);
    if (codes.includes('BYTE_RANGE_NOT_REVISION')) {
      expect(s.coverage).toBe('PARTIAL');
      expect(s.signedRevision).toBeUndefined();
      expect(s.modifiedAfterSigning).toBe(true);
    }
    if (codes.includes('BYTE_RANGE_MALFORMED')) expect(s.digest).toBeUndefined();
  });

  it('fails closed on a missing /ByteRange', () => {
    const s = only(patchLast(pdf, '/ByteRange', '/ByteRangX'));
    expect(failedCodes(s)).toEqual(['BYTE_RANGE_MISSING']);
    expect(s.coverage).toBe('PARTIAL');
  });
});

describe('analysePdfSignatures: /Contents, /Filter, /SubFilter (checklist item 1)', () => {
  let pdf: Buffer;
  beforeAll(async () => {
    pdf = await signed();
  });

  it('fails on zeroed /Contents', () => {
    const s = only(pdf);
    const [, a, b] = s.byteRange!;
    const zeroed = Buffer.from(pdf);
    zeroed.fill('0', a! + 1, b! - 1);
    const z = only(zeroed);
    expect(failedCodes(z)).toEqual(['CONTENTS_EMPTY']);
    expect(z.cms).toBeUndefined();
  });

  it('fails on bytes after the CMS and on a /Contents that is not a DER SEQUENCE', async () => {
    const der = Buffer.from('3003020101', 'hex');
    expect(failedCodes(only(await signed(buildPdf(), {}, async () => Buffer.concat([der, Buffer.from([0, 7])]))))).toEqual(['CONTENTS_TRAILING_DATA']);
    expect(failedCodes(only(await signed(buildPdf(), {}, async () => Buffer.from('308220000201', 'hex'))))).toEqual(['CONTENTS_NOT_DER']);
    expect(failedCodes(only(await signed(buildPdf(), {}, async () => Buffer.from('30840fffffff', 'hex'))))).toEqual(['CONTENTS_NOT_DER']);
  });

  it.each<[string, string, string, string[]]>([
    ['a deprecated adbe.pkcs7.sha1', '/SubFilter /ETSI.CAdES.detached', '/SubFilter /adbe.pkcs7.sha1', ['SUBFILTER_UNSUPPORTED']],
    ['adbe.x509.rsa_sha1', '/SubFilter /ETSI.CAdES.detached', '/SubFilter /adbe.x509.rsa_sha1', ['SUBFILTER_UNSUPPORTED']],
    ['an unknown sub-filter', '/SubFilter /ETSI.CAdES.detached', '/SubFilter /x.y', ['SUBFILTER_UNSUPPORTED']],
    ['ETSI.RFC3161 on a /Sig', '/SubFilter /ETSI.CAdES.detached', '/SubFilter /ETSI.RFC3161', ['SUBFILTER_TYPE_MISMATCH']],
    ['a missing /SubFilter', '/SubFilter /ETSI.CAdES.detached', '', ['SUBFILTER_MISSING']],
    ['a missing /Filter', '/Filter /Adobe.PPKLite', '', ['FILTER_MISSING']],
    ['a /Filter that is not a name', '/Filter /Adobe.PPKLite', '/Filter (Adobe)', ['FILTER_INVALID']],
    ['a /Type that is not a signature type', '/Type /Sig', '/Type /Foo', ['SIGNATURE_TYPE_INVALID']],
  ])('fails on %s', (_l, from, to, codes) => {
    expect(failedCodes(only(patchLast(pdf, from, to)))).toEqual(codes);
  });

  it('accepts adbe.pkcs7.detached and warns on another /Filter handler', () => {
    expect(failedCodes(only(patchLast(pdf, '/SubFilter /ETSI.CAdES.detached', '/SubFilter /adbe.pkcs7.detached')))).toEqual([]);
    const s = only(patchLast(pdf, '/Filter /Adobe.PPKLite', '/Filter /Entrust.PPKEF'));
    expect(failedCodes(s)).toEqual([]);
    expect(s.checks.find((c) => c.name === 'filter')).toMatchObject({ result: 'warning', code: 'FILTER_UNEXPECTED' });
  });
});

describe('analysePdfSignatures: signature wrapping (checklist item 2)', () => {
  it('accepts a hand-written signature whose gap is its own /Contents', async () => {
    const s = only(await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`));
    expect(failedCodes(s)).toEqual([]);
    expect(s.coverage).toBe('WHOLE_DOCUMENT');
  });

  it('fails when the gap is a hex string outside the signature dictionary (moved /Contents)', async () => {
    const pdf = await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents <3003020101> >>`, (n) => [{ num: n, body: `[${CONTENTS}]` }]);
    const s = only(pdf);
    expect(failedCodes(s)).toEqual(['BYTE_RANGE_GAP_NOT_CONTENTS']);
    expect(s.cms).toEqual(Buffer.from('3003020101', 'hex'));
  });

  it('fails when the dictionary has a second /Contents (the gap is the one readers ignore)', async () => {
    const pdf = await handSigned(buildPdf(), `<< ${SIG_HEAD} /Contents <3003020101> /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`);
    expect(failedCodes(only(pdf))).toEqual(['SIGNATURE_DICT_DUPLICATE_KEY', 'BYTE_RANGE_GAP_NOT_CONTENTS']);
  });

  it('fails on a literal-string or indirect /Contents', async () => {
    const lit = await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents (0\\000) /X ${CONTENTS} >>`);
    expect(failedCodes(only(lit))).toEqual(['CONTENTS_NOT_HEX', 'BYTE_RANGE_GAP_NOT_CONTENTS']);
    const ind = await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents 99 0 R /X ${CONTENTS} >>`);
    expect(failedCodes(only(ind))).toEqual(['CONTENTS_NOT_DIRECT', 'BYTE_RANGE_GAP_NOT_CONTENTS']);
    const missing = await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /X ${CONTENTS} >>`);
    expect(failedCodes(only(missing))).toEqual(['CONTENTS_MISSING', 'BYTE_RANGE_GAP_NOT_CONTENTS']);
  });

  it('fails when a gap holds more than hex digits', async () => {
    const pdf = await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`);
    const s = only(pdf);
    const [, a] = s.byteRange!;
    const bad = Buffer.from(pdf);
    bad.write('3003020101', a! + 1, 'latin1');
    bad.write('>>', a! + 11, 'latin1'); // a reader would now end the string early
    const r = analysePdfSignatures(bad);
    if (r.readable && r.signatures.length === 1) expect(failedCodes(r.signatures[0]!)).toContain('BYTE_RANGE_GAP_NOT_CONTENTS');
    else expect(r.readable && r.signatures.length === 0).toBe(true);
  });

  it('fails a signature dictionary that is direct, or inside an object stream', async () => {
    const base = buildPdf();
    const doc = readPdf(base);
    const n = doc.nextObjectNumber;
    const page = doc.page(1)!;
    const catalog = serialize(doc.catalog().clone().set('AcroForm', new PdfDict().set('Fields', [new PdfRef(n + 1, 0)]))).bytes;
    const annotated = serialize(page.dict.clone().set('Annots', [new PdfRef(n + 1, 0)])).bytes;
    const direct = await appendSignedUpdate(
      base,
      [
        { num: n + 1, body: `<< /Type /Annot /Subtype /Widget /FT /Sig /T (Direct) /V << ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >> /P ${page.ref.key} R /Rect [0 0 0 0] >>` },
        { num: page.ref.num, body: annotated },
        { num: 1, body: catalog },
      ],
      sign,
      { contentsSize: 4096 },
    );
    expect(failedCodes(only(direct))).toEqual(['SIGNATURE_DICT_NOT_INDIRECT', 'BYTE_RANGE_GAP_NOT_CONTENTS']);

    const sigBody = `<< ${SIG_HEAD} /ByteRange [0 10 20 30] /Contents <3003020101> >>`;
    const header = `${n} 0 `;
    const objStm = `<< /Type /ObjStm /N 1 /First ${header.length} /Length ${header.length + sigBody.length} >>\nstream\n${header}${sigBody}\nendstream`;
    const compressed = appendUpdate(
      base,
      [
        { num: n + 2, body: objStm },
        { num: n + 1, body: `<< /Type /Annot /Subtype /Widget /FT /Sig /T (Packed) /V ${n} 0 R /P ${page.ref.key} R /Rect [0 0 0 0] >>` },
        { num: page.ref.num, body: annotated },
        { num: 1, body: catalog },
      ],
      { xrefStream: true, compressed: [{ num: n, stream: n + 2, index: 0 }] },
    );
    const s = only(compressed);
    expect(s.sigRef).toBe(`${n} 0 R`);
    expect(failedCodes(s)).toEqual(['SIGNATURE_DICT_COMPRESSED', 'BYTE_RANGE_GAP_NOT_CONTENTS', 'BYTE_RANGE_NOT_REVISION']);
  });

  it('fails when a later update replaces the signature dictionary', async () => {
    const pdf = await signed();
    const doc = readPdf(pdf);
    const sigRef = doc.signatures()[0]!.value!.ref!;
    const s0 = only(pdf);
    // The same dictionary written again in a new update: the /ByteRange gap no longer matches.
    const copy = pdf.subarray(doc.xrefEntry(sigRef.num)!.a, doc.xrefEntry(sigRef.num)!.a + 20000).toString('latin1');
    const bodyText = copy.slice(copy.indexOf('obj') + 3, copy.indexOf('endobj'));
    const s = only(appendUpdate(pdf, [{ num: sigRef.num, body: bodyText }]));
    expect(failedCodes(s)).toEqual(expect.arrayContaining(['BYTE_RANGE_GAP_NOT_CONTENTS', 'SIGNATURE_DICT_REPLACED']));
    expect(s0.byteRange).toEqual(s.byteRange);
  });

  it('fails two fields sharing one signature dictionary (ranges collide)', async () => {
    const pdf = await signed();
    const doc = readPdf(pdf);
    const info = doc.signatures()[0]!;
    const n = doc.nextObjectNumber;
    const form = doc.acroForm()!;
    const formRef = doc.catalog().get('AcroForm') as PdfRef;
    const twin = appendUpdate(pdf, [
      { num: n, body: `<< /FT /Sig /T (Twin) /V ${info.value!.ref!.key} R >>` },
      { num: formRef.num, body: serialize(form.clone().set('Fields', [...(doc.resolveArray(form.get('Fields')) ?? []), new PdfRef(n, 0)])).bytes },
    ]);
    const a = readable(analysePdfSignatures(twin));
    expect(a.signatures.map((s) => s.fieldName)).toEqual(['Signature1', 'Twin']);
    for (const s of a.signatures) expect(failedCodes(s)).toEqual(['SIGNATURES_OVERLAP']);
    expect(a.signatures[0]!.changes.map((c) => [c.kind, c.allowed])).toEqual([['signature-changed', false]]);
  });
});

describe('analysePdfSignatures: certification (checklist item 5)', () => {
  it.each([1, 2, 3] as const)('reads a DocMDP /P %i certification signature', async (p) => {
    const s = only(await certifyPdf(buildPdf(), { p, sign }));
    expect(s).toMatchObject({ isCertification: true, docMdpP: p, coverage: 'WHOLE_DOCUMENT' });
    expect(failedCodes(s)).toEqual([]);
    expect(s.checks.find((c) => c.name === 'certification')!.result).toBe('passed');
  });

  it('reads the default /P 2 when only the catalog /Perms names the signature', async () => {
    const pdf = await handSigned(buildPdf(), `<< ${SIG_HEAD} /ByteRange ${BYTE_RANGE} /Contents ${CONTENTS} >>`);
    const doc = readPdf(pdf);
    const sigRef = doc.signatures()[0]!.value!.ref!;
    // A later update adding /Perms does not make it a certification: DocMDP is read from the signed revision.
    const later = appendUpdate(pdf, [{ num: doc.catalogRef.num, body: serialize(doc.catalog().clone().set('Perms', new PdfDict().set('DocMDP', sigRef))).bytes }]);
    const s = readable(analysePdfSignatures(later)).signatures[0]!;
    expect(s.isCertification).toBe(false);
    expect(s.changes.map((c) => [c.kind, c.allowed])).toEqual([['catalog-changed', false]]);
  });

  it('fails a certification signature that is not the first', async () => {
    const pdf = await certifyPdf(await signed(), { p: 2, sign });
    const a = readable(analysePdfSignatures(pdf));
    expect(a.signatures.map((s) => s.isCertification)).toEqual([false, true]);
    expect(failedCodes(a.signatures[1]!)).toEqual(['CERTIFICATION_NOT_FIRST']);
  });

  it('fails a second certification signature', async () => {
    const pdf = await certifyPdf(await certifyPdf(buildPdf(), { p: 3, sign }), { p: 3, sign, fieldName: 'Again' });
    const a = readable(analysePdfSignatures(pdf));
    expect(failedCodes(a.signatures[0]!)).toEqual([]);
    expect(failedCodes(a.signatures[1]!)).toEqual(['CERTIFICATION_MULTIPLE', 'CERTIFICATION_NOT_FIRST']);
  });
});

describe('analysePdfSignatures: revisions and what follows them', () => {
  it('treats a truncated signature update as an unreadable update, leaving no signature', async () => {
    const base = buildPdf();
    const pdf = await signed(base);
    const a = readable(analysePdfSignatures(pdf.subarray(0, pdf.length - 300)));
    expect(a.revisions).toHaveLength(1);
    expect(a.signatures).toEqual([]);
    expect(a.trailing.map((c) => [c.kind, c.allowed, c.revision])).toEqual([['unparseable-update', false, 2]]);
    expect(a.problems.map((p) => p.code)).toEqual(['PDF_UPDATE_UNREADABLE']);
  });

  it('reports bytes appended after the last %%EOF, but not white space', async () => {
    const pdf = await signed();
    const garbage = readable(analysePdfSignatures(Buffer.concat([pdf, Buffer.from('<script>alert(1)</script>')])));
    const s = garbage.signatures[0]!;
    expect(s.coverage).toBe('REVISION');
    expect(s.modifiedAfterSigning).toBe(true);
    expect(s.changes.map((c) => [c.kind, c.allowed, c.revision])).toEqual([['trailing-data', false, 3]]);
    expect(garbage.problems.map((p) => p.code)).toEqual(['PDF_TRAILING_DATA']);
    const ws = readable(analysePdfSignatures(Buffer.concat([pdf, Buffer.from('\r\n \n')])));
    expect(ws.signatures[0]!.changes).toEqual([]);
    expect(ws.signatures[0]!.modifiedAfterSigning).toBe(false);
    expect(ws.problems).toEqual([]);
  });

  it('reports an update that ends in startxref/%%EOF without a cross-reference section of its own', async () => {
    const pdf = await signed();
    const sx = readPdf(pdf).startxref;
    const sneaky = Buffer.concat([pdf, Buffer.from(`6 0 obj\n<< /Length 3 >>\nstream\nq Q\nendstream\nendobj\nstartxref\n${sx}\n%%EOF\n`)]);
    const a = readable(analysePdfSignatures(sneaky));
    expect(a.revisions).toHaveLength(2);
    expect(a.signatures[0]!.changes.map((c) => [c.kind, c.allowed])).toEqual([['unparseable-update', false]]);
  });

  it('reports an unreadable update between two readable ones', async () => {
    const pdf = await signed();
    const sx = readPdf(pdf).startxref;
    const broken = Buffer.concat([pdf, Buffer.from(`xref\n0 1\nnot-an-entry\ntrailer\n<< /Size 3 /Prev ${sx} >>\nstartxref\n${pdf.length}\n%%EOF\n`)]);
    const after = appendUpdate(broken, [{ num: 3, body: '<< /Producer (x) >>' }], { prev: sx });
    const a = readable(analysePdfSignatures(after));
    expect(a.revisions).toHaveLength(3);
    const kinds = a.signatures[0]!.changes.map((c) => [c.kind, c.allowed, c.revision]);
    expect(kinds).toContainEqual(['unparseable-update', false, 3]);
  });
});

describe('parsePdfDate', () => {
  it.each<[string, string | undefined]>([
    ["D:20250601080000+00'00'", '2025-06-01T08:00:00.000Z'],
    ["D:20250601160000+08'00'", '2025-06-01T08:00:00.000Z'],
    ["D:20250601030000-05'00", '2025-06-01T08:00:00.000Z'],
    ['D:20250601080000Z', '2025-06-01T08:00:00.000Z'],
    ['D:2025', '2025-01-01T00:00:00.000Z'],
    ['D:20250231080000Z', undefined],
    ['20250601080000Z', undefined],
    ['D:2025060108000', undefined],
  ])('%s', (s, iso) => {
    expect(parsePdfDate(s)?.toISOString()).toBe(iso);
  });
});

describe('analysePdfSignatures: bounds', () => {
  it('analyses at most 512 revisions and fails closed on the rest', async () => {
    const pdf0 = await signed();
    const parts = [pdf0];
    let len = pdf0.length;
    let prev = readPdf(pdf0).startxref;
    for (let i = 0; i < 520; i++) {
      const obj = `3 0 obj\n<< /Producer (p${i}) /Title (Fixture) >>\nendobj\n`;
      const xrefAt = len + obj.length;
      const s = `${obj}xref\n3 1\n${String(len).padStart(10, '0')} 00000 n\r\ntrailer\n<< /Size 20 /Root 1 0 R /Info 3 0 R /Prev ${prev} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
      parts.push(Buffer.from(s, 'latin1'));
      prev = xrefAt;
      len += s.length;
    }
    const a = readable(analysePdfSignatures(Buffer.concat(parts)));
    expect(a.revisions).toHaveLength(512);
    expect(a.problems.map((p) => p.code)).toEqual(['PDF_LIMIT_EXCEEDED']);
    const last = a.signatures[0]!.changes.at(-1)!;
    expect([last.kind, last.allowed, last.revision]).toEqual(['change-analysis-incomplete', false, 513]);
    expect(a.signatures[0]!.changes.slice(0, -1).every((c) => c.kind === 'info-updated' && c.allowed)).toBe(true);
  });
});
