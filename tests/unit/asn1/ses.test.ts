/**
 * GB/T 38540 / GM/T 0031 structures: parse → encode reproduces every third-party file byte for
 * byte, and malformed input only ever produces a ParseError with the structure's code (never a
 * crash, a hang or another error).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { encodeSESSignature, encodeSESeal, parseSESSignature, parseSESeal, sealSignedBytes } from '../../../src/asn1';
import { ParseError } from '../../../src/errors';
import { decodeDer, encodeTlv } from '../../../src/pki/der';

const V = '/work/shared/vectors/ses';
const read = (f: string): Buffer => readFileSync(join(V, f));

function expectParseError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    expect((e as ParseError).code).toBe(code);
    return;
  }
  throw new Error('parsed without error');
}

/** Replaces the first TLV equal to `from` with `to` and fixes every enclosing length. */
function replaceTlv(der: Buffer, from: Buffer, to: Buffer): Buffer {
  const rebuild = (n: ReturnType<typeof decodeDer>): Buffer => {
    if (n.der.equals(from)) return to;
    if (!n.constructed || !n.der.includes(from)) return n.der;
    return encodeTlv(n.der[0]!, Buffer.concat(n.children.map(rebuild)));
  };
  return rebuild(decodeDer(der, { maxBytes: 8 << 20 }));
}

describe('SESeal parsing and encoding', () => {
  it.each(['UserV4.esl', 'UserV1.esl', 'SESealData.DER'])('%s parses and re-encodes byte for byte', (f) => {
    const der = read(f);
    const seal = parseSESeal(der);
    expect(seal.der.equals(der)).toBe(true);
    expect(encodeSESeal(seal).equals(der)).toBe(true);
  });

  it('reads the fields of the version-4 third-party seal', () => {
    const s = parseSESeal(read('UserV4.esl'));
    expect(s.version).toBe(4);
    expect(s.eSealInfo.header).toEqual({ id: 'ES', version: 4, vid: 'OFDR&WTest' });
    expect(s.eSealInfo.property.name).toBe('OFD R&W 测试用印章');
    expect(s.eSealInfo.property.certListType).toBe(1);
    expect(s.eSealInfo.property.certList.kind === 'certs' && s.eSealInfo.property.certList.certs.length).toBe(1);
    expect(s.eSealInfo.picture).toMatchObject({ type: 'PNG', width: 40, height: 40 });
    expect(s.eSealInfo.picture.data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(s.signAlgID).toBe('1.2.156.10197.1.501');
    // The maker signature covers DER(SES_SealInfo) as received.
    expect(sealSignedBytes(s).equals(s.eSealInfo.der)).toBe(true);
  });

  it('reads the GM/T 0031 (version 2) seal: UTCTime dates, no certListType', () => {
    const s = parseSESeal(read('UserV1.esl'));
    expect(s.version).toBe(2);
    expect(s.eSealInfo.header.version).toBe(1);
    expect(s.eSealInfo.property.certListType).toBeUndefined();
    expect(s.eSealInfo.property.validEnd.kind).toBe('utc');
    expect(s.eSealInfo.property.validEnd.date.toISOString()).toBe('2022-04-22T02:18:07.000Z');
  });

  it('keeps an explicitly encoded critical FALSE (third-party seal) so the bytes survive', () => {
    const s = parseSESeal(read('SESealData.DER'));
    expect(s.eSealInfo.extDatas?.map((e) => [e.extnID, e.critical, e.criticalEncoded])).toEqual([
      ['1.2.156.112600.7.1', false, true],
      ['1.2.156.112600.7.2', true, true],
      ['1.2.156.112600.7.3', false, true],
    ]);
  });

  it('refuses trailing bytes, a wrong header ID, a header version that contradicts the structure, bad certListType', () => {
    const der = read('UserV4.esl');
    expectParseError(() => parseSESeal(Buffer.concat([der, Buffer.from([0])])), 'SES_SEAL_MALFORMED');
    expectParseError(() => parseSESeal(replaceTlv(der, Buffer.from('160245 53'.replace(' ', ''), 'hex'), Buffer.from('160245 58'.replace(' ', ''), 'hex'))), 'SES_SEAL_MALFORMED');
    // version 4 → 2 inside a four-element (GB/T 38540) SESeal.
    expectParseError(() => parseSESeal(replaceTlv(der, Buffer.from('020104', 'hex'), Buffer.from('020102', 'hex'))), 'SES_SEAL_MALFORMED');
    // certListType 1 → 3.
    const s = parseSESeal(der);
    const prop = decodeDer(s.eSealInfo.der).children[2]!;
    const certListType = prop.children[2]!;
    expect(certListType.der.toString('hex')).toBe('020101');
    const badProp = encodeTlv(0x30, Buffer.concat(prop.children.map((c) => (c === certListType ? Buffer.from('020103', 'hex') : c.der))));
    expectParseError(() => parseSESeal(replaceTlv(der, prop.der, badProp)), 'SES_SEAL_MALFORMED');
  });

  it('every truncation is a ParseError', () => {
    const der = read('UserV4.esl');
    for (let n = 0; n < der.length; n += n < 200 ? 1 : 97) expectParseError(() => parseSESeal(der.subarray(0, n)), 'SES_SEAL_MALFORMED');
  });

  it('random byte mutations never produce anything but a ParseError or a parse', () => {
    const der = read('UserV4.esl');
    // Mutate only the structure around the picture (the first 700 bytes and the tail).
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 700 }), fc.integer({ min: der.length - 600, max: der.length - 1 })), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const m = Buffer.from(der);
        for (const [i, b] of edits) m[i] = b;
        try {
          const s = parseSESeal(m);
          expect(encodeSESeal(s).equals(m)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ParseError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('refuses oversized input before decoding it', () => {
    expectParseError(() => parseSESeal(Buffer.alloc(3 * 1024 * 1024, 0x30)), 'SES_SEAL_MALFORMED');
  });
});

describe('SES_Signature parsing and encoding', () => {
  it('SignedValueV4.dat parses and re-encodes byte for byte', () => {
    const der = read('SignedValueV4.dat');
    const s = parseSESSignature(der);
    expect(s.version).toBe(4);
    expect(s.toSign.version).toBe(4);
    expect(s.toSign.propertyInfo).toBe('/Doc_0/Signs/Sign_0/Signature.xml');
    expect(s.toSign.timeInfo?.date.toISOString()).toBe('2020-10-12T11:14:03.000Z');
    expect(s.toSign.dataHash.equals(Buffer.alloc(32))).toBe(true); // the README's test artefact
    expect(s.toSign.eseal.der.equals(read('UserV4.esl'))).toBe(true);
    expect(s.timeStamp).toBeUndefined();
    expect(encodeSESSignature(s).equals(der)).toBe(true);
  });

  it('a malformed embedded seal is reported as a malformed signature', () => {
    const der = read('SignedValueV4.dat');
    const bad = replaceTlv(der, Buffer.from('160245 53'.replace(' ', ''), 'hex'), Buffer.from('160245 58'.replace(' ', ''), 'hex'));
    expectParseError(() => parseSESSignature(bad), 'SES_SIGNATURE_MALFORMED');
  });

  it('refuses an element after the signature that is not [0], and trailing bytes', () => {
    const der = read('SignedValueV4.dat');
    const n = decodeDer(der, { maxBytes: 8 << 20 });
    const extra = encodeTlv(0x30, Buffer.concat([...n.children.map((c) => c.der), Buffer.from('a1020500', 'hex')]));
    expectParseError(() => parseSESSignature(extra), 'SES_SIGNATURE_MALFORMED');
    expectParseError(() => parseSESSignature(Buffer.concat([der, Buffer.from([0])])), 'SES_SIGNATURE_MALFORMED');
  });

  it('every truncation and random mutation is a ParseError or a faithful parse', () => {
    const der = read('SignedValueV4.dat');
    for (let n = 0; n < der.length; n += n < 200 ? 1 : 131) expectParseError(() => parseSESSignature(der.subarray(0, n)), 'SES_SIGNATURE_MALFORMED');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: der.length - 800, max: der.length - 1 })), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const m = Buffer.from(der);
        for (const [i, b] of edits) m[i] = b;
        try {
          expect(encodeSESSignature(parseSESSignature(m)).equals(m)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(ParseError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
