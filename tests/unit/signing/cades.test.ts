import { createHash, createPublicKey, constants, verify as nodeVerify } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { GeneralName, GeneralNames } from '@peculiar/asn1-x509';
import { buildCadesSignature, parseCadesSignature, tsaTimestamper, verifyCadesSignature, CADES_OID, type CadesVerification } from '../../../src/signing';
import { encodeSigningCertificateV2, encodeSigningTime } from '../../../src/signing/signed-attributes';
import { ESSCertIDv2, IssuerSerial, SigningCertificateV2 } from '../../../src/pki/asn1/signing-certificate-v2';
import { nameFromDer } from '../../../src/pki/name';
import { decodeDer, toArrayBuffer } from '../../../src/pki/der';
import { PKI_OID, parseTimeStampToken } from '../../../src/pki';
import { AppError } from '../../../src/errors';
import { createTestPki, type TestPki } from '../../helpers/test-pki';
import { attributeNodes, cmsNodes, createTestTsa, findNode, replaceNode, type TestTsa } from './helpers';

const CONTENT = Buffer.from('Order No. 354 — a document to seal\n'.repeat(30));
const SIGNING_TIME = new Date('2025-06-01T08:30:15.789Z');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

function statusOf(v: CadesVerification): Record<string, string> {
  return Object.fromEntries(v.checks.map((c) => [c.check, c.status]));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof AppError ? e.code : `not an AppError: ${String(e)}`;
  }
  return undefined;
}

let tsa: TestTsa;
beforeAll(async () => {
  tsa = await createTestTsa();
});

describe.each(['ES256', 'RS256', 'PS256'] as const)('CAdES with %s', (algorithm) => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki({ algorithm });
  });
  const base = () => ({ signer: pki.seal.signer, certificate: pki.seal.der, chain: [pki.issuing.der, pki.root.der] });

  it('builds a detached SignedData v1 with one v1 SignerInfo, SHA-256 and the table signature algorithm', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades', signingTime: SIGNING_TIME });
    const p = parseCadesSignature(sig.der);
    expect(p.version).toBe(1);
    expect(p.eContentType).toBe(CADES_OID.data);
    expect(p.eContent).toBeUndefined();
    expect(p.digestAlgorithms.map((a) => a.der.toString('hex'))).toEqual(['300b0609608648016503040201']);
    expect(p.signerInfo.version).toBe(1);
    expect(p.signerInfo.sid).toEqual({ issuer: pki.seal.parsed.issuer.der, serial: pki.seal.parsed.serial, serialHex: pki.seal.parsed.serialHex });
    expect(p.signerInfo.digestAlgorithm.der.toString('hex')).toBe('300b0609608648016503040201');
    expect(p.signerCertificate?.der).toEqual(pki.seal.der);
    expect(p.certificates.map((c) => c.der.toString('hex')).sort()).toEqual([pki.seal.der, pki.issuing.der, pki.root.der].map((d) => d.toString('hex')).sort());
    const alg = p.signerInfo.signatureAlgorithm;
    if (algorithm === 'ES256') expect(alg.der.toString('hex')).toBe('300a06082a8648ce3d040302'); // no parameters (RFC 5758 §3.2)
    if (algorithm === 'RS256') expect(alg.der.toString('hex')).toBe('300d06092a864886f70d01010b0500'); // NULL (RFC 4055 §5)
    if (algorithm === 'PS256') {
      // RSASSA-PSS-params: SHA-256, MGF1 with SHA-256, salt 32 (RFC 4055 §3.1), trailer default.
      expect(alg.oid).toBe('1.2.840.113549.1.1.10');
      expect(alg.parameters!.toString('hex')).toBe(
        '3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120',
      );
    }
    expect(p.signerInfo.signatureScheme?.algorithm).toBe(algorithm);
    expect(p.signatureTimeStampTokens).toEqual([]);
    expect(sig.signatureValue).toEqual(p.signerInfo.signature);
  });

  it('signs the sorted DER SET of signed attributes and embeds exactly those bytes', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades', signingTime: SIGNING_TIME });
    const p = parseCadesSignature(sig.der);
    expect(p.signerInfo.signedAttrsDer).toEqual(sig.signedAttributes);
    expect(sig.signedAttributes[0]).toBe(0x31);
    const ders = p.signerInfo.signedAttrs.map((a) => a.der);
    const sorted = [...ders].sort((a, b) => Buffer.compare(a, b));
    expect(ders).toEqual(sorted);
    expect(p.signerInfo.signedAttrs.map((a) => a.oid).sort()).toEqual(
      [PKI_OID.contentType, PKI_OID.messageDigest, PKI_OID.signingTime, PKI_OID.signingCertificateV2].sort(),
    );
    expect(p.contentType).toBe(CADES_OID.data);
    expect(p.messageDigest).toEqual(sha256(CONTENT));
    expect(p.signingTime).toEqual(new Date('2025-06-01T08:30:15Z'));
    // Independently of our verifier: Node checks the signature over those bytes with the SPKI.
    const key = createPublicKey({ key: pki.seal.signer.publicKey, format: 'der', type: 'spki' });
    const opts =
      algorithm === 'ES256'
        ? { key, dsaEncoding: 'der' as const }
        : algorithm === 'RS256'
          ? { key, padding: constants.RSA_PKCS1_PADDING }
          : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(nodeVerify('sha256', sig.signedAttributes, opts, sig.signatureValue)).toBe(true);
  });

  it('writes signing-certificate-v2: certHash of the signer cert, no hashAlgorithm, issuerSerial', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades' });
    const ess = parseCadesSignature(sig.der).signingCertificateV2!;
    expect(ess.certs).toHaveLength(1);
    const id = ess.certs[0]!;
    // certHash first: hashAlgorithm omitted (its DEFAULT is SHA-256).
    expect(decodeDer(id.der).children.map((c) => c.tagNumber)).toEqual([4, 16]);
    expect(id.hashName).toBe('sha256');
    expect(id.certHash).toEqual(sha256(pki.seal.der));
    expect(id.issuerSerial).toEqual({ directoryNames: [pki.seal.parsed.issuer.der], serial: pki.seal.parsed.serial, serialHex: pki.seal.parsed.serialHex });
    expect(ess.policies).toBeUndefined();
  });

  it('PAdES profile: no signing-time; a signing time is refused', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades' });
    const p = parseCadesSignature(sig.der);
    expect(p.signerInfo.signedAttrs.map((a) => a.oid)).not.toContain(PKI_OID.signingTime);
    expect(p.signingTime).toBeUndefined();
    expect(p.signerInfo.signedAttrs).toHaveLength(3);
    expect(verifyCadesSignature({ cms: sig.der, content: CONTENT }).valid).toBe(true);
    expect(await codeOf(buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades', signingTime: SIGNING_TIME }))).toBe('CADES_INVALID_INPUT');
    expect(await codeOf(buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades' }))).toBe('CADES_INVALID_INPUT');
  });

  it('the digest-only path signs the same attributes as the content path', async () => {
    const a = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades', signingTime: SIGNING_TIME });
    const b = await buildCadesSignature({ ...base(), contentDigest: sha256(CONTENT), profile: 'cades', signingTime: SIGNING_TIME });
    expect(b.signedAttributes).toEqual(a.signedAttributes);
    // PKCS #1 v1.5 is deterministic: the whole CMS is identical. ECDSA and PSS are randomised.
    if (algorithm === 'RS256') expect(b.der).toEqual(a.der);
    for (const s of [a, b]) {
      expect(verifyCadesSignature({ cms: s.der, content: CONTENT }).valid).toBe(true);
      expect(verifyCadesSignature({ cms: s.der, contentDigest: sha256(CONTENT) }).valid).toBe(true);
    }
  });

  it('verifies: every check passes, the time-stamp step is skipped for B-B', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades', signingTime: SIGNING_TIME });
    const v = verifyCadesSignature({ cms: sig.der, content: CONTENT });
    expect(v.valid).toBe(true);
    expect(statusOf(v)).toEqual({
      structure: 'passed',
      'signer-certificate': 'passed',
      'content-type': 'passed',
      'message-digest': 'passed',
      'signature-algorithm': 'passed',
      signature: 'passed',
      'signing-certificate-v2': 'passed',
      'signature-timestamp': 'skipped',
    });
    expect(v.signerCertificate?.der).toEqual(pki.seal.der);
    expect(v.claimedSigningTime).toEqual(new Date('2025-06-01T08:30:15Z'));
    const required = verifyCadesSignature({ cms: sig.der, content: CONTENT, requireTimestamp: true });
    expect(required.valid).toBe(false);
    expect(required.checks.find((c) => c.check === 'signature-timestamp')?.status).toBe('not-accepted');
  });

  it('detects tampered content (message digest) without touching the signature check', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades', signingTime: SIGNING_TIME });
    const tampered = Buffer.from(CONTENT);
    tampered[10] ^= 1;
    const v = verifyCadesSignature({ cms: sig.der, content: tampered });
    expect(v.valid).toBe(false);
    expect(statusOf(v)['message-digest']).toBe('invalid');
    expect(statusOf(v).signature).toBe('passed');
    expect(v.checks.find((c) => c.check === 'message-digest')?.reason).toBe('The content does not match the signature');
  });

  it('detects tampered signed attributes (a changed signing time)', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'cades', signingTime: SIGNING_TIME });
    const { root, signerInfo } = cmsNodes(sig.der);
    const time = findNode(attributeNodes(signerInfo).signed, (n) => n.tagClass === 'universal' && n.tagNumber === 23)!;
    const forged = Buffer.from(time.der);
    forged[forged.length - 2] = 0x30 + ((forged[forged.length - 2]! - 0x30 + 1) % 10); // seconds' last digit
    const cms = replaceNode(root, time, forged);
    const v = verifyCadesSignature({ cms, content: CONTENT });
    expect(v.valid).toBe(false);
    expect(statusOf(v)).toMatchObject({ structure: 'passed', 'message-digest': 'passed', signature: 'invalid' });
    expect(v.checks.find((c) => c.check === 'signature')?.reason).toBe('The signature does not verify');
  });

  it('detects the wrong certificate: another key under the same issuer and serial', async () => {
    const other = await pki.issue('seal', { c: 'CN', o: 'eseal test', organizationIdentifier: 'NTRCN-11330105002500287C', cn: 'twin' }, 'seal', {
      signer: (await createTestPki({ algorithm, keyLabel: 'cades-other' })).seal.signer,
    });
    expect(other.parsed.serialHex).toBe(pki.seal.parsed.serialHex);
    // A Signer that claims the twin's key but signs with the seal key.
    const liar = { ...pki.seal.signer, publicKey: other.parsed.spki, sign: pki.seal.signer.sign };
    const sig = await buildCadesSignature({ signer: liar, certificate: other.der, chain: [pki.issuing.der], content: CONTENT, profile: 'pades' });
    const v = verifyCadesSignature({ cms: sig.der, content: CONTENT });
    expect(v.valid).toBe(false);
    expect(statusOf(v)).toMatchObject({ 'signer-certificate': 'passed', signature: 'invalid', 'signing-certificate-v2': 'passed' });
  });

  it('detects a certificate swapped after signing (same key, issuer, serial): signing-certificate-v2 fails', async () => {
    const twin = await pki.issue('seal', { c: 'CN', o: 'eseal test', organizationIdentifier: 'NTRCN-11330105002500287C', cn: 'twin' }, 'seal', {
      signer: pki.seal.signer,
    });
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades' });
    const { root, certificates } = cmsNodes(sig.der);
    const sealNode = certificates!.children.find((c) => c.der.equals(pki.seal.der))!;
    const cms = replaceNode(root, sealNode, twin.der);
    const v = verifyCadesSignature({ cms, content: CONTENT });
    expect(v.signerCertificate?.der).toEqual(twin.der);
    expect(v.valid).toBe(false);
    expect(statusOf(v)).toMatchObject({ signature: 'passed', 'signing-certificate-v2': 'invalid' });
  });

  it('refuses a Signer whose key is not the certificate key', async () => {
    expect(await codeOf(buildCadesSignature({ signer: pki.tsa.signer, certificate: pki.seal.der, content: CONTENT, profile: 'pades' }))).toBe('PKI_SIGNER_MISMATCH');
  });

  it('B-T: the signature-time-stamp covers the signature value and verifies', async () => {
    const sig = await buildCadesSignature({
      ...base(),
      content: CONTENT,
      profile: 'cades',
      signingTime: SIGNING_TIME,
      timestamp: tsaTimestamper(tsa.respond, { random: () => Buffer.alloc(16, 0x5a) }),
    });
    const p = parseCadesSignature(sig.der);
    expect(p.signatureTimeStampTokens).toEqual([sig.timeStampToken]);
    expect(p.signerInfo.unsignedAttrs.map((a) => a.oid)).toEqual([CADES_OID.signatureTimeStampToken]);
    const tst = parseTimeStampToken(sig.timeStampToken!).tstInfo;
    expect(tst.messageImprint.hashName).toBe('sha256');
    expect(tst.messageImprint.hashedMessage).toEqual(sha256(sig.signatureValue));
    expect(tst.nonce!.toString('hex')).toBe('5a'.repeat(16));
    // The signed part is unchanged by the unsigned attribute.
    expect(p.signerInfo.signedAttrsDer).toEqual(sig.signedAttributes);
    const v = verifyCadesSignature({ cms: sig.der, content: CONTENT, requireTimestamp: true });
    expect(v.valid).toBe(true);
    expect(statusOf(v)['signature-timestamp']).toBe('passed');
    expect(v.timestamps).toHaveLength(1);
    expect(v.timestamps[0]!.genTime).toEqual(tsa.pki.now);
    expect(v.timestamps[0]!.tsaCertificate.der).toEqual(tsa.pki.tsa.der);
  });

  it('B-T: a token over another signature value is detected', async () => {
    const a = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades', timestamp: tsaTimestamper(tsa.respond) });
    const b = await buildCadesSignature({ ...base(), content: Buffer.from('other'), profile: 'pades', timestamp: tsaTimestamper(tsa.respond) });
    const { root, signerInfo } = cmsNodes(a.der);
    const tokenNode = findNode(attributeNodes(signerInfo).unsigned!, (n) => n.der.equals(a.timeStampToken!))!;
    const cms = replaceNode(root, tokenNode, b.timeStampToken!);
    const v = verifyCadesSignature({ cms, content: CONTENT });
    expect(v.valid).toBe(false);
    expect(v.checks.find((c) => c.check === 'signature-timestamp')).toEqual({
      check: 'signature-timestamp',
      status: 'invalid',
      reason: 'The signature time-stamp does not verify',
      code: 'TSP_TOKEN_INVALID',
    });
    expect(statusOf(v).signature).toBe('passed');
    // And the builder refuses such a token from a timestamper.
    expect(await codeOf(buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades', timestamp: async () => b.timeStampToken! }))).toBe('TSA_BAD_RESPONSE');
  });

  it('allow-list: an algorithm outside it is not accepted', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, profile: 'pades' });
    const others = (['ES256', 'RS256', 'PS256'] as const).filter((a) => a !== algorithm);
    const v = verifyCadesSignature({ cms: sig.der, content: CONTENT, allowedAlgorithms: others });
    expect(statusOf(v)).toMatchObject({ 'signature-algorithm': 'not-accepted', signature: 'skipped' });
    expect(v.valid).toBe(false);
  });
});

describe('signed attribute encoders', () => {
  it('signing-certificate-v2 bytes equal the src/pki asn1-schema class serialization', async () => {
    const pki = await createTestPki({ algorithm: 'ES256' });
    for (const cert of [pki.seal, pki.tsa, pki.issuing]) {
      const viaClass = AsnConvert.serialize(
        new SigningCertificateV2({
          certs: [
            new ESSCertIDv2({
              certHash: new OctetString(sha256(cert.der)),
              issuerSerial: new IssuerSerial({
                issuer: new GeneralNames([new GeneralName({ directoryName: nameFromDer(cert.parsed.issuer.der) })]),
                serialNumber: toArrayBuffer(cert.parsed.serial),
              }),
            }),
          ],
        }),
      );
      expect(encodeSigningCertificateV2(cert.parsed)).toEqual(Buffer.from(viaClass));
    }
  });

  it('signing-time: UTCTime 1950–2049, GeneralizedTime otherwise, whole seconds (RFC 5652 §11.3)', () => {
    expect(encodeSigningTime(new Date('2025-06-01T08:30:15.999Z')).toString('latin1')).toBe('\x17\x0d250601083015Z');
    expect(encodeSigningTime(new Date('1950-01-01T00:00:00Z')).toString('latin1')).toBe('\x17\x0d500101000000Z');
    expect(encodeSigningTime(new Date('2049-12-31T23:59:59Z')).toString('latin1')).toBe('\x17\x0d491231235959Z');
    expect(encodeSigningTime(new Date('2050-01-01T00:00:00Z')).toString('latin1')).toBe('\x18\x0f20500101000000Z');
    expect(encodeSigningTime(new Date('1949-12-31T23:59:59Z')).toString('latin1')).toBe('\x18\x0f19491231235959Z');
    expect(() => encodeSigningTime(new Date(NaN))).toThrow(expect.objectContaining({ code: 'CADES_INVALID_INPUT' }));
    // Round trip through the DER reader.
    expect(decodeDer(encodeSigningTime(new Date('2050-01-01T00:00:00Z'))).tagNumber).toBe(24);
  });
});

describe('builder input validation', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki({ algorithm: 'ES256' });
  });
  const base = () => ({ signer: pki.seal.signer, certificate: pki.seal.der, profile: 'pades' as const });

  it.each([
    ['neither content nor digest', {}],
    ['both content and digest', { content: CONTENT, contentDigest: sha256(CONTENT) }],
    ['a digest of the wrong length', { contentDigest: Buffer.alloc(20) }],
    ['an unknown profile', { content: CONTENT, profile: 'xades' }],
  ])('%s → CADES_INVALID_INPUT', async (_name, extra) => {
    expect(await codeOf(buildCadesSignature({ ...base(), ...(extra as object) } as never))).toBe('CADES_INVALID_INPUT');
  });

  it("a Signer algorithm outside the table or not fitting the certificate's key → CADES_INVALID_INPUT", async () => {
    const claimsRsa = { ...pki.seal.signer, algorithm: 'RS256' as const };
    expect(await codeOf(buildCadesSignature({ ...base(), signer: claimsRsa, content: CONTENT }))).toBe('CADES_INVALID_INPUT');
    const unknown = { ...pki.seal.signer, algorithm: 'EdDSA' as never };
    expect(await codeOf(buildCadesSignature({ ...base(), signer: unknown, content: CONTENT }))).toBe('CADES_INVALID_INPUT');
    expect(await codeOf(buildCadesSignature({ ...base(), certificate: 'MIIB...' as never, content: CONTENT }))).toBe('CADES_INVALID_INPUT');
  });

  it('a malformed certificate → CERT_MALFORMED', async () => {
    expect(await codeOf(buildCadesSignature({ ...base(), content: CONTENT, certificate: pki.seal.der.subarray(0, 100) }))).toBe('CERT_MALFORMED');
    expect(await codeOf(buildCadesSignature({ ...base(), content: CONTENT, chain: [Buffer.from([0x30, 0x00])] }))).toBe('CERT_MALFORMED');
  });

  it('an ES256 Signer returning a raw r||s signature → KEY_UNAVAILABLE, never a broken CMS', async () => {
    const raw = { ...pki.seal.signer, sign: async () => Buffer.alloc(64, 1) };
    expect(await codeOf(buildCadesSignature({ ...base(), signer: raw, content: CONTENT }))).toBe('KEY_UNAVAILABLE');
  });

  it('the certificate set holds each certificate once, sorted as a DER SET OF', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT, chain: [pki.issuing.der, pki.seal.der, pki.root.der] });
    const certs = parseCadesSignature(sig.der).certificates.map((c) => c.der);
    expect(certs).toHaveLength(3);
    expect(certs).toEqual([...certs].sort((a, b) => Buffer.compare(a, b)));
  });

  it('verify: caller errors throw CADES_INVALID_INPUT; a detached signature needs its content', async () => {
    const sig = await buildCadesSignature({ ...base(), content: CONTENT });
    expect(() => verifyCadesSignature({ cms: sig.der })).toThrow(expect.objectContaining({ code: 'CADES_INVALID_INPUT' }));
    expect(() => verifyCadesSignature({ cms: sig.der, content: CONTENT, contentDigest: sha256(CONTENT) })).toThrow(
      expect.objectContaining({ code: 'CADES_INVALID_INPUT' }),
    );
    expect(() => verifyCadesSignature({ cms: sig.der, contentDigest: Buffer.alloc(31) })).toThrow(expect.objectContaining({ code: 'CADES_INVALID_INPUT' }));
  });
});
