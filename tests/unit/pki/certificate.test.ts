import { ParseError, ValidationError, AppError } from '../../../src/errors';
import {
  PROFILES,
  PKI_OID,
  computeKeyIdentifier,
  creditCodeFromOrganizationIdentifier,
  creditCodeOrganizationIdentifier,
  fromPem,
  fromPemAll,
  issueCertificate,
  parseCertificate,
  readPublicKeyInfo,
  toPem,
  verifyCertificateSignature,
  type CertificateProfile,
} from '../../../src/pki';
import { createTestPki, testSerial, testSigner, FIXED_NOW, TEST_CREDIT_CODE, TEST_URLS, type TestPki } from '../../helpers/test-pki';
import { assertOnlyParseErrors, expectParseError, malformedVariants } from './malformed-inputs';
import { decodeDer } from '../../../src/pki/der';
import { readExtensions } from '../../../src/pki/certificate';
import { readName } from '../../../src/pki/name';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});

const DAY = 86400_000;

describe('issueCertificate', () => {
  it('issues a self-signed root under the root-ca profile', () => {
    const c = pki.root.parsed;
    expect(c.version).toBe(3);
    expect(c.selfIssued).toBe(true);
    expect(c.basicConstraints).toEqual({ ca: true, pathLen: 1, critical: true });
    expect(c.keyUsage).toEqual({ usages: ['keyCertSign', 'cRLSign'], critical: true });
    expect(c.extKeyUsage).toBeUndefined();
    expect(c.authorityKeyIdentifier).toEqual(c.subjectKeyIdentifier);
    expect(c.crlDistributionPoints).toEqual([]);
    expect(c.ocspUrls).toEqual([]);
    expect(verifyCertificateSignature(c, readPublicKeyInfo(c.spki))).toBe(true);
  });

  it('chains the issuing CA to the root (issuer bytes, AKI, signature, pathLen 0)', () => {
    const c = pki.issuing.parsed;
    expect(c.issuer.der).toEqual(pki.root.parsed.subject.der);
    expect(c.authorityKeyIdentifier).toEqual(pki.root.parsed.subjectKeyIdentifier);
    expect(c.basicConstraints).toEqual({ ca: true, pathLen: 0, critical: true });
    expect(verifyCertificateSignature(c, readPublicKeyInfo(pki.root.parsed.spki))).toBe(true);
    expect(verifyCertificateSignature(c, readPublicKeyInfo(c.spki))).toBe(false);
  });

  it('puts the agency name in O and CN and the credit code in organizationIdentifier (seal)', () => {
    const c = pki.seal.parsed;
    expect(c.subject.fields).toEqual({
      c: 'CN',
      o: '杭州市测试局',
      organizationIdentifier: `NTRCN-${TEST_CREDIT_CODE}`,
      cn: '杭州市测试局',
    });
    expect(c.subject.text).toBe(`CN=杭州市测试局,organizationIdentifier=NTRCN-${TEST_CREDIT_CODE},O=杭州市测试局,C=CN`);
    expect(creditCodeFromOrganizationIdentifier(c.subject.fields.organizationIdentifier)).toBe(TEST_CREDIT_CODE);
    // C is a PrintableString (X.520), names UTF8String.
    const der = c.subject.der.toString('hex');
    expect(der).toContain('1302434e');
    expect(der).toContain(`0c12${Buffer.from('杭州市测试局').toString('hex')}`);
  });

  it('writes the seal profile: critical KU digitalSignature + nonRepudiation, CA:false, no EKU, CRL DP and AIA', () => {
    const c = pki.seal.parsed;
    expect(c.keyUsage).toEqual({ usages: ['digitalSignature', 'nonRepudiation'], critical: true });
    expect(c.basicConstraints).toEqual({ ca: false, pathLen: undefined, critical: true });
    expect(c.extKeyUsage).toBeUndefined();
    expect(c.crlDistributionPoints).toEqual([TEST_URLS.crl]);
    expect(c.ocspUrls).toEqual([TEST_URLS.ocsp]);
    expect(c.caIssuersUrls).toEqual([TEST_URLS.caIssuers]);
    expect(c.subjectKeyIdentifier).toEqual(computeKeyIdentifier(c.publicKeyBits));
    expect(c.authorityKeyIdentifier).toEqual(pki.issuing.parsed.subjectKeyIdentifier);
  });

  it('writes the timestamping profile: exactly one critical EKU id-kp-timeStamping', () => {
    expect(pki.tsa.parsed.extKeyUsage).toEqual({ purposes: [PKI_OID.kpTimeStamping], critical: true });
    expect(pki.tsa.parsed.keyUsage?.usages).toEqual(['digitalSignature']);
  });

  it('writes the ocsp-signing profile: EKU id-kp-OCSPSigning and id-pkix-ocsp-nocheck, no OCSP URL', () => {
    const c = pki.ocsp.parsed;
    expect(c.extKeyUsage?.purposes).toEqual([PKI_OID.kpOCSPSigning]);
    expect(c.ocspNoCheck).toBe(true);
    expect(c.extensions.find((e) => e.oid === PKI_OID.ocspNoCheck)).toEqual({ oid: PKI_OID.ocspNoCheck, critical: false, value: Buffer.from([5, 0]) });
    expect(c.ocspUrls).toEqual([]);
    expect(c.notAfter.getTime() - c.notBefore.getTime()).toBe(PROFILES['ocsp-signing'].defaultValidityDays * DAY);
  });

  it('issues a log-signing certificate with digitalSignature only and no EKU', async () => {
    const log = await pki.issue('log-signing', { cn: 'eseal log', o: 'eseal test' }, 'log');
    expect(log.parsed.keyUsage?.usages).toEqual(['digitalSignature']);
    expect(log.parsed.extKeyUsage).toBeUndefined();
  });

  it('makes the serial a positive INTEGER (00 prefix when the top bit is set)', async () => {
    const serial = Buffer.from('ff'.repeat(16), 'hex');
    const der = await issueCertificate({
      profile: 'log-signing',
      subject: { cn: 'x', o: 'y' },
      subjectPublicKey: testSigner('ES256', 'serial-test').publicKey,
      issuer: { certificate: pki.issuing.der, signer: pki.issuing.signer },
      serial,
      notBefore: FIXED_NOW,
    });
    expect(parseCertificate(der).serialHex).toBe(`00${'ff'.repeat(16)}`);
  });

  it('truncates times to whole seconds and defaults notAfter from the profile', async () => {
    const der = await issueCertificate({
      profile: 'seal',
      subject: { cn: 'a', o: 'a', organizationIdentifier: creditCodeOrganizationIdentifier(TEST_CREDIT_CODE) },
      subjectPublicKey: testSigner('ES256', 'time-test').publicKey,
      issuer: { certificate: pki.issuing.der, signer: pki.issuing.signer },
      serial: testSerial('time-test'),
      notBefore: new Date(FIXED_NOW.getTime() + 999),
    });
    const c = parseCertificate(der);
    expect(c.notBefore).toEqual(FIXED_NOW);
    expect(c.notAfter.getTime()).toBe(FIXED_NOW.getTime() + PROFILES.seal.defaultValidityDays * DAY);
  });

  describe('refuses what the profile or RFC 5280 forbid', () => {
    const base = () => ({
      profile: 'seal' as const,
      subject: { cn: 'Agency', o: 'Agency', organizationIdentifier: creditCodeOrganizationIdentifier(TEST_CREDIT_CODE) },
      subjectPublicKey: testSigner('ES256', 'refusals').publicKey,
      issuer: { certificate: pki.issuing.der, signer: pki.issuing.signer },
      serial: testSerial('refusals'),
      notBefore: FIXED_NOW,
    });

    async function code(p: Promise<unknown>): Promise<string> {
      try {
        await p;
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        return (e as AppError).code;
      }
      throw new Error('expected a rejection');
    }

    type Override = (p: TestPki) => Promise<Record<string, unknown>> | Record<string, unknown>;
    const refusals: [string, Override, string][] = [
      ['a seal without organizationIdentifier', () => ({ subject: { cn: 'A', o: 'A' } }), 'PKI_PROFILE_VIOLATION'],
      ['validity beyond the profile maximum', () => ({ notAfter: new Date(FIXED_NOW.getTime() + 6 * 365 * DAY) }), 'PKI_PROFILE_VIOLATION'],
      ['notAfter before notBefore', () => ({ notAfter: new Date(FIXED_NOW.getTime() - DAY) }), 'PKI_INVALID_INPUT'],
      ['an invalid date', () => ({ notBefore: new Date('nope') }), 'PKI_INVALID_INPUT'],
      ['a serial of 4 bytes', () => ({ serial: Buffer.from('01020304', 'hex') }), 'PKI_INVALID_INPUT'],
      ['an all-zero serial', () => ({ serial: Buffer.alloc(16) }), 'PKI_INVALID_INPUT'],
      ['a country that is not alpha-2', () => ({ subject: { cn: 'A', o: 'A', organizationIdentifier: 'x', c: 'CHN' } }), 'PKI_INVALID_INPUT'],
      ['a name with control characters', () => ({ subject: { cn: 'A\u0000B', o: 'A', organizationIdentifier: 'x' } }), 'PKI_INVALID_INPUT'],
      ['a CN longer than 64 characters', () => ({ subject: { cn: 'x'.repeat(65), o: 'A', organizationIdentifier: 'x' } }), 'PKI_INVALID_INPUT'],
      ['a non-http URL', () => ({ urls: { crl: 'ldap://example/crl' } }), 'PKI_INVALID_INPUT'],
      ['a relative URL', () => ({ urls: { ocsp: '/ocsp' } }), 'PKI_INVALID_INPUT'],
      ['garbage as the subject key', () => ({ subjectPublicKey: Buffer.from('3000', 'hex') }), 'PKI_INVALID_INPUT'],
      ['a self-signed seal', () => ({ issuer: { selfSigned: true, signer: testSigner('ES256', 'refusals') } }), 'PKI_PROFILE_VIOLATION'],
      ['a signer that is not the issuer key', (p) => ({ issuer: { certificate: p.issuing.der, signer: testSigner('ES256', 'other') } }), 'PKI_SIGNER_MISMATCH'],
      ['an end-entity certificate as issuer', (p) => ({ issuer: { certificate: p.seal.der, signer: p.seal.signer } }), 'PKI_PROFILE_VIOLATION'],
      [
        'validity beyond the issuer',
        async (p) => {
          // An issuing CA that ends in one year: a two-year seal under it outlives its issuer.
          const shortCa = await issueCertificate({
            profile: 'issuing-ca',
            subject: { cn: 'Short CA', o: 'eseal test', c: 'CN' },
            subjectPublicKey: testSigner('ES256', 'short-ca').publicKey,
            issuer: { certificate: p.root.der, signer: p.root.signer },
            serial: testSerial('short-ca'),
            notBefore: FIXED_NOW,
            notAfter: new Date(FIXED_NOW.getTime() + 365 * DAY),
          });
          return { issuer: { certificate: shortCa, signer: testSigner('ES256', 'short-ca') } };
        },
        'PKI_PROFILE_VIOLATION',
      ],
    ];

    it.each(refusals)('refuses %s', async (_name, override, expected) => {
      const input = { ...base(), ...(await override(pki)) } as Parameters<typeof issueCertificate>[0];
      expect(await code(issueCertificate(input))).toBe(expected);
    });

    it('refuses a CA under an issuing CA whose pathLen is 0', async () => {
      expect(
        await code(
          issueCertificate({
            ...base(),
            profile: 'issuing-ca',
            subject: { cn: 'Sub', o: 'x', c: 'CN' },
            issuer: { certificate: pki.issuing.der, signer: pki.issuing.signer },
          }),
        ),
      ).toBe('PKI_PROFILE_VIOLATION');
    });

    it('refuses URLs the profile does not carry (OCSP URL on an ocsp-signing certificate)', async () => {
      expect(await code(issueCertificate({ ...base(), profile: 'ocsp-signing', subject: { cn: 'o', o: 'o' }, urls: { ocsp: TEST_URLS.ocsp } }))).toBe(
        'PKI_PROFILE_VIOLATION',
      );
    });

    it('refuses a key the profile does not allow (RSA under an EC-only profile)', async () => {
      const ecOnly: CertificateProfile = { ...PROFILES.seal, algorithms: ['ES256'] };
      expect(await code(issueCertificate({ ...base(), profile: ecOnly, subjectPublicKey: testSigner('RS256', 'rsa-subject').publicKey }))).toBe(
        'PKI_PROFILE_VIOLATION',
      );
    });

    it('refuses a Signer whose signature does not verify (a broken HSM key)', async () => {
      const s = pki.issuing.signer;
      const broken = { ...s, sign: async (d: Buffer) => Buffer.from(await s.sign(Buffer.concat([d, Buffer.from([1])]))) };
      expect(await code(issueCertificate({ ...base(), issuer: { certificate: pki.issuing.der, signer: broken } }))).toBe('PKI_SIGNER_MISMATCH');
    });

    it('validates the credit code format for organizationIdentifier', () => {
      expect(() => creditCodeOrganizationIdentifier('11330105002500287I')).toThrow(ValidationError);
      expect(creditCodeOrganizationIdentifier(TEST_CREDIT_CODE)).toBe(`NTRCN-${TEST_CREDIT_CODE}`);
      expect(creditCodeFromOrganizationIdentifier('VATDE-123')).toBeUndefined();
    });
  });
});

describe('parseCertificate', () => {
  it('keeps the original DER and reads every field callers need', () => {
    const c = parseCertificate(pki.seal.der);
    expect(c.der).toEqual(pki.seal.der);
    expect(c.serialHex).toMatch(/^[0-9a-f]+$/);
    expect(c.issuer.text).toBe('CN=eseal Test Issuing CA ES256,O=eseal test,C=CN');
    expect(c.notBefore).toEqual(new Date(FIXED_NOW.getTime() - 3600_000));
    expect(pki.seal.der.includes(c.tbsDer)).toBe(true);
    expect(c.spki).toEqual(pki.seal.signer.publicKey);
    expect(c.extensions.map((e) => e.oid)).toEqual([
      PKI_OID.basicConstraints,
      PKI_OID.keyUsage,
      PKI_OID.subjectKeyIdentifier,
      PKI_OID.authorityKeyIdentifier,
      PKI_OID.cRLDistributionPoints,
      PKI_OID.authorityInfoAccess,
    ]);
  });

  it.each(malformedVariants(Buffer.alloc(0)).map((v) => v.name))('rejects %s', (name) => {
    const v = malformedVariants(pki.seal.der).find((x) => x.name === name)!;
    expectParseError(() => parseCertificate(v.bytes), 'CERT_MALFORMED');
  });

  it('rejects a certificate whose inner and outer signature algorithms differ', () => {
    // Swap ecdsa-with-SHA256 for ecdsa-with-SHA384 in the outer AlgorithmIdentifier only.
    const der = Buffer.from(pki.seal.der);
    const outer = der.lastIndexOf(Buffer.from('06082a8648ce3d040302', 'hex'));
    der[outer + 9] = 0x03;
    expectParseError(() => parseCertificate(der), 'CERT_MALFORMED');
  });

  it('refuses duplicate extensions and an explicit critical FALSE (RFC 5280 §4.2, DER)', () => {
    const ext = Buffer.from('300906035504030402aabb'.replace('0603550403', '0603551d0e'), 'hex'); // SKI, 2 octets
    const extensions = (...items: Buffer[]) => decodeDer(Buffer.concat([Buffer.from([0x30, items.reduce((n, b) => n + b.length, 0)]), ...items]));
    expect(readExtensions(extensions(ext), 'extensions')).toHaveLength(1);
    expect(() => readExtensions(extensions(ext, ext), 'extensions')).toThrow(/duplicate/);
    const explicitFalse = Buffer.from('300c0603551d0e0101000402aabb', 'hex');
    expect(() => readExtensions(extensions(explicitFalse), 'extensions')).toThrow(/critical FALSE/);
    expect(() => readExtensions(extensions(), 'extensions')).toThrow(/empty/);
  });

  it('yields only ParseError on random and mutated input (property)', () => {
    assertOnlyParseErrors(parseCertificate, 'CERT_MALFORMED', pki.seal.der);
  });
});

describe('PEM', () => {
  it('round-trips and wraps at 64 columns', () => {
    const pem = toPem(pki.root.der);
    expect(pem.split('\n').every((l) => l.length <= 64)).toBe(true);
    expect(fromPem(pem)).toEqual(pki.root.der);
    expect(fromPemAll(pki.chainPem)).toEqual([pki.issuing.der, pki.root.der]);
    expect(fromPem(`junk before\n${toPem(pki.root.der, 'X509 CRL')}${pem}`)).toEqual(pki.root.der);
  });

  it.each([
    ['no block', 'hello'],
    ['two blocks', toPem(Buffer.from([1])) + toPem(Buffer.from([2]))],
    ['mismatched labels', '-----BEGIN CERTIFICATE-----\nAQ==\n-----END X509 CRL-----\n'],
    ['invalid base64', '-----BEGIN CERTIFICATE-----\nA$==\n-----END CERTIFICATE-----\n'],
    ['headers', '-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nAQ==\n-----END CERTIFICATE-----\n'],
  ])('rejects %s', (_n, text) => {
    expect(() => fromPem(text)).toThrow(ParseError);
  });
});

describe('names', () => {
  it('renders RFC 4514 text with escaping, and unknown non-string attributes in hex form', () => {
    const tlv = (tag: number, ...parts: Buffer[]) => {
      const c = Buffer.concat(parts);
      return Buffer.concat([Buffer.from([tag, c.length]), c]);
    };
    const atv = (oid: Buffer, value: Buffer) => tlv(0x31, tlv(0x30, oid, value));
    const der = tlv(
      0x30,
      atv(Buffer.from('0603550406', 'hex'), tlv(0x13, Buffer.from('CN'))),
      atv(Buffer.from('06032a0304', 'hex'), Buffer.from('020105', 'hex')),
      atv(Buffer.from('0603550403', 'hex'), tlv(0x0c, Buffer.from(' a,b+c '))),
    );
    const name = readName(decodeDer(der), 'name');
    expect(name.text).toBe('CN=\\ a\\,b\\+c\\ ,1.2.3.4=#020105,C=CN');
    expect(name.fields).toEqual({ c: 'CN', cn: ' a,b+c ' });
    expect(name.attributes[1]).toEqual({ oid: '1.2.3.4', type: '1.2.3.4', value: '#020105' });
  });
});
