import { createHash } from 'node:crypto';
import { AppError } from '../../../src/errors';
import {
  PKI_OID,
  buildTimeStampRejection,
  buildTimeStampReq,
  buildTimeStampResp,
  checkTimeStampReq,
  checkTsaCertificate,
  parseTimeStampReq,
  parseTimeStampResp,
  parseTimeStampToken,
  verifyTimeStampToken,
  type BuildTimeStampRespInput,
  type ParsedTimeStampReq,
  type TsaPolicy,
} from '../../../src/pki';
import { decodeDer, encodeOid } from '../../../src/pki/der';
import { createTestPki, FIXED_NOW, type TestPki } from '../../helpers/test-pki';
import { assertOnlyParseErrors, expectParseError, malformedVariants } from './malformed-inputs';

const POLICY: TsaPolicy = { defaultPolicy: '2.999.3161.1', acceptedPolicies: ['2.999.3161.2'] };
const DATA = Buffer.from('the signature value being time-stamped');
const DIGEST = createHash('sha256').update(DATA).digest();
const NONCE = 0x1122334455667788n;
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const c = Buffer.concat(parts);
  const len = c.length < 0x80 ? [c.length] : [0x81, c.length];
  return Buffer.concat([Buffer.from([tag, ...len]), c]);
}
/** A TimeStampReq from parts, so each test can break exactly one thing. */
function rawReq(o: { version?: number; hashParams?: Buffer; digest?: Buffer; hashOid?: string; tail?: Buffer[] } = {}): Buffer {
  const alg = tlv(0x30, encodeOid(o.hashOid ?? SHA256_OID), ...(o.hashParams ? [o.hashParams] : []));
  return tlv(0x30, Buffer.from([0x02, 0x01, o.version ?? 1]), tlv(0x30, alg, tlv(0x04, o.digest ?? DIGEST)), ...(o.tail ?? []));
}

let pki: TestPki;
const genTime = new Date(FIXED_NOW.getTime() + 345);

function input(request: ParsedTimeStampReq, over: Partial<BuildTimeStampRespInput> = {}): BuildTimeStampRespInput {
  return {
    request,
    tsaCertificate: pki.tsa.der,
    chain: [pki.issuing.der],
    signer: pki.tsa.signer,
    serial: 7n,
    genTime,
    policy: POLICY,
    ...over,
  };
}

beforeAll(async () => {
  pki = await createTestPki();
});

describe('parseTimeStampReq', () => {
  it('reads what buildTimeStampReq writes', () => {
    const der = buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST, nonce: NONCE, certReq: true, policy: '2.999.3161.2' });
    const r = parseTimeStampReq(der);
    expect(r.der).toEqual(der);
    expect(r.messageImprint.hashName).toBe('sha256');
    expect(r.messageImprint.hashedMessage).toEqual(DIGEST);
    expect(r.reqPolicy).toBe('2.999.3161.2');
    expect(r.nonce).toEqual(Buffer.from('1122334455667788', 'hex'));
    expect(r.certReq).toBe(true);
    expect(r.extensions).toEqual([]);
  });

  it.each<[string, Buffer, RegExp]>([
    ['version 2', rawReq({ version: 2 }), /unsupported version/],
    ['certReq FALSE written out (not DER)', rawReq({ tail: [Buffer.from('010100', 'hex')] }), /certReq FALSE/],
    ['a 65-octet nonce', rawReq({ tail: [tlv(0x02, Buffer.concat([Buffer.from([0x01]), Buffer.alloc(64)]))] }), /nonce longer/],
    ['fields out of order (certReq before nonce)', rawReq({ tail: [Buffer.from('0101ff', 'hex'), Buffer.from('020105', 'hex')] }), /unexpected element/],
    ['an empty hashedMessage', rawReq({ digest: Buffer.alloc(0) }), /hashedMessage/],
    ['an empty extensions list', rawReq({ tail: [Buffer.from('a000', 'hex')] }), /empty/],
  ])('refuses %s', (_n, der, message) => {
    expect(expectParseError(() => parseTimeStampReq(der), 'TSP_MALFORMED_REQUEST').message).toMatch(message);
  });

  it.each(malformedVariants(Buffer.alloc(0)).map((v) => v.name))('refuses %s', (name) => {
    const valid = buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST, nonce: NONCE, certReq: true });
    expectParseError(() => parseTimeStampReq(malformedVariants(valid).find((v) => v.name === name)!.bytes), 'TSP_MALFORMED_REQUEST');
  });

  it('yields only ParseError on random and mutated input (property)', () => {
    const valid = buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST, nonce: NONCE, certReq: true, policy: '2.999.3161.2' });
    assertOnlyParseErrors((b) => parseTimeStampReq(b), 'TSP_MALFORMED_REQUEST', valid, 1000);
  });
});

describe('checkTimeStampReq', () => {
  it.each<[string, Buffer, string | null]>([
    ['SHA-256 with absent parameters → accepted', rawReq(), null],
    ['SHA-256 with NULL parameters → accepted', rawReq({ hashParams: Buffer.from('0500', 'hex') }), null],
    ['SHA-1 → badAlg', rawReq({ hashOid: '1.3.14.3.2.26', digest: Buffer.alloc(20) }), 'badAlg'],
    ['an unknown hash algorithm → badAlg', rawReq({ hashOid: '1.2.3.4' }), 'badAlg'],
    ['hash parameters other than NULL → badAlg', rawReq({ hashParams: Buffer.from('020100', 'hex') }), 'badAlg'],
    ['a 31-byte SHA-256 digest → badDataFormat', rawReq({ digest: Buffer.alloc(31) }), 'badDataFormat'],
    ['an unaccepted policy → unacceptedPolicy', rawReq({ tail: [encodeOid('2.999.1')] }), 'unacceptedPolicy'],
    ['any extension → unacceptedExtension', rawReq({ tail: [tlv(0xa0, tlv(0x30, encodeOid('1.2.3'), tlv(0x04, Buffer.from('0500', 'hex'))))] }), 'unacceptedExtension'],
  ])('%s', (_n, der, failInfo) => {
    const check = checkTimeStampReq(parseTimeStampReq(der), POLICY);
    if (failInfo === null) expect(check).toEqual({ ok: true, policy: POLICY.defaultPolicy });
    else expect(check).toMatchObject({ ok: false, failInfo });
  });

  it('honours a requested policy from the accepted set', () => {
    expect(checkTimeStampReq(parseTimeStampReq(rawReq({ tail: [encodeOid('2.999.3161.2')] })), POLICY)).toEqual({ ok: true, policy: '2.999.3161.2' });
  });
});

describe('buildTimeStampResp', () => {
  it.each(['ES256', 'RS256', 'PS256'] as const)('grants a token that verifies (%s)', async (algorithm) => {
    const p = algorithm === 'ES256' ? pki : await createTestPki({ algorithm });
    const req = parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST, nonce: NONCE, certReq: true }));
    const res = await buildTimeStampResp({ ...input(req), tsaCertificate: p.tsa.der, chain: [p.issuing.der], signer: p.tsa.signer });
    expect(res.granted).toBe(true);
    const v = verifyTimeStampToken({ token: res.token!, data: DATA, nonce: NONCE, acceptedPolicies: [POLICY.defaultPolicy] });
    expect(v.signerCertificate.der).toEqual(p.tsa.der);
  });

  it('echoes the imprint and nonce bytes exactly and fills TSTInfo', async () => {
    // NULL hash parameters and a nonce with a sign octet must come back byte for byte.
    const der = rawReq({ hashParams: Buffer.from('0500', 'hex'), tail: [tlv(0x02, Buffer.from('00ff00', 'hex')), Buffer.from('0101ff', 'hex')] });
    const req = parseTimeStampReq(der);
    const res = await buildTimeStampResp(input(req, { accuracy: { seconds: 1, millis: 500 }, serial: Buffer.from('8000', 'hex') }));
    const resp = parseTimeStampResp(res.der);
    expect(resp).toMatchObject({ status: 'granted', statusText: [], failInfo: [] });
    expect(resp.token).toEqual(res.token);
    const t = parseTimeStampToken(res.token!).tstInfo;
    expect(t.messageImprint.der).toEqual(req.messageImprint.der);
    expect(t.nonce).toEqual(Buffer.from('00ff00', 'hex'));
    expect(t.policy).toBe(POLICY.defaultPolicy);
    expect(t.serialHex).toBe('008000');
    expect(t.genTime).toEqual(genTime);
    expect(t.accuracy).toEqual({ seconds: 1, millis: 500, micros: 0 });
    expect(t.ordering).toBe(false);
    expect(t.tsa).toBeUndefined();
    // genTime keeps milliseconds, DER-style (no trailing zeros): ...080000.345Z
    expect(t.der.includes(Buffer.from('20250601080000.345Z'))).toBe(true);
  });

  it('includes the TSA certificate and chain only when certReq is set', async () => {
    const withCert = await buildTimeStampResp(input(parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST, certReq: true }))));
    expect(parseTimeStampToken(withCert.token!).certificates.map((c) => c.der)).toEqual([pki.tsa.der, pki.issuing.der]);
    const without = await buildTimeStampResp(input(parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST }))));
    expect(parseTimeStampToken(without.token!).certificates).toEqual([]);
    expect(() => verifyTimeStampToken({ token: without.token! })).toThrow(expect.objectContaining({ code: 'TSP_TOKEN_NOT_ACCEPTED' }));
    expect(verifyTimeStampToken({ token: without.token!, certificates: [pki.tsa.der] }).signerCertificate.der).toEqual(pki.tsa.der);
  });

  it('signs contentType, messageDigest and signing-certificate-v2 (no hashAlgorithm for SHA-256), sorted as DER', async () => {
    const res = await buildTimeStampResp(input(parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST })), { includeSigningTime: true }));
    const si = parseTimeStampToken(res.token!).signerInfo;
    expect(si.version).toBe(1);
    expect(si.sid).toEqual({ issuer: pki.tsa.parsed.issuer.der, serialHex: pki.tsa.parsed.serialHex });
    expect(si.signedAttrs.map((a) => a.oid).sort()).toEqual(
      [PKI_OID.contentType, PKI_OID.messageDigest, PKI_OID.signingTime, PKI_OID.signingCertificateV2].sort(),
    );
    const ders = decodeDer(si.signedAttrsDer).children.map((c) => c.der.toString('hex'));
    expect([...ders].sort()).toEqual(ders);
    const ess = si.signedAttrs.find((a) => a.oid === PKI_OID.signingCertificateV2)!.values[0]!;
    const essCertId = decodeDer(ess).children[0]!.children[0]!;
    expect(essCertId.children[0]!.tagNumber).toBe(4); // certHash first: hashAlgorithm omitted
    expect(essCertId.children[0]!.content).toEqual(createHash('sha256').update(pki.tsa.der).digest());
  });

  it('answers failed checks with a rejection instead of a token', async () => {
    const res = await buildTimeStampResp(input(parseTimeStampReq(rawReq({ tail: [encodeOid('2.999.1')] }))));
    expect(res).toMatchObject({ granted: false, failInfo: 'unacceptedPolicy' });
    expect(parseTimeStampResp(res.der)).toMatchObject({ status: 'rejection', failInfo: ['unacceptedPolicy'], token: undefined });
  });

  it.each<[string, Partial<BuildTimeStampRespInput>, string]>([
    ['a certificate without the time-stamping EKU', { tsaCertificate: undefined }, 'PKI_PROFILE_VIOLATION'],
    ['a signer that is not the TSA key', { signer: undefined }, 'PKI_SIGNER_MISMATCH'],
    ['a genTime outside the certificate', { genTime: new Date(FIXED_NOW.getTime() - 86400_000 * 2) }, 'PKI_PROFILE_VIOLATION'],
    ['serial 0', { serial: 0n }, 'PKI_INVALID_INPUT'],
    ['a serial over 160 bits', { serial: 1n << 160n }, 'PKI_INVALID_INPUT'],
    ['millis of 1000', { accuracy: { millis: 1000 } }, 'PKI_INVALID_INPUT'],
  ])('refuses %s', async (name, over, code) => {
    const req = parseTimeStampReq(rawReq());
    const o = { ...over };
    if (name.startsWith('a certificate without')) Object.assign(o, { tsaCertificate: pki.seal.der, signer: pki.seal.signer });
    if (name.startsWith('a signer that')) Object.assign(o, { signer: pki.seal.signer });
    await expect(buildTimeStampResp(input(req, o))).rejects.toMatchObject({ code });
  });
});

describe('buildTimeStampRejection', () => {
  // Regression: asn1-tsp's PKIFailureInfoFlags number every bit after badAlg one too low, so a
  // response built with them says "badAlg|..." where it means unacceptedPolicy. The bits here
  // are RFC 3161 §2.4.2's; the DER is checked byte for byte.
  it.each([
    ['badAlg', '03020780'],
    ['badRequest', '03020520'],
    ['badDataFormat', '03020204'],
    ['timeNotAvailable', '0303010002'],
    ['unacceptedPolicy', '0303000001'],
    ['unacceptedExtension', '030407000080'],
    ['addInfoNotAvailable', '030406000040'],
    ['systemFailure', '03050600000040'],
  ] as const)('encodes %s as named bit %#', (name, bits) => {
    const der = buildTimeStampRejection(name, 'why');
    expect(der.toString('hex')).toContain(bits);
    expect(parseTimeStampResp(der)).toEqual({ der, status: 'rejection', statusText: ['why'], failInfo: [name], token: undefined });
  });
});

describe('verifyTimeStampToken', () => {
  let token: Buffer;
  beforeAll(async () => {
    const req = parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST, nonce: NONCE, certReq: true }));
    token = (await buildTimeStampResp(input(req))).token!;
  });

  const codeOf = (fn: () => unknown): { code: string; check?: unknown } => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      return { code: (e as AppError).code, check: (e as AppError).details?.check };
    }
    throw new Error('expected a failure');
  };

  function flip(buf: Buffer, view: Buffer, at: number): Buffer {
    const copy = Buffer.from(buf);
    const offset = view.byteOffset - buf.byteOffset + at;
    copy[offset] = copy[offset]! ^ 0x01;
    return copy;
  }

  it('accepts the token with the right data, imprint and nonce', () => {
    const v = verifyTimeStampToken({ token, data: DATA, imprint: { hashAlgorithm: 'sha256', digest: DIGEST }, nonce: NONCE });
    expect(v.tstInfo.genTime).toEqual(genTime);
    expect(verifyTimeStampToken({ token, nonce: Buffer.from('1122334455667788', 'hex') })).toBeDefined();
  });

  it.each<[string, () => Parameters<typeof verifyTimeStampToken>[0], string, string]>([
    ['other data', () => ({ token, data: Buffer.from('x') }), 'TSP_TOKEN_INVALID', 'message-imprint'],
    ['another imprint algorithm', () => ({ token, imprint: { hashAlgorithm: 'sha512', digest: DIGEST } }), 'TSP_TOKEN_INVALID', 'message-imprint'],
    ['another nonce', () => ({ token, nonce: NONCE + 1n }), 'TSP_TOKEN_INVALID', 'nonce'],
    ['an unaccepted policy', () => ({ token, acceptedPolicies: ['2.999.9'] }), 'TSP_TOKEN_NOT_ACCEPTED', 'policy'],
    ['a disallowed algorithm', () => ({ token, allowedAlgorithms: ['RS256'] }), 'TSP_TOKEN_NOT_ACCEPTED', 'signature-algorithm'],
    [
      'a tampered signature',
      () => {
        const t = parseTimeStampToken(token);
        return { token: flip(token, t.signerInfo.signature, t.signerInfo.signature.length - 1) };
      },
      'TSP_TOKEN_INVALID',
      'signature',
    ],
    [
      'a tampered TSTInfo',
      () => {
        const t = parseTimeStampToken(token);
        return { token: flip(token, t.tstInfo.messageImprint.hashedMessage, 0) };
      },
      'TSP_TOKEN_INVALID',
      'message-digest',
    ],
  ])('rejects %s', (_n, make, code, check) => {
    expect(codeOf(() => verifyTimeStampToken(make()))).toEqual({ code, check });
  });

  it('rejects a certificate that is not the one signing-certificate-v2 names', async () => {
    // Same issuer, serial and key as the TSA certificate, different contents: the signature
    // verifies, ESSCertIDv2's hash does not.
    const twin = await pki.issue('timestamping', { cn: 'twin', o: 'eseal test' }, 'tsa', { signer: pki.tsa.signer });
    expect(twin.parsed.serialHex).toBe(pki.tsa.parsed.serialHex);
    const req = parseTimeStampReq(buildTimeStampReq({ hashAlg: 'sha256', digest: DIGEST }));
    const bare = (await buildTimeStampResp(input(req))).token!;
    expect(codeOf(() => verifyTimeStampToken({ token: bare, certificates: [twin.der] }))).toEqual({
      code: 'TSP_TOKEN_INVALID',
      check: 'signing-certificate-hash',
    });
  });

  it('applies the TSA certificate rules (RFC 3161 §2.3)', () => {
    expect(codeOf(() => checkTsaCertificate(pki.seal.parsed, genTime))).toEqual({ code: 'TSP_TOKEN_NOT_ACCEPTED', check: 'tsa-extended-key-usage' });
    expect(codeOf(() => checkTsaCertificate(pki.ocsp.parsed, genTime))).toEqual({ code: 'TSP_TOKEN_NOT_ACCEPTED', check: 'tsa-extended-key-usage' });
    expect(codeOf(() => checkTsaCertificate(pki.tsa.parsed, new Date(pki.tsa.parsed.notAfter.getTime() + 1000)))).toEqual({
      code: 'TSP_TOKEN_NOT_ACCEPTED',
      check: 'tsa-certificate-validity',
    });
    expect(() => checkTsaCertificate(pki.tsa.parsed, genTime)).not.toThrow();
  });

  it('parses tokens and responses strictly; random and mutated input only yields ParseError (property)', () => {
    for (const v of malformedVariants(token)) expectParseError(() => parseTimeStampToken(v.bytes), 'TSP_MALFORMED_TOKEN');
    assertOnlyParseErrors(parseTimeStampToken, 'TSP_MALFORMED_TOKEN', token);
  });

  it('refuses responses whose status and token disagree', async () => {
    const granted = (await buildTimeStampResp(input(parseTimeStampReq(rawReq())))).der;
    for (const v of malformedVariants(granted)) expectParseError(() => parseTimeStampResp(v.bytes), 'TSP_MALFORMED_RESPONSE');
    assertOnlyParseErrors(parseTimeStampResp, 'TSP_MALFORMED_RESPONSE', granted);
    const grantedNoToken = Buffer.from('3005300302010' + '0', 'hex');
    expectParseError(() => parseTimeStampResp(grantedNoToken), 'TSP_MALFORMED_RESPONSE');
    const rejectionWithToken = Buffer.concat([Buffer.from([0x30, 0x82, (token.length + 5) >> 8, (token.length + 5) & 0xff]), Buffer.from('3003020102', 'hex'), token]);
    expectParseError(() => parseTimeStampResp(rejectionWithToken), 'TSP_MALFORMED_RESPONSE');
  });
});
