import fc from 'fast-check';
import { ParseError } from '../../../src/errors';
import { PdfDict, PdfName, PdfRef, PdfString, serialize, formatNumber, textString, decodeTextString, pdfDate, type PdfObject } from '../../../src/pdf';
import { Parser } from '../../../src/pdf/parser';

const parse = (s: string | Buffer, maxDepth = 64): PdfObject => new Parser(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'), maxDepth).parseObject();
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof ParseError ? e.code : `not a ParseError: ${String(e)}`;
  }
};

describe('PDF object parser (ISO 32000-1 §7.3)', () => {
  it('reads names with #xx escapes', () => {
    expect((parse('/A#20B') as PdfName).name).toBe('A B');
    expect((parse('/Adobe.PPKLite') as PdfName).name).toBe('Adobe.PPKLite');
  });

  it('reads literal strings: escapes, octal, balanced parentheses, line continuation, EOL normalisation', () => {
    const s = parse('(a\\(b\\)c (nested) \\101\\12 x\\\r\ny\r\nz\\q)') as PdfString;
    expect(s.bytes.toString('latin1')).toBe('a(b)c (nested) A\n xy\nzq');
  });

  it('reads hex strings with white space and an odd final digit', () => {
    expect((parse('<48 65 6C6C 6F7>') as PdfString).bytes).toEqual(Buffer.from('Hellop', 'latin1'));
  });

  it('reads numbers, references and containers', () => {
    const d = parse('<< /A 1 /B -2.5 /C .5 /D [1 0 R 2 3 4 0 R] /E << /F null >> /G true >>') as PdfDict;
    expect(d.get('A')).toBe(1);
    expect(d.get('B')).toBe(-2.5);
    expect(d.get('C')).toBe(0.5);
    const arr = d.get('D') as PdfObject[];
    expect(arr[0]).toEqual(new PdfRef(1, 0));
    expect(arr.slice(1, 3)).toEqual([2, 3]);
    expect(arr[3]).toEqual(new PdfRef(4, 0));
    expect((d.get('E') as PdfDict).has('F')).toBe(false); // a null value is an absent entry (§7.3.7)
    expect(d.get('G')).toBe(true);
  });

  it('keeps the first of duplicate keys', () => {
    expect((parse('<< /A 1 /A 2 >>') as PdfDict).get('A')).toBe(1);
  });

  it.each([
    ['(unterminated', 'PDF_MALFORMED'],
    ['<4G>', 'PDF_MALFORMED'],
    ['<< /A >>', 'PDF_MALFORMED'],
    ['<< 1 2 >>', 'PDF_MALFORMED'],
    ['[1 2', 'PDF_MALFORMED'],
    ['--5', 'PDF_MALFORMED'],
    ['1e5', 'PDF_MALFORMED'],
    ['99999999999999999999', 'PDF_MALFORMED'],
    ['{', 'PDF_MALFORMED'],
    ['endobj', 'PDF_MALFORMED'],
    ['/A#zz', 'PDF_MALFORMED'],
    ['[' .repeat(100), 'PDF_LIMIT_EXCEEDED'],
    ['<<'.repeat(100), 'PDF_LIMIT_EXCEEDED'],
  ])('refuses %j with %s', (input, expected) => {
    expect(code(() => parse(input))).toBe(expected);
  });

  it('parses an indirect stream object with a direct /Length and checks endstream', () => {
    const buf = Buffer.from('7 0 obj\n<< /Length 5 >>\nstream\r\nhello\nendstream\nendobj\n', 'latin1');
    const o = new Parser(buf, 8).parseIndirectObject(0, () => null);
    expect(o.num).toBe(7);
    expect((o.value as { data: Buffer }).data.toString()).toBe('hello');
    const bad = Buffer.from('7 0 obj\n<< /Length 4 >>\nstream\nhello\nendstream\nendobj\n', 'latin1');
    expect(code(() => new Parser(bad, 8).parseIndirectObject(0, () => null))).toBe('PDF_MALFORMED');
  });
});

describe('serializer', () => {
  it('formats numbers without exponents', () => {
    expect(formatNumber(1e-7)).toBe('0.0000001');
    expect(formatNumber(595.276)).toBe('595.276');
    expect(formatNumber(-0)).toBe('0');
    expect(() => formatNumber(Infinity)).toThrow();
  });

  it('escapes names and strings', () => {
    const d = new PdfDict().set('A B', new PdfName('x/y#')).set('S', new PdfString(Buffer.from('a(b)\\\r\n', 'latin1')));
    const text = serialize(d).bytes.toString('latin1');
    expect(text).toContain('/A#20B /x#2Fy#23');
    expect(text).toContain('(a\\(b\\)\\\\\\r\\n)');
  });

  it('writes text strings as PDFDocEncoding or UTF-16BE and reads them back', () => {
    expect(textString('Hangzhou').hex).toBe(false);
    const cn = textString('杭州市测试局');
    expect(cn.bytes.subarray(0, 2)).toEqual(Buffer.from([0xfe, 0xff]));
    expect(decodeTextString(cn)).toBe('杭州市测试局');
  });

  it('writes PDF dates in UTC', () => {
    expect(pdfDate(new Date('2025-06-01T08:00:00Z'))).toBe("D:20250601080000+00'00'");
  });

  // Property: whatever the serializer writes, the parser reads back as the same object.
  const leaf: fc.Arbitrary<PdfObject> = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1e9, max: 1e9 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((x) => Math.round(x * 1000) / 1000),
    fc.string({ maxLength: 12 }).map((s) => new PdfName(Buffer.from(s, 'utf8').toString('latin1'))).filter((n) => n.name.length > 0),
    fc.uint8Array({ maxLength: 24 }).chain((b) => fc.boolean().map((hex) => new PdfString(Buffer.from(b), hex))),
    fc.tuple(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 65535 })).map(([n, g]) => new PdfRef(n, g)),
  );
  const tree = fc.letrec<{ obj: PdfObject }>((tie) => ({
    obj: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('obj'), { maxLength: 5 }),
      fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), tie('obj')), { maxLength: 5 }).map((es) => new PdfDict(es.filter(([, v]) => v !== null))),
    ),
  })).obj;

  const normalise = (o: PdfObject): unknown => {
    if (o instanceof PdfString) return { s: o.bytes.toString('hex') };
    if (o instanceof PdfName) return { n: o.name };
    if (o instanceof PdfRef) return { r: o.key };
    if (Array.isArray(o)) return o.map(normalise);
    if (o instanceof PdfDict) {
      const first = new Map<string, unknown>();
      for (const [k, v] of o.map) {
        const key = Buffer.from(k, 'utf8').toString('latin1');
        if (!first.has(key)) first.set(key, normalise(v));
      }
      return Object.fromEntries(first);
    }
    return typeof o === 'number' ? o + 0 : o; // -0 is written as 0

  };

  it('round-trips any object through serialize → parse', () => {
    fc.assert(
      fc.property(tree, (o) => {
        // Dictionary keys are written as names: encode them the way the parser decodes them.
        const fix = (x: PdfObject): PdfObject => {
          if (Array.isArray(x)) return x.map(fix);
          if (x instanceof PdfDict) {
            const d = new PdfDict();
            for (const [k, v] of x.map) {
              const key = Buffer.from(k, 'utf8').toString('latin1');
              if (!d.has(key)) d.set(key, fix(v));
            }
            return d;
          }
          return x;
        };
        const obj = fix(o);
        const back = parse(serialize(obj).bytes, 256);
        expect(normalise(back)).toEqual(normalise(obj));
      }),
      { numRuns: 300 },
    );
  });
});
