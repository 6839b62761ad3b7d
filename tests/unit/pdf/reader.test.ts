import { deflateSync } from 'node:zlib';
import { ParseError } from '../../../src/errors';
import { PdfDict, PdfName, PdfStream, PdfString, readPdf, decodeTextString, DEFAULT_PDF_LIMITS, ref } from '../../../src/pdf';
import { DecodeBudget, decodeStream } from '../../../src/pdf/filters';
import { appendUpdate, buildPdf, MINIMAL, rawPdf } from './fixtures';

function errorOf(f: () => unknown): ParseError {
  try {
    f();
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw new Error(`expected a ParseError, got ${String(e)}`);
  }
  throw new Error('expected an error');
}

describe('readPdf: cross-reference forms', () => {
  it.each(['table', 'stream', 'hybrid'] as const)('reads a %s file: pages, inherited attributes, fields, trailer', (xref) => {
    const doc = readPdf(buildPdf({ pages: 3, xref, textField: true, indirectAnnots: true, page2Attrs: true }));
    expect(doc.xrefKind).toBe(xref === 'stream' ? 'stream' : 'table');
    expect(doc.pageCount).toBe(3);
    const [p1, p2, p3] = doc.pages();
    expect(p1!.mediaBox).toEqual([0, 0, 595, 842]); // inherited from the Pages root
    expect(p1!.cropBox).toEqual([0, 0, 595, 842]);
    expect(p2!.cropBox).toEqual([10, 10, 585, 832]);
    expect(p2!.rotate).toBe(90);
    expect(p3!.rotate).toBe(0);
    expect(p1!.resources).toBeInstanceOf(PdfDict);
    expect(doc.fields().map((f) => [f.fullName, f.type])).toEqual([['name', 'Tx']]);
    expect(doc.signatures()).toEqual([]);
    expect(doc.trailer.root).toEqual(ref(1));
    expect(doc.trailer.id?.[0].toString('hex')).toBe('0123456789abcdef0123456789abcdef');
    // Info (object 3) lives in the object stream in the stream and hybrid layouts.
    const info = doc.resolveDict(doc.trailer.info)!;
    expect(decodeTextString(info.get('Title') as PdfString)).toBe('Fixture');
    // The indirect /Annots array and the link annotation (also compressed there).
    const annots = doc.resolveArray(p1!.dict.get('Annots'))!;
    expect(doc.resolveDict(annots[0])!.nameOf('Subtype')).toBe('Link');
  });

  it('reads a hybrid file whose table lists the compressed objects as free entries', () => {
    const doc = readPdf(buildPdf({ xref: 'hybrid', textField: true, hybridFreeEntries: true }));
    expect(doc.fields().map((f) => f.fullName)).toEqual(['name']);
    expect(doc.resolveDict(doc.trailer.info)!.has('Title')).toBe(true);
  });

  it('follows /Prev: the newest revision of an object wins', () => {
    const doc = readPdf(appendUpdate(buildPdf()));
    expect(doc.sectionCount).toBe(2);
    const info = doc.resolveDict(doc.trailer.info)!;
    expect(decodeTextString(info.get('Title') as PdfString)).toBe('Fixture v2');
  });

  it('treats a reference to a free or absent object as null (§7.3.10)', () => {
    const doc = readPdf(rawPdf({ ...MINIMAL, 5: '(x)' }));
    expect(doc.getObject(ref(4))).toBeNull();
    expect(doc.getObject(ref(5, 1))).toBeNull(); // wrong generation
    expect(doc.getObject(ref(999))).toBeNull();
  });

  it('reads the header and catalog version', () => {
    const doc = readPdf(rawPdf({ ...MINIMAL, 1: '<< /Type /Catalog /Pages 2 0 R /Version /1.6 >>' }));
    expect(doc.headerVersion).toEqual([1, 7]);
    expect(doc.version()).toEqual([1, 7]);
  });
});

describe('readPdf: refusals', () => {
  it.each(['table', 'stream'] as const)('refuses an encrypted %s file with PDF_ENCRYPTED (422)', (xref) => {
    const e = errorOf(() => readPdf(buildPdf({ xref, extraTrailer: '/Encrypt << /Filter /Standard /V 5 /R 6 >>' })));
    expect(e.code).toBe('PDF_ENCRYPTED');
    expect(e.status).toBe(422);
  });

  it.each([
    ['no header', Buffer.from('hello world startxref 5 %%EOF')],
    ['no startxref', Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\n')],
    ['startxref beyond the file', Buffer.from('%PDF-1.4\nstartxref\n999999\n%%EOF\n')],
    ['startxref at garbage', Buffer.from('%PDF-1.4\nxxxxxxxxxx\nstartxref\n9\n%%EOF\n')],
    ['no %%EOF', Buffer.from('%PDF-1.4\nxref\n0 1\n0000000000 65535 f\r\ntrailer << /Root 1 0 R >>\nstartxref\n9\n')],
    ['no /Root', rawPdf(MINIMAL, '')],
    ['a /Prev loop', Buffer.from('%PDF-1.4\nxref\n0 1\n0000000000 65535 f\r\ntrailer << /Root 1 0 R /Prev 9 >>\nstartxref\n9\n%%EOF\n')],
  ])('refuses %s with PDF_MALFORMED', (_label, pdf) => {
    expect(errorOf(() => readPdf(pdf).pages()).code).toBe('PDF_MALFORMED');
  });

  it('refuses a page tree with a cycle', () => {
    const pdf = rawPdf({ ...MINIMAL, 2: '<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>' });
    expect(errorOf(() => readPdf(pdf).pages()).code).toBe('PDF_MALFORMED');
  });

  it('refuses a stream whose /Length refers to itself', () => {
    const pdf = rawPdf({ ...MINIMAL, 4: '<< /Length 4 0 R >>\nstream\nabc\nendstream' });
    expect(errorOf(() => readPdf(pdf).getObject(ref(4))).code).toBe('PDF_MALFORMED');
  });

  it('refuses an xref entry that points at another object', () => {
    const good = rawPdf(MINIMAL);
    const bad = Buffer.from(good.toString('latin1').replace('3 0 obj', '4 0 obj'), 'latin1');
    expect(errorOf(() => readPdf(bad).pages()).code).toBe('PDF_MALFORMED');
  });

  it('bounds file size, object numbers and page-tree depth', () => {
    const pdf = buildPdf();
    expect(errorOf(() => readPdf(pdf, { limits: { maxBytes: 100 } })).code).toBe('PDF_LIMIT_EXCEEDED');
    expect(errorOf(() => readPdf(pdf, { limits: { maxObjects: 3 } })).code).toBe('PDF_LIMIT_EXCEEDED');
    const deep: Record<number, string> = { 1: '<< /Type /Catalog /Pages 2 0 R >>' };
    for (let i = 2; i < 80; i++) deep[i] = `<< /Type /Pages /Kids [${i + 1} 0 R] /Count 1 >>`;
    deep[80] = '<< /Type /Page >>';
    expect(errorOf(() => readPdf(rawPdf(deep)).pages()).code).toBe('PDF_LIMIT_EXCEEDED');
    expect(readPdf(rawPdf(deep), { limits: { maxDepth: 100 } }).pageCount).toBe(1);
  });

  it('bounds decompression: ratio, per-stream size and per-document total', () => {
    const bomb = new PdfStream(new PdfDict().set('Filter', new PdfName('FlateDecode')), deflateSync(Buffer.alloc(8 << 20)));
    const run = (limits: Partial<typeof DEFAULT_PDF_LIMITS>) => errorOf(() => decodeStream(bomb, new DecodeBudget({ ...DEFAULT_PDF_LIMITS, ...limits })));
    expect(run({}).message).toContain('decompression ratio');
    expect(run({ maxDecompressionRatio: 1e6, maxStreamBytes: 1 << 20 }).message).toContain('decoded stream size');
    expect(run({ maxDecompressionRatio: 1e6, maxTotalDecodedBytes: 1 << 20 }).message).toContain('total decoded');
    // A cross-reference stream counts too.
    expect(errorOf(() => readPdf(buildPdf({ xref: 'stream' }), { limits: { maxStreamBytes: 16 } })).code).toBe('PDF_LIMIT_EXCEEDED');
  });

  it('refuses corrupt Flate data and unknown filters', () => {
    const corrupt = new PdfStream(new PdfDict().set('Filter', new PdfName('FlateDecode')), Buffer.from('not zlib'));
    expect(errorOf(() => decodeStream(corrupt, new DecodeBudget(DEFAULT_PDF_LIMITS))).code).toBe('PDF_MALFORMED');
    const lzw = new PdfStream(new PdfDict().set('Filter', new PdfName('LZWDecode')), Buffer.from('x'));
    expect(errorOf(() => decodeStream(lzw, new DecodeBudget(DEFAULT_PDF_LIMITS))).code).toBe('PDF_UNSUPPORTED');
  });
});
