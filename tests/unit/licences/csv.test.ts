import fc from 'fast-check';
import { CsvError, csvLine, parseCsv } from '../../../src/licences/csv';

describe('batch CSV reader', () => {
  it('reads quoted fields with commas, quotes and line breaks, CRLF or LF, and a BOM', () => {
    const rows = parseCsv('\ufeffkey,name,scope\r\n1,"杭州,有限公司","a ""b""\nc"\n\n2,x,y');
    expect(rows).toEqual([
      { line: 1, fields: ['key', 'name', 'scope'] },
      { line: 2, fields: ['1', '杭州,有限公司', 'a "b"\nc'] },
      { line: 5, fields: ['2', 'x', 'y'] },
    ]);
  });

  it('round-trips what csvLine writes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ maxLength: 20 }), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 10 }), (table) => {
        const rows = table.filter((r) => !(r.length === 1 && r[0] === ''));
        const text = rows.map((r) => csvLine(r)).join('');
        expect(parseCsv(text).map((r) => r.fields)).toEqual(rows);
      }),
    );
  });

  it('names the line of malformed input', () => {
    const cases: [string, RegExp][] = [
      ['a,b\n1,"x', /line 2: unterminated/],
      ['a,b\n1,x"y', /line 2: a quote inside/],
      ['a,b\n1,"x"y', /line 2: text after a closing quote/],
      ['a,b\n1,2,3', /line 2: 3 fields where the header has 2/],
      ['a,b\r1,2', /bare carriage return/],
    ];
    for (const [text, re] of cases) expect(() => parseCsv(text)).toThrow(re);
  });

  it('never throws anything but CsvError on random input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseCsv(s);
        } catch (e) {
          expect(e).toBeInstanceOf(CsvError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
