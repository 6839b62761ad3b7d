/**
 * The PDF layer judged by tools we did not write: poppler's `pdfsig` (signature validity and
 * coverage), `qpdf --check` (structure), `pdftoppm` (where a visible signature lands) and, when
 * installed, pyHanko's validator. The CMS and time-stamp tokens are made by OpenSSL over the
 * ByteRange bytes, so this also pins what the colleague's src/signing/cades.ts must hand us.
 *
 * Notes on the tools' outputs:
 * - `pdfsig -nocert` skips certificate-path validation (our test CA is not in poppler's NSS
 *   database); without -nocert it reports the same "Signature is Valid." and adds a certificate
 *   trust line. Poppler prints "Total document signed" for the signature covering the file
 *   and "Not total document signed" for an earlier revision's.
 * - `openssl cms -sign -cades` adds signing-certificate-v2 but also signing-time, which PAdES
 *   B-B leaves to /M (STANDARDS.md); neither tool objects, and our own CMS builder omits it.
 * - Rendering uses pdftoppm's PPM output (`pdftoppm -r 72`): the same raster as -png, without
 *   a PNG decoder in the test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../src/errors';
import { addDss, byteRangeBytes, embedSignature, preparePdfSignature, readPdf, signPdf, type SignPdfOptions } from '../../src/pdf';
import { buildCertId, buildCrl, buildOcspRequest, buildOcspResponse, parseOcspRequest } from '../../src/pki';
import { createTestPki, type TestPki } from '../helpers/test-pki';
import { appendUpdate, buildPdf, redBox } from '../unit/pdf/fixtures';

const has = (cmd: string, arg = '-v') => spawnSync(cmd, [arg], { encoding: 'utf8' }).error === undefined;
const toolsPresent = has('openssl', 'version') && has('pdfsig') && has('qpdf', '--version') && has('pdftoppm');
const describeIfTools = toolsPresent ? describe : describe.skip;
if (!toolsPresent) process.stdout.write('pdf interop: skipped — openssl, pdfsig (poppler-utils), pdftoppm and qpdf are needed\n');

const pyhankoPresent = spawnSync('pyhanko', ['--version'], { encoding: 'utf8' }).status === 0;
const requirePyhanko = (process.env.ESEAL_TEST_REQUIRE ?? '').split(',').includes('pyhanko');
if (!pyhankoPresent && !requirePyhanko) process.stdout.write('pdf interop: pyHanko checks skipped — `pip install pyhanko pyhanko-cli` to run them\n');
const itIfPyhanko = pyhankoPresent || requirePyhanko ? it : it.skip;

interface Run {
  status: number | null;
  out: string;
}

const HOUR = 3600_000;

describeIfTools('PAdES signatures accepted by pdfsig, qpdf and pyHanko', () => {
  let dir: string;
  let pki: TestPki;
  let now: Date;
  const f = (name: string) => join(dir, name);
  const run = (cmd: string, ...args: string[]): Run => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: dir, maxBuffer: 64 << 20 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  let seq = 0;

  /** A detached CMS over the ByteRange bytes, by OpenSSL, signed with the test seal key. */
  const opensslCms = async (tbs: Buffer): Promise<Buffer> => {
    const n = seq++;
    writeFileSync(f(`tbs-${n}.bin`), tbs);
    const r = run('openssl', 'cms', '-sign', '-binary', '-in', `tbs-${n}.bin`, '-signer', 'seal.pem', '-inkey', 'seal.key', '-certfile', 'chain.pem', '-md', 'sha256', '-cades', '-nosmimecap', '-outform', 'DER', '-out', `cms-${n}.der`);
    if (r.status !== 0) throw new Error(r.out);
    return readFileSync(f(`cms-${n}.der`));
  };

  /** An RFC 3161 token over the ByteRange bytes, by `openssl ts -reply` with the test TSA. */
  const opensslTimestamp = (tbs: Buffer): Buffer => {
    const n = seq++;
    writeFileSync(f(`ts-${n}.bin`), tbs);
    let r = run('openssl', 'ts', '-query', '-data', `ts-${n}.bin`, '-sha256', '-cert', '-no_nonce', '-out', `ts-${n}.tsq`);
    if (r.status !== 0) throw new Error(r.out);
    r = run('openssl', 'ts', '-reply', '-config', 'tsa.cnf', '-queryfile', `ts-${n}.tsq`, '-signer', 'tsa.pem', '-inkey', 'tsa.key', '-chain', 'chain.pem', '-token_out', '-out', `ts-${n}.tsr`);
    if (r.status !== 0) throw new Error(r.out);
    return readFileSync(f(`ts-${n}.tsr`));
  };

  const signOpts = (extra: Partial<SignPdfOptions> = {}): SignPdfOptions => ({
    subFilter: 'ETSI.CAdES.detached',
    signingTime: now,
    reason: '电子印章测试',
    location: 'Hangzhou',
    ...extra,
  });

  const save = (name: string, pdf: Buffer) => {
    writeFileSync(f(name), pdf);
    return name;
  };

  /** pdfsig's report, one entry per signature. */
  const pdfsig = (name: string): { out: string; sigs: string[] } => {
    const r = run('pdfsig', '-nocert', name);
    return { out: r.out, sigs: r.out.split(/^Signature #\d+:/m).slice(1) };
  };

  const expectQpdfClean = (name: string) => {
    const r = run('qpdf', '--check', name);
    expect(r.out).toContain('No syntax or stream encoding errors found');
    expect(r.out).not.toMatch(/WARNING:|ERROR:/);
    expect(r.status).toBe(0);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eseal-pdf-'));
    now = new Date(Math.floor(Date.now() / 1000) * 1000);
    pki = await createTestPki({ now });
    writeFileSync(f('seal.pem'), pki.seal.pem);
    writeFileSync(f('seal.key'), pki.seal.signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(f('tsa.pem'), pki.tsa.pem);
    writeFileSync(f('tsa.key'), pki.tsa.signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(f('chain.pem'), pki.chainPem);
    writeFileSync(f('root.pem'), pki.root.pem);
    writeFileSync(f('tsaserial'), '01\n');
    writeFileSync(
      f('tsa.cnf'),
      [
        '[ tsa ]',
        'default_tsa = tsa1',
        '[ tsa1 ]',
        `serial = ${f('tsaserial')}`,
        'signer_digest = sha256',
        'default_policy = 1.2.3.4.1',
        'digests = sha256',
        'accuracy = secs:1',
        'ordering = no',
        'tsa_name = no',
        'ess_cert_id_chain = no',
        'ess_cert_id_alg = sha256',
        '',
      ].join('\n'),
    );
    // The structural variants: ours by hand, and qpdf's.
    save('classic.pdf', buildPdf({ pages: 3, textField: true, indirectAnnots: true }));
    save('xrefstream.pdf', buildPdf({ pages: 3, xref: 'stream', textField: true, indirectAnnots: true }));
    save('hybrid.pdf', buildPdf({ pages: 3, xref: 'hybrid', textField: true }));
    save('updated.pdf', appendUpdate(buildPdf({ pages: 2 })));
    expect(run('qpdf', '--object-streams=generate', 'classic.pdf', 'qpdf-objstm.pdf').status).toBe(0);
    expect(run('qpdf', '--linearize', 'classic.pdf', 'qpdf-linear.pdf').status).toBe(0);
    expect(run('qpdf', '--linearize', '--object-streams=generate', 'classic.pdf', 'qpdf-linear-objstm.pdf').status).toBe(0);
  });

  afterAll(() => {
    // ESEAL_KEEP_TMP=1 keeps the files for a look with the tools by hand.
    if (dir && !process.env.ESEAL_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    else if (dir) process.stdout.write(`pdf interop files kept in ${dir}\n`);
  });

  const variants = ['classic', 'xrefstream', 'hybrid', 'updated', 'qpdf-objstm', 'qpdf-linear', 'qpdf-linear-objstm'];

  it.each(variants)('%s.pdf: pdfsig says valid and total, qpdf --check is clean, the original is a prefix', async (variant) => {
    const original = readFileSync(f(`${variant}.pdf`));
    const signed = await signPdf(original, signOpts(), opensslCms);
    const name = save(`${variant}-signed.pdf`, signed.pdf);
    expect(signed.pdf.subarray(0, original.length).equals(original)).toBe(true);
    const { out, sigs } = pdfsig(name);
    expect(sigs).toHaveLength(1);
    expect(sigs[0]).toContain('Signature Validation: Signature is Valid.');
    expect(sigs[0]).toContain('Total document signed');
    expect(sigs[0]).toContain('Signature Type: ETSI.CAdES.detached');
    expect(sigs[0]).toContain(`Signed Ranges: [${signed.byteRange[0]} - ${signed.byteRange[1]}], [${signed.byteRange[2]} - ${signed.byteRange[2] + signed.byteRange[3]}]`);
    expect(out).not.toMatch(/Syntax (Error|Warning)/);
    expectQpdfClean(name);
  });

  it('without -nocert pdfsig still finds the signature valid (and only the trust of the test CA unknown)', async () => {
    const signed = await signPdf(readFileSync(f('classic.pdf')), signOpts(), opensslCms);
    save('trust.pdf', signed.pdf);
    const r = run('pdfsig', 'trust.pdf');
    expect(r.out).toContain('Signature is Valid.');
    expect(r.out).toMatch(/Certificate Validation: (Certificate issuer isn't Trusted\.|Certificate is Trusted\.|Unknown issue with Certificate)/);
  });

  it.each(['classic', 'xrefstream', 'qpdf-linear'])('%s: a second signature keeps the first valid, covering its own revision', async (variant) => {
    const first = await signPdf(readFileSync(f(`${variant}.pdf`)), signOpts({ fieldName: 'First' }), opensslCms);
    const second = await signPdf(first.pdf, signOpts({ fieldName: 'Second', reason: 'countersign' }), opensslCms);
    expect(second.pdf.subarray(0, first.pdf.length).equals(first.pdf)).toBe(true);
    const name = save(`${variant}-twice.pdf`, second.pdf);
    const { sigs } = pdfsig(name);
    expect(sigs).toHaveLength(2);
    expect(sigs[0]).toContain('Signature Field Name: First');
    expect(sigs[0]).toContain('Signature is Valid.');
    expect(sigs[0]).toContain('Not total document signed');
    expect(sigs[0]).toContain(`[${first.byteRange[2]} - ${first.pdf.length}]`);
    expect(sigs[1]).toContain('Signature Field Name: Second');
    expect(sigs[1]).toContain('Signature is Valid.');
    expect(sigs[1]).toContain('Total document signed');
    expectQpdfClean(name);
  });

  it.each([
    ['a user password', ['--encrypt', 'u', 'o', '256', '--']],
    ['an empty user password', ['--encrypt', '', 'o', '256', '--']],
    ['RC4 128', ['--allow-weak-crypto', '--encrypt', 'u', 'o', '128', '--use-aes=n', '--']],
  ])('refuses a file qpdf encrypted with %s: PDF_ENCRYPTED (422)', async (_label, args) => {
    const r = run('qpdf', ...args, 'classic.pdf', 'encrypted.pdf');
    expect(r.status).toBe(0);
    const err = await signPdf(readFileSync(f('encrypted.pdf')), signOpts(), opensslCms).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('PDF_ENCRYPTED');
    expect((err as AppError).status).toBe(422);
  });

  it('a visible signature is drawn inside its rect on the requested page only', async () => {
    const rect: [number, number, number, number] = [100, 100, 300, 150];
    const signed = await signPdf(buildPdf({ pages: 3 }), signOpts({ appearance: { page: 2, rect, stream: redBox(200, 50) } }), opensslCms);
    save('visible.pdf', signed.pdf);
    expect(pdfsig('visible.pdf').sigs[0]).toContain('Signature is Valid.');
    expectQpdfClean('visible.pdf');
    expect(run('pdftoppm', '-r', '72', 'visible.pdf', 'page').status).toBe(0);
    const ppm = (page: number) => parsePpm(readFileSync(f(`page-${page}.ppm`)));
    const p2 = ppm(2);
    expect([p2.width, p2.height]).toEqual([595, 842]);
    // PDF y grows upwards; raster rows go down from the top (842 pt page at 72 dpi).
    const at = (img: ReturnType<typeof parsePpm>, x: number, y: number) => img.pixel(x, 842 - y);
    const red = [255, 0, 0];
    const white = [255, 255, 255];
    for (const [x, y] of [[105, 105], [200, 125], [295, 145]] as const) expect(at(p2, x, y)).toEqual(red);
    for (const [x, y] of [[95, 125], [305, 125], [200, 95], [200, 155], [400, 400]] as const) expect(at(p2, x, y)).toEqual(white);
    for (const page of [1, 3]) {
      const img = ppm(page);
      for (const [x, y] of [[105, 105], [200, 125], [295, 145]] as const) expect(at(img, x, y)).toEqual(white);
    }
  });

  /** A B-LTA file: signature, DSS (certificates, our OCSP response and CRL, VRI), document time-stamp. */
  const makeLta = async () => {
    const signed = await signPdf(readFileSync(f('xrefstream.pdf')), signOpts(), opensslCms);
    const certId = parseOcspRequest(buildOcspRequest({ certIds: [buildCertId(pki.seal.der, pki.issuing.der)] })).certIds[0]!;
    const ocsp = await buildOcspResponse({
      responderCertificate: pki.ocsp.der,
      signer: pki.ocsp.signer,
      producedAt: now,
      responses: [{ certId, status: { type: 'good' }, thisUpdate: now, nextUpdate: new Date(now.getTime() + HOUR) }],
      includeCertificates: [pki.ocsp.der],
    });
    const crl = await buildCrl({ issuerCertificate: pki.issuing.der, signer: pki.issuing.signer, crlNumber: 1, thisUpdate: now, nextUpdate: new Date(now.getTime() + 24 * HOUR), revoked: [] });
    const withDss = addDss(signed.pdf, { certs: [pki.seal.der, pki.issuing.der, pki.root.der, pki.ocsp.der], ocsps: [ocsp], crls: [crl], vri: true });
    // B-LTA: /Type /DocTimeStamp, /SubFilter /ETSI.RFC3161, the token over the ByteRange bytes.
    const prepared = preparePdfSignature(withDss, { subFilter: 'ETSI.RFC3161', contentsSize: 8192 });
    const token = opensslTimestamp(byteRangeBytes(prepared));
    return { signed, withDss, prepared, token, lta: embedSignature(prepared, token) };
  };

  it('B-LT then B-LTA: DSS, then a document time-stamp; the signature stays valid, qpdf stays clean', async () => {
    const { withDss, prepared, token, lta } = await makeLta();
    save('lt.pdf', withDss);
    let report = pdfsig('lt.pdf');
    expect(report.sigs).toHaveLength(1);
    expect(report.sigs[0]).toContain('Signature is Valid.');
    expect(report.sigs[0]).toContain('Not total document signed');
    expectQpdfClean('lt.pdf');
    const doc = readPdf(withDss);
    expect(doc.resolveDict(doc.catalog().get('DSS'))!.has('VRI')).toBe(true);

    save('lta.pdf', lta);
    report = pdfsig('lta.pdf');
    expect(report.sigs).toHaveLength(2);
    expect(report.sigs[0]).toContain('Signature is Valid.');
    // poppler 22.12 lists a document time-stamp ("Signature Type: unknown", "Unable to validate
    // this type of signature") but does not verify it: OpenSSL and pyHanko do that below.
    expect(report.sigs[1]).toContain('Total document signed');
    expect(report.sigs[1]).toContain(`Signed Ranges: [0 - ${prepared.byteRange[1]}], [${prepared.byteRange[2]} - ${lta.length}]`);
    expectQpdfClean('lta.pdf');
    // OpenSSL agrees the token's imprint is the digest of the ByteRange bytes.
    writeFileSync(f('lta-tbs.bin'), byteRangeBytes(prepared));
    writeFileSync(f('lta-token.der'), token);
    const v = run('openssl', 'ts', '-verify', '-data', 'lta-tbs.bin', '-in', 'lta-token.der', '-token_in', '-CAfile', 'root.pem', '-untrusted', 'chain.pem');
    expect(v.out).toContain('Verification: OK');
  });

  itIfPyhanko('pyHanko validates a twice-signed file, and a B-LTA file with its DSS and document time-stamp', async () => {
    const first = await signPdf(readFileSync(f('qpdf-objstm.pdf')), signOpts({ fieldName: 'First' }), opensslCms);
    const second = await signPdf(first.pdf, signOpts({ fieldName: 'Second' }), opensslCms);
    save('pyhanko-twice.pdf', second.pdf);
    const r = run('pyhanko', 'sign', 'validate', '--pretty-print', '--trust', 'root.pem', '--trust-replace', '--no-revocation-check', 'pyhanko-twice.pdf');
    expect(r.out).toContain('Field 1: First');
    expect(r.out).toContain('Field 2: Second');
    expect(r.out.match(/The signature is cryptographically sound\./g)).toHaveLength(2);
    expect(r.out.match(/The signature is judged VALID\./g)).toHaveLength(2);
    expect(r.out).toContain('All modifications relate to signing and form filling operations');
    expect(r.status).toBe(0);

    // pyHanko's difference analysis accepts the DSS and document time-stamp revisions.
    save('pyhanko-lta.pdf', (await makeLta()).lta);
    const l = run('pyhanko', 'sign', 'validate', '--pretty-print', '--trust', 'root.pem', '--trust-replace', '--no-revocation-check', 'pyhanko-lta.pdf');
    expect(l.out).toContain('The signature is cryptographically sound.');
    expect(l.out).toContain('All modifications relate to signature maintenance');
    expect(l.out).toContain('The signature is judged VALID.');
    expect(l.status).toBe(0);
  });
});

function parsePpm(buf: Buffer): { width: number; height: number; pixel(x: number, y: number): number[] } {
  // P6 <w> <h> <max>\n then RGB bytes (netpbm); pdftoppm writes no comments.
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.toString('latin1', 0, 64));
  if (!m) throw new Error('not a binary PPM');
  const width = Number(m[1]);
  const height = Number(m[2]);
  const start = m[0].length;
  return {
    width,
    height,
    pixel: (x, y) => {
      const i = start + (Math.floor(y) * width + Math.floor(x)) * 3;
      return [buf[i]!, buf[i + 1]!, buf[i + 2]!];
    },
  };
}
