/**
 * Malformed-input tests (STYLE.md): truncated, random and mutated PDFs may only produce one of
 * the PDF input errors (PDF_MALFORMED, PDF_LIMIT_EXCEEDED, PDF_ENCRYPTED, PDF_UNSUPPORTED), never
 * another exception, a crash or a hang. Each run is timed.
 */
import fc from 'fast-check';
import { addDss, isPdfInputError, preparePdfSignature, readPdf } from '../../../src/pdf';
import { appendUpdate, buildPdf } from './fixtures';

const opts = { subFilter: 'ETSI.CAdES.detached' as const, signingTime: new Date('2025-06-01T08:00:00Z'), contentsSize: 128 };
const der = Buffer.from([0x30, 0x01, 0x00]);

/** Everything the layer does with an input file; returns the error code or 'ok'. */
function exercise(pdf: Buffer): string {
  const t0 = Date.now();
  try {
    const doc = readPdf(pdf);
    doc.pages();
    doc.signatures();
    preparePdfSignature(pdf, opts);
    addDss(pdf, { certs: [der], ocsps: [], crls: [] });
    return 'ok';
  } catch (e) {
    if (!isPdfInputError(e)) throw e;
    // The API wraps unexpected exceptions as PDF_MALFORMED with the original as `cause`; none
    // should happen: each failure should be one the reader names.
    const cause = (e as Error).cause;
    if (cause !== undefined) throw cause;
    return (e as { code: string }).code;
  } finally {
    // Generous: this is about hangs, not speed.
    expect(Date.now() - t0).toBeLessThan(2000);
  }
}

const seeds: [string, Buffer][] = [
  ['table', buildPdf({ pages: 2, textField: true, indirectAnnots: true, page2Attrs: true })],
  ['stream', buildPdf({ pages: 2, xref: 'stream', textField: true, indirectAnnots: true })],
  ['hybrid', buildPdf({ pages: 2, xref: 'hybrid', textField: true })],
  ['updated', appendUpdate(buildPdf())],
];

describe.each(seeds)('malformed variants of the %s fixture', (_label, seed) => {
  it('the seed itself is fine', () => {
    expect(exercise(seed)).toBe('ok');
  });

  it('every truncation only gives a PDF input error', () => {
    const step = Math.max(1, Math.floor(seed.length / 300));
    for (let n = 0; n < seed.length; n += step) exercise(seed.subarray(0, n));
  });

  it('byte mutations only give a PDF input error', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: seed.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (muts) => {
        const m = Buffer.from(seed);
        for (const [at, v] of muts) m[at] = v;
        exercise(m);
      }),
      { numRuns: 1000 },
    );
  });

  it('token-level mutations (digits, delimiters, keywords) only give a PDF input error', () => {
    const text = seed.toString('latin1');
    const tokens = ['0', '9', '99999999999', '-1', '<<', '>>', '[', ']', '(', ')', ' R ', 'obj', 'endobj', 'stream', 'xref', 'trailer', '/Prev 0', '/Kids [1 0 R]', '%'];
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.nat({ max: 20 }), fc.constantFrom(...tokens), (at, del, tok) => {
        exercise(Buffer.from(text.slice(0, at) + tok + text.slice(at + del), 'latin1'));
      }),
      { numRuns: 1000 },
    );
  });
});

it('random bytes (with and without a PDF header) only give a PDF input error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), (bytes, withHeader) => {
      const body = Buffer.from(bytes);
      exercise(withHeader ? Buffer.concat([Buffer.from('%PDF-1.7\n'), body, Buffer.from('\nstartxref\n9\n%%EOF\n')]) : body);
    }),
    { numRuns: 1000 },
  );
});

it('a non-Buffer input is refused as malformed', () => {
  expect(exercise('%PDF-1.4' as unknown as Buffer)).toBe('PDF_MALFORMED');
});
