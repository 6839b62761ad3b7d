import fc from 'fast-check';
import { runFilingChecks } from '../../../src/archive/checks';
import type { ArchiveMetadata } from '../../../src/archive/ports';
import type { VerificationReport } from '../../../src/verify/report';
import { buildPdf, MINIMAL, rawPdf, streamObject } from '../pdf/fixtures';

const NOW = new Date('2026-06-01T00:00:00Z');
const META: ArchiveMetadata = {
  title: '通知',
  responsibleAgency: '杭州市西湖区市场监督管理局',
  date: '2026-01-05',
  documentNumber: '西市监〔2026〕1号',
  retention: '10y',
  classification: 'public',
  fonds: 'J001',
  series: 'BG',
  recordType: 'notice',
  fileName: 'n.pdf',
};
/** The verification engine's verdict is an input here; its own tests judge signatures. */
const passed = (bytes: Buffer): VerificationReport => ({
  indication: 'TOTAL_PASSED',
  validationTime: NOW.toISOString(),
  document: { kind: 'pdf', size: bytes.length, sha256: '' },
  signatures: [],
  checks: [],
  policy: { revocation: 'offline', trustAnchors: [] },
});
const run = (bytes: Buffer, metadata: Partial<ArchiveMetadata> = {}, report = passed(bytes)) =>
  runFilingChecks({ bytes, mediaType: 'application/pdf', metadata: { ...META, ...metadata }, report, now: NOW });
const of = (r: ReturnType<typeof run>, name: string) => r.checks.find((c) => c.name === name)!;

const withCatalog = (extra: string, more: Record<number, string | Buffer> = {}) =>
  rawPdf({ ...MINIMAL, 1: `<< /Type /Catalog /Pages 2 0 R ${extra} >>`, 3: '<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>', 4: streamObject('', Buffer.from('0 0 m 10 10 l S')), ...more });

describe('DA/T 70 filing checks', () => {
  it('a clean PDF passes all four, each with what was checked', () => {
    const r = run(buildPdf({ pages: 2 }));
    expect(r.passed).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual(['authenticity', 'integrity', 'usability', 'security']);
    expect(of(r, 'integrity').reasons.join()).toMatch(/2 page/);
    expect(of(r, 'usability').reasons.join()).toMatch(/first page 595×842 pt/);
  });

  it.each([
    ['JavaScript open action', '/OpenAction << /S /JavaScript /JS (app.alert(1)) >>', /JavaScript/],
    ['document-level JavaScript name tree', '/Names << /JavaScript 5 0 R >>', /JavaScript/],
    ['launch action', '/OpenAction << /S /Launch /F (calc.exe) >>', /Launch/],
    ['additional actions', '/AA << /WC << /S /GoTo /D [3 0 R /Fit] >> >>', /\/AA/],
    ['XFA form', '/AcroForm << /Fields [] /XFA 5 0 R >>', /XFA/],
    ['submit form', '/OpenAction << /S /SubmitForm /F (http://x.invalid) >>', /SubmitForm/],
  ])('security fails on %s, naming it', (_name, extra, re) => {
    const r = run(withCatalog(extra, { 5: '<< /Names [] >>' }));
    expect(of(r, 'security').passed).toBe(false);
    expect(of(r, 'security').reasons.join(' ')).toMatch(re);
    expect(r.passed).toBe(false);
  });

  it('security fails on an embedded executable, by name or by media type; a plain attachment is fine', () => {
    const embed = (name: string, subtype: string) =>
      withCatalog('/Names << /EmbeddedFiles << /Names [(a) 5 0 R] >> >>', {
        5: `<< /Type /Filespec /F (${name}) /UF (${name}) /EF << /F 6 0 R >> >>`,
        6: streamObject(`/Type /EmbeddedFile /Subtype /${subtype}`, Buffer.from('MZ')),
      });
    expect(of(run(embed('setup.exe', 'application#2Foctet-stream')), 'security').reasons.join()).toMatch(/embedded executable "setup.exe"/);
    expect(of(run(embed('data.bin', 'application#2Fx-msdownload')), 'security').reasons.join()).toMatch(/application\/x-msdownload/);
    const ok = run(embed('table.csv', 'text#2Fcsv'));
    expect(of(ok, 'security').passed).toBe(true);
    expect(of(ok, 'integrity').passed).toBe(true);
  });

  it('integrity fails when an attachment has no data', () => {
    const r = run(withCatalog('/Names << /EmbeddedFiles << /Names [(a) 5 0 R] >> >>', { 5: '<< /Type /Filespec /F (a.csv) /EF << >> >>' }));
    expect(of(r, 'integrity').reasons.join()).toMatch(/attachments missing their data: a/);
  });

  it('usability fails on an encrypted or unreadable file; security is then not scanned', () => {
    const enc = run(buildPdf({ extraTrailer: '/Encrypt << /Filter /Standard >>' }));
    expect(of(enc, 'usability').reasons).toEqual(['encrypted: the PDF is encrypted']);
    expect(of(enc, 'security').passed).toBe(false);
    const junk = run(Buffer.from('%PDF-1.7\nnothing else'));
    expect(of(junk, 'usability').passed).toBe(false);
    expect(of(junk, 'integrity').passed).toBe(false);
  });

  it('authenticity: failed signatures, declared digest or size, file name/format, stray characters, impossible dates', () => {
    const pdf = buildPdf();
    const failedReport: VerificationReport = { ...passed(pdf), indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' };
    expect(of(run(pdf, {}, failedReport), 'authenticity').reasons.join()).toMatch(/signatures not valid \(TOTAL_FAILED\/HASH_FAILURE\)/);
    expect(of(run(pdf, { sha256: 'ab'.repeat(32) }), 'authenticity').reasons.join()).toMatch(/declared sha256/);
    expect(of(run(pdf, { size: pdf.length + 1 }), 'authenticity').reasons.join()).toMatch(/size/);
    expect(of(run(pdf, { fileName: 'n.docx' }), 'authenticity').reasons.join()).toMatch(/does not name a PDF/);
    expect(of(run(pdf, { title: '通知\u202e' }), 'authenticity').reasons.join()).toMatch(/title contains control/);
    expect(of(run(pdf, { date: '2026-02-30' }), 'authenticity').reasons.join()).toMatch(/not a calendar date/);
    expect(of(run(pdf, { date: '2027-01-01' }), 'authenticity').reasons.join()).toMatch(/future/);
    expect(of(run(pdf, { date: '1900-01-01' }), 'authenticity').reasons.join()).toMatch(/implausibly early/);
  });

  it('mutated PDFs only ever produce a check report, never an exception', () => {
    const base = withCatalog('/OpenAction << /S /JavaScript /JS (x) >>');
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const m = Buffer.from(base);
        m[at] = v;
        const r = run(m);
        expect(r.checks).toHaveLength(4);
      }),
      { numRuns: 400 },
    );
  });
});
