import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildCadesSignature, parseCadesSignature, tsaTimestamper, verifyCadesSignature, type ParsedCadesSignature } from '../../../src/signing';
import { encodeAttribute } from '../../../src/signing/signed-attributes';
import { encodeOid, encodeTlv } from '../../../src/pki/der';
import { PKI_OID } from '../../../src/pki';
import { ParseError } from '../../../src/errors';
import { createTestPki, type TestPki } from '../../helpers/test-pki';
import { malformedVariants, noise } from '../pki/malformed-inputs';
import { attributeNodes, cmsNodes, createTestTsa, replaceChildren, replaceNode } from './helpers';

const CONTENT = Buffer.from('content to sign\n'.repeat(64));
const CODES = new Set(['CMS_MALFORMED', 'CMS_UNSUPPORTED']);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

function parseCode(bytes: Uint8Array): string | undefined {
  try {
    parseCadesSignature(bytes);
  } catch (e) {
    if (e instanceof ParseError) return e.code;
    return `unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
  return undefined;
}

let pki: TestPki;
let bb: Buffer; // CAdES B-B
let bt: Buffer; // CAdES B-T

beforeAll(async () => {
  pki = await createTestPki({ algorithm: 'ES256' });
  const tsa = await createTestTsa();
  const base = { signer: pki.seal.signer, certificate: pki.seal.der, chain: [pki.issuing.der], content: CONTENT };
  bb = (await buildCadesSignature({ ...base, profile: 'cades', signingTime: pki.now })).der;
  bt = (await buildCadesSignature({ ...base, profile: 'pades', timestamp: tsaTimestamper(tsa.respond) })).der;
});

describe('parseCadesSignature: malformed input', () => {
  it.each(malformedVariants(Buffer.alloc(0)).map((v) => v.name))('%s → CMS_MALFORMED', (name) => {
    const variant = malformedVariants(bb).find((v) => v.name === name)!;
    expect(parseCode(variant.bytes)).toBe('CMS_MALFORMED');
  });

  it('refuses what is not bytes', () => {
    expect(parseCode('3003020101' as unknown as Uint8Array)).toBe('CMS_MALFORMED');
  });

  it('honours the size limit', () => {
    expect(() => parseCadesSignature(bb, { limits: { maxBytes: 512 } })).toThrow(expect.objectContaining({ code: 'CMS_MALFORMED' }));
    expect(parseCadesSignature(bb, { limits: { maxBytes: bb.length } }).der).toEqual(bb);
  });

  it('a ContentInfo that is not SignedData → CMS_UNSUPPORTED', () => {
    const data = encodeTlv(0x30, Buffer.concat([encodeOid('1.2.840.113549.1.7.1'), encodeTlv(0xa0, encodeTlv(0x04, Buffer.from('x')))]));
    expect(parseCode(data)).toBe('CMS_UNSUPPORTED');
  });

  it('zero or two SignerInfos → CMS_UNSUPPORTED', () => {
    const { root, signerInfos, signerInfo } = cmsNodes(bb);
    expect(parseCode(replaceChildren(root, signerInfos, []))).toBe('CMS_UNSUPPORTED');
    expect(parseCode(replaceChildren(root, signerInfos, [signerInfo.der, signerInfo.der]))).toBe('CMS_UNSUPPORTED');
  });

  it('a SignerInfo without signed attributes → CMS_UNSUPPORTED', () => {
    const { root, signerInfo } = cmsNodes(bb);
    const { signed } = attributeNodes(signerInfo);
    expect(parseCode(replaceChildren(root, signerInfo, signerInfo.children.filter((c) => c !== signed).map((c) => c.der)))).toBe('CMS_UNSUPPORTED');
  });

  it('SignedData version 2 or 4 → CMS_UNSUPPORTED; SignerInfo version 2 → CMS_UNSUPPORTED', () => {
    const { root, signedData, signerInfo } = cmsNodes(bb);
    expect(parseCode(replaceNode(root, signedData.children[0]!, Buffer.from([2, 1, 2])))).toBe('CMS_UNSUPPORTED');
    expect(parseCode(replaceNode(root, signedData.children[0]!, Buffer.from([2, 1, 4])))).toBe('CMS_UNSUPPORTED');
    expect(parseCode(replaceNode(root, signerInfo.children[0]!, Buffer.from([2, 1, 2])))).toBe('CMS_UNSUPPORTED');
  });

  it('signed attributes not sorted as a DER SET OF → CMS_MALFORMED', () => {
    const { root, signerInfo } = cmsNodes(bb);
    const { signed } = attributeNodes(signerInfo);
    const reversed = [...signed.children].reverse().map((c) => c.der);
    expect(parseCode(replaceChildren(root, signed, reversed))).toBe('CMS_MALFORMED');
  });

  it('a duplicated signed attribute, a missing message-digest, a two-valued content-type → CMS_MALFORMED', () => {
    const { root, signerInfo } = cmsNodes(bb);
    const { signed } = attributeNodes(signerInfo);
    const attrs = signed.children.map((c) => c.der);
    const dup = [...attrs, attrs[attrs.length - 1]!];
    expect(parseCode(replaceChildren(root, signed, dup))).toBe('CMS_MALFORMED');
    const md = signed.children.find((c) => c.der.includes(Buffer.from('06092a864886f70d010904', 'hex')))!;
    expect(parseCode(replaceChildren(root, signed, signed.children.filter((c) => c !== md).map((c) => c.der)))).toBe('CMS_MALFORMED');
    const ct = signed.children.find((c) => c.der.includes(Buffer.from('06092a864886f70d010903', 'hex')))!;
    const twoValues = encodeTlv(0x30, Buffer.concat([encodeOid(PKI_OID.contentType), encodeTlv(0x31, Buffer.concat([encodeOid('1.2.840.113549.1.7.1'), encodeOid('1.2.840.113549.1.7.2')]))]));
    expect(parseCode(replaceNode(root, ct, twoValues))).toBe('CMS_MALFORMED');
  });

  it("the signer's digestAlgorithm missing from digestAlgorithms → CMS_MALFORMED", () => {
    const { root, signedData } = cmsNodes(bb);
    const sha384 = encodeTlv(0x30, encodeOid('2.16.840.1.101.3.4.2.2'));
    expect(parseCode(replaceChildren(root, signedData.children[1]!, [sha384]))).toBe('CMS_MALFORMED');
  });

  it('a signing-time with fractional seconds, an empty unsigned attribute set, a non-ContentInfo token → CMS_MALFORMED', () => {
    const { root, signerInfo } = cmsNodes(bb);
    const st = attributeNodes(signerInfo).signed.children.find((c) => c.der.includes(Buffer.from('06092a864886f70d010905', 'hex')))!;
    expect(parseCode(replaceNode(root, st, encodeAttribute(PKI_OID.signingTime, encodeTlv(0x18, Buffer.from('20250601080000.5Z')))))).toBe('CMS_MALFORMED');
    expect(parseCode(replaceChildren(root, signerInfo, [...signerInfo.children.map((c) => c.der), Buffer.from([0xa1, 0x00])]))).toBe('CMS_MALFORMED');
    const badToken = encodeTlv(0xa1, encodeAttribute('1.2.840.113549.1.9.16.2.14', encodeTlv(0x04, Buffer.from('token'))));
    expect(parseCode(replaceChildren(root, signerInfo, [...signerInfo.children.map((c) => c.der), badToken]))).toBe('CMS_MALFORMED');
  });

  it('an unknown CertificateChoices → CMS_MALFORMED; an attribute certificate [2] is skipped', () => {
    const { root, certificates } = cmsNodes(bb);
    const kids = certificates!.children.map((c) => c.der);
    expect(parseCode(replaceChildren(root, certificates!, [...kids, Buffer.from([0xa5, 0x00])]))).toBe('CMS_MALFORMED');
    const withAttrCert = parseCadesSignature(replaceChildren(root, certificates!, [...kids, Buffer.from([0xa2, 0x02, 0x05, 0x00])]));
    expect(withAttrCert.certificates).toHaveLength(2);
  });
});

describe('parseCadesSignature: forms we accept', () => {
  it('an attached signature: eContent returned and used when no content is given', () => {
    const { root, signedData } = cmsNodes(bb);
    const attached = encodeTlv(0x30, Buffer.concat([encodeOid('1.2.840.113549.1.7.1'), encodeTlv(0xa0, encodeTlv(0x04, CONTENT))]));
    const cms = replaceNode(root, signedData.children[2]!, attached);
    const p = parseCadesSignature(cms);
    expect(p.eContent).toEqual(CONTENT);
    expect(verifyCadesSignature({ cms }).valid).toBe(true);
  });

  it('a version 3 SignerInfo identified by subjectKeyIdentifier', () => {
    const { root, signedData, signerInfo } = cmsNodes(bb);
    const ski = pki.seal.parsed.subjectKeyIdentifier!;
    const si = encodeTlv(0x30, Buffer.concat([Buffer.from([2, 1, 3]), encodeTlv(0x80, ski), ...signerInfo.children.slice(2).map((c) => c.der)]));
    const sd = encodeTlv(0x30, Buffer.concat([Buffer.from([2, 1, 3]), ...signedData.children.slice(1, -1).map((c) => c.der), encodeTlv(0x31, si)]));
    const cms = replaceNode(root, signedData, sd);
    const p = parseCadesSignature(cms);
    expect(p.signerInfo.sid).toEqual({ subjectKeyIdentifier: ski });
    expect(p.signerCertificate?.der).toEqual(pki.seal.der);
    expect(verifyCadesSignature({ cms, content: CONTENT }).valid).toBe(true);
    // Version 1 SignedData with a version 3 SignerInfo is inconsistent (RFC 5652 §5.1).
    expect(parseCode(replaceNode(root, signerInfo, si))).toBe('CMS_MALFORMED');
  });

  it('keeps every part as received', () => {
    const p: ParsedCadesSignature = parseCadesSignature(bt);
    expect(p.der).toEqual(bt);
    expect(bt.includes(p.signerInfo.der)).toBe(true);
    expect(bt.includes(p.signatureTimeStampTokens[0]!)).toBe(true);
    expect(p.signerInfo.signedAttrs.every((a) => bt.includes(a.der))).toBe(true);
    expect(p.messageDigest).toEqual(sha256(CONTENT));
  });
});

describe('parseCadesSignature / verifyCadesSignature: properties', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

  function apply(input: Buffer, ms: Mutation[]): Buffer {
    let b = Buffer.from(input);
    for (const m of ms) {
      if (b.length === 0) break;
      const at = m.at % b.length;
      if (m.kind === 'flip') b[at] ^= 1 << m.bit;
      else if (m.kind === 'set') b[at] = m.value;
      else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
      else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
      else b = b.subarray(0, at);
    }
    return b;
  }

  it('mutated signatures only ever parse or fail with CMS_MALFORMED / CMS_UNSUPPORTED', () => {
    fc.assert(
      fc.property(fc.constantFrom(bb, bt), fc.array(mutation, { minLength: 1, maxLength: 4 }), (valid, ms) => {
        const code = parseCode(apply(valid, ms));
        return code === undefined || CODES.has(code);
      }),
      { numRuns: 1500, seed: 354 },
    );
  });

  it('verify never throws on mutated signatures, and a changed signed part never verifies', () => {
    const signedStart = (der: Buffer) => {
      const { signerInfo } = cmsNodes(der);
      const { signed } = attributeNodes(signerInfo);
      const from = der.indexOf(signed.der);
      return [from, from + signed.der.length] as const;
    };
    fc.assert(
      fc.property(fc.constantFrom(bb, bt), fc.array(mutation.filter((m) => m.kind === 'flip'), { minLength: 1, maxLength: 3 }), (valid, ms) => {
        const mutated = apply(valid, ms);
        const v = verifyCadesSignature({ cms: mutated, content: CONTENT });
        const [from, to] = signedStart(valid);
        const touchedSigned = !mutated.subarray(from, to).equals(valid.subarray(from, to));
        return !(touchedSigned && v.valid);
      }),
      { numRuns: 400, seed: 3161 },
    );
  });

  it('random bytes and random DER-looking input only ever fail with the CMS codes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const code = parseCode(bytes);
        return code !== undefined && CODES.has(code);
      }),
      { numRuns: 1000, seed: 5652 },
    );
    for (let seed = 1; seed < 50; seed++) {
      const body = noise(200, seed);
      const code = parseCode(Buffer.concat([Buffer.from([0x30, 0x81, 0xc8]), body]));
      expect(CODES.has(code!)).toBe(true);
    }
  });

  it('a deeply nested value inside a valid signature (an unsigned attribute) is refused, not a stack overflow', () => {
    let inner: Buffer = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < 5000; i++) inner = encodeTlv(0x30, inner);
    const { root, signerInfo } = cmsNodes(bb);
    const deep = encodeTlv(0xa1, encodeAttribute('1.2.3.4', inner));
    expect(parseCode(replaceChildren(root, signerInfo, [...signerInfo.children.map((c) => c.der), deep]))).toBe('CMS_MALFORMED');
    const shallow = encodeTlv(0xa1, encodeAttribute('1.2.3.4', Buffer.from([0x05, 0x00])));
    expect(parseCode(replaceChildren(root, signerInfo, [...signerInfo.children.map((c) => c.der), shallow]))).toBeUndefined();
  });
});
