import fc from 'fast-check';
import { AppError } from '../../../src/errors';
import { encodeEvidenceRecord, parseEvidenceRecord } from '../../../src/archive/evidence-record';
import { decodeDer, encodeOid, encodeTlv } from '../../../src/pki/der';

/** A stand-in ContentInfo: SEQUENCE { OID signedData, [0] { SEQUENCE { INTEGER n } } } — the ERS layer does not look inside. */
const contentInfo = (n: number) => Buffer.concat([Buffer.from([0x30, 0x12, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x05, 0x30, 0x03, 0x02, 0x01, n])]);
const h = (b: number) => Buffer.alloc(32, b);

const sample = () =>
  encodeEvidenceRecord({
    digestAlgorithms: ['sha256'],
    chains: [[{ digestAlgorithm: 'sha256', reducedHashtree: [[h(1), h(2)], [h(3)]], timeStamp: contentInfo(1) }, { digestAlgorithm: 'sha256', timeStamp: contentInfo(2) }]],
  });

function expectMalformed(bytes: Uint8Array): void {
  try {
    parseEvidenceRecord(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('ERS_MALFORMED');
    return;
  }
}

describe('EvidenceRecord (RFC 4998 §3)', () => {
  it('round-trips: version 1, sha256, one chain of two archive timestamps, the reduced tree on the first', () => {
    const der = sample();
    const er = parseEvidenceRecord(der);
    expect(er.digestAlgorithms).toEqual(['sha256']);
    expect(er.chains).toHaveLength(1);
    expect(er.chains[0]![0]!.reducedHashtree).toEqual([[h(1), h(2)], [h(3)]]);
    expect(er.chains[0]![1]!.reducedHashtree).toBeUndefined();
    expect(er.chains[0]![1]!.timeStamp).toEqual(contentInfo(2));
    expect(encodeEvidenceRecord(er)).toEqual(der);
  });

  it('writes the implicit context tags of the ERS module: [0] digestAlgorithm and [2] reducedHashtree constructed', () => {
    const root = decodeDer(sample(), { maxDepth: 48 });
    const ats = root.children[2]!.children[0]!.children[0]!;
    expect(ats.children.map((c) => [c.tagClass, c.tagNumber, c.constructed])).toEqual([
      ['context', 0, true],
      ['context', 2, true],
      ['universal', 16, true],
    ]);
    expect(root.children[0]!.content).toEqual(Buffer.from([1]));
  });

  it('refuses what it does not verify: other versions, cryptoInfos, attributes, SHA-1, empty chains, trailing bytes', () => {
    const der = sample();
    const v2 = Buffer.from(der);
    v2[v2.indexOf(Buffer.from([0x02, 0x01, 0x01]), 0) + 2] = 2;
    expect(() => parseEvidenceRecord(v2)).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
    expect(() => parseEvidenceRecord(Buffer.concat([der, Buffer.from([0])]))).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
    const seq = (...p: Buffer[]) => encodeTlv(0x30, Buffer.concat(p));
    const withAlg = (oid: string) => seq(encodeTlv(0x02, Buffer.from([1])), seq(seq(encodeOid(oid))), seq(seq(seq(contentInfo(1)))));
    expect(parseEvidenceRecord(withAlg('2.16.840.1.101.3.4.2.1')).chains).toHaveLength(1);
    expect(() => parseEvidenceRecord(withAlg('1.3.14.3.2.26'))).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
    const withCryptoInfos = seq(encodeTlv(0x02, Buffer.from([1])), seq(seq(encodeOid('2.16.840.1.101.3.4.2.1'))), encodeTlv(0xa0, Buffer.alloc(0)), seq(seq(seq(contentInfo(1)))));
    expect(() => parseEvidenceRecord(withCryptoInfos)).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
    const withAttributes = seq(encodeTlv(0x02, Buffer.from([1])), seq(seq(encodeOid('2.16.840.1.101.3.4.2.1'))), seq(seq(seq(encodeTlv(0xa1, Buffer.alloc(0)), contentInfo(1)))));
    expect(() => parseEvidenceRecord(withAttributes)).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
    expect(() => parseEvidenceRecord(Buffer.from('300a020101300030003000', 'hex'))).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
    expect(() => parseEvidenceRecord(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERS_MALFORMED' }));
  });

  it('random and mutated input only ever gives ERS_MALFORMED, never a crash or a hang', () => {
    const der = sample();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => expectMalformed(bytes)),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const m = Buffer.from(der);
        m[at] = value;
        expectMalformed(m);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.nat(der.length - 1), (cut) => expectMalformed(der.subarray(0, cut))),
      { numRuns: 200 },
    );
  });
});
