import {
  DerError,
  bigIntToIntegerBytes,
  compareDerForSetOf,
  decodeDer,
  encodeOid,
  integerBytesToBigInt,
  readGeneralizedTime,
  readString,
  readUtcTime,
  readOid,
  unsignedToPositiveIntegerBytes,
} from '../../../src/pki/der';
import fc from 'fast-check';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('decodeDer (strict DER reader)', () => {
  it('decodes a nested structure and keeps views of the original bytes', () => {
    const input = hex('30 08 02 01 05 30 03 01 01 ff');
    const n = decodeDer(input);
    expect(n.children).toHaveLength(2);
    expect(n.children[0]!.der).toEqual(hex('02 01 05'));
    expect(n.children[1]!.children[0]!.content).toEqual(hex('ff'));
    expect(n.der.buffer).toBe(input.buffer);
  });

  it.each([
    ['trailing bytes', '05 00 00', /trailing/],
    ['indefinite length', '30 80 05 00 00 00', /indefinite/],
    ['non-minimal short length', '04 81 01 aa', /non-minimal length/],
    ['non-minimal long length', '04 82 00 81' + 'aa'.repeat(0x81), /non-minimal length/],
    ['length longer than the input', '04 05 aa', /truncated/],
    ['five length octets', '04 85 00 00 00 00 01 aa', /too long/],
    ['missing length', '04', /truncated/],
    ['empty input', '', /empty/],
    ['BOOLEAN other than 00/FF', '01 01 01', /BOOLEAN/],
    ['BOOLEAN of two octets', '01 02 ff ff', /BOOLEAN/],
    ['non-minimal positive INTEGER', '02 02 00 7f', /non-minimal INTEGER/],
    ['non-minimal negative INTEGER', '02 02 ff 80', /non-minimal INTEGER/],
    ['empty INTEGER', '02 00', /empty INTEGER/],
    ['NULL with contents', '05 01 00', /NULL/],
    ['BIT STRING with 8 unused bits', '03 02 08 00', /unused/],
    ['BIT STRING with non-zero unused bits', '03 02 01 01', /unused bits/],
    ['constructed OCTET STRING (BER)', '24 04 04 02 aa bb', /constructed/],
    ['primitive SEQUENCE', '10 00', /constructed/],
    ['end-of-contents', '00 00', /end-of-contents/],
    ['non-minimal OID arc', '06 03 2a 80 01', /OBJECT IDENTIFIER/],
    ['truncated OID', '06 02 2a 86', /OBJECT IDENTIFIER/],
    ['non-minimal high tag', '1f 1e 00', /non-minimal tag/],
    ['invalid PrintableString', '13 01 40', /PrintableString/],
  ])('refuses %s', (_name, input, message) => {
    expect(() => decodeDer(hex(input))).toThrow(DerError);
    expect(() => decodeDer(hex(input))).toThrow(message);
  });

  it('enforces the depth and size limits', () => {
    expect(() => decodeDer(hex('30 00'), { maxDepth: 1 })).not.toThrow();
    const deep = (d: number) => {
      let x = hex('05 00');
      for (let i = 0; i < d; i++) x = Buffer.concat([Buffer.from([0x30, x.length]), x]);
      return x;
    };
    expect(() => decodeDer(deep(10), { maxDepth: 10 })).toThrow(/nesting/);
    expect(() => decodeDer(deep(9), { maxDepth: 10 })).not.toThrow();
    expect(() => decodeDer(Buffer.alloc(100), { maxBytes: 99 })).toThrow(/exceeds/);
  });

  it('reads times in their DER forms only', () => {
    const t = (tag: number, s: string) => decodeDer(Buffer.concat([Buffer.from([tag, s.length]), Buffer.from(s, 'latin1')]));
    expect(readUtcTime(t(23, '491231235959Z'), 't').toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(readUtcTime(t(23, '500101000000Z'), 't').toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(() => readUtcTime(t(23, '5001010000Z'), 't')).toThrow(DerError);
    expect(() => readUtcTime(t(23, '500101000000+0800'), 't')).toThrow(DerError);
    expect(readGeneralizedTime(t(24, '20250601080000Z'), 't').toISOString()).toBe('2025-06-01T08:00:00.000Z');
    expect(() => readGeneralizedTime(t(24, '20250601080000.5Z'), 't')).toThrow(/fractional/);
    expect(readGeneralizedTime(t(24, '20250601080000.25Z'), 't', { allowFraction: true }).getUTCMilliseconds()).toBe(250);
    expect(() => readGeneralizedTime(t(24, '20250601080000.50Z'), 't', { allowFraction: true })).toThrow(DerError);
    expect(() => readGeneralizedTime(t(24, '20250231080000Z'), 't')).toThrow(/invalid date/);
    expect(() => readGeneralizedTime(t(24, '20250601246000Z'), 't')).toThrow(DerError);
  });

  it('decodes strings and refuses invalid UTF-8', () => {
    expect(readString(decodeDer(Buffer.concat([hex('0c 06'), Buffer.from('杭州', 'utf8')])), 's')).toBe('杭州');
    expect(readString(decodeDer(hex('1e 04 67 6d 5d de')), 's')).toBe('杭州');
    expect(() => readString(decodeDer(hex('0c 02 c3 28')), 's')).toThrow(/UTF-8/);
  });

  it('round-trips object identifiers', () => {
    for (const oid of ['1.2.840.113549.1.9.16.2.47', '2.5.4.97', '2.999.3161.1', '1.3.6.1.4.1.311.21.20']) {
      expect(readOid(decodeDer(encodeOid(oid)), 'oid')).toBe(oid);
    }
  });

  it('encodes integers minimally (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), (v) => {
        const b = bigIntToIntegerBytes(v);
        expect(integerBytesToBigInt(b)).toBe(v);
        expect(() => decodeDer(Buffer.concat([Buffer.from([0x02, b.length]), b]))).not.toThrow();
      }),
      { seed: 1 },
    );
    expect(unsignedToPositiveIntegerBytes(hex('00 00 80'))).toEqual(hex('00 80'));
    expect(unsignedToPositiveIntegerBytes(hex('7f'))).toEqual(hex('7f'));
    expect(() => unsignedToPositiveIntegerBytes(hex('00 00'))).toThrow(RangeError);
  });

  it('orders SET OF elements as X.690 §11.6 says', () => {
    expect(compareDerForSetOf(hex('31 01'), hex('31 01 00'))).toBe(0);
    expect(compareDerForSetOf(hex('30 01'), hex('31'))).toBeLessThan(0);
  });

  it('only ever throws DerError on random input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (u) => {
        try {
          decodeDer(Buffer.from(u));
        } catch (e) {
          if (!(e instanceof DerError)) throw e;
        }
      }),
      { numRuns: 2000, seed: 42 },
    );
  });
});
