import { createHash } from 'node:crypto';
import {
  PKI_OID,
  buildCertId,
  buildOcspError,
  buildOcspRequest,
  buildOcspResponse,
  matchCertId,
  parseOcspRequest,
  parseOcspResponse,
  verifyOcspResponseSignature,
  type BuildOcspResponseInput,
  type ParsedOcspRequest,
} from '../../../src/pki';
import { encodeOid } from '../../../src/pki/der';
import { createTestPki, FIXED_NOW, testSigner, type TestPki } from '../../helpers/test-pki';
import { assertOnlyParseErrors, expectParseError, malformedVariants } from './malformed-inputs';

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const c = Buffer.concat(parts);
  const len = c.length < 0x80 ? [c.length] : c.length < 0x100 ? [0x81, c.length] : [0x82, c.length >> 8, c.length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), c]);
}
const ext = (oid: string, value: Buffer, critical = false) =>
  tlv(0x30, encodeOid(oid), ...(critical ? [Buffer.from('0101ff', 'hex')] : []), tlv(0x04, value));
const NONCE = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

let pki: TestPki;
let certId: Buffer;
let validRequest: Buffer;
const HOUR = 3600_000;

/** OCSPRequest from parts, so each test can break exactly one thing. */
function request(o: { version?: Buffer; requests?: Buffer[]; exts?: Buffer[]; requestor?: Buffer; signature?: Buffer } = {}): Buffer {
  const list = tlv(0x30, ...(o.requests ?? [tlv(0x30, certId)]));
  const exts = o.exts === undefined ? [ext(PKI_OID.ocspNonce, tlv(0x04, NONCE))] : o.exts;
  const tbs = tlv(
    0x30,
    ...(o.version ? [tlv(0xa0, o.version)] : []),
    ...(o.requestor ? [tlv(0xa1, o.requestor)] : []),
    list,
    ...(exts.length ? [tlv(0xa2, tlv(0x30, ...exts))] : []),
  );
  return tlv(0x30, tbs, ...(o.signature ? [tlv(0xa0, o.signature)] : []));
}

beforeAll(async () => {
  pki = await createTestPki();
  certId = buildCertId(pki.seal.der, pki.issuing.der, 'sha1');
  validRequest = request();
});

describe('parseOcspRequest', () => {
  it('reads CertIDs and the nonce, keeping the CertID bytes', () => {
    expect(buildOcspRequest({ certIds: [certId], nonce: NONCE })).toEqual(validRequest);
    const r = parseOcspRequest(validRequest);
    expect(r.der).toEqual(validRequest);
    expect(r.certIds).toHaveLength(1);
    const id = r.certIds[0]!;
    expect(id.der).toEqual(certId);
    expect(id.hashAlgorithm).toBe('sha1');
    expect(id.serialHex).toBe(pki.seal.parsed.serialHex);
    expect(id.issuerNameHash).toEqual(createHash('sha1').update(pki.issuing.parsed.subject.der).digest());
    expect(id.issuerKeyHash).toEqual(createHash('sha1').update(pki.issuing.parsed.publicKeyBits).digest());
    expect(r.nonce).toEqual(NONCE);
    expect(r.signature).toBeUndefined();
  });

  it('accepts SHA-256 CertIDs, several requests, no nonce, a requestorName and a signature', () => {
    const id256 = buildCertId(pki.tsa.der, pki.issuing.der, 'sha256');
    const requestor = tlv(0x82, Buffer.from('client.example')); // dNSName
    const signature = tlv(0x30, tlv(0x30, encodeOid('1.2.840.10045.4.3.2')), tlv(0x03, Buffer.from([0, 1, 2])));
    const r = parseOcspRequest(request({ requests: [tlv(0x30, certId), tlv(0x30, id256)], exts: [], requestor, signature }));
    expect(r.certIds.map((c) => c.hashAlgorithm)).toEqual(['sha1', 'sha256']);
    expect(r.nonce).toBeUndefined();
    expect(r.requestorName).toEqual(requestor);
    expect(r.signature?.algorithm.oid).toBe('1.2.840.10045.4.3.2');
  });

  it('ignores unknown non-critical extensions and reports unknown hash algorithms as null', () => {
    const unknownHash = tlv(0x30, tlv(0x30, encodeOid('1.2.3.4')), tlv(0x04, Buffer.alloc(5)), tlv(0x04, Buffer.alloc(5)), Buffer.from('020101', 'hex'));
    const r = parseOcspRequest(request({ requests: [tlv(0x30, unknownHash)], exts: [ext('1.2.3.4.5', Buffer.from('0500', 'hex'))] }));
    expect(r.certIds[0]!.hashAlgorithm).toBeNull();
    expect(matchCertId(r.certIds[0]!, pki.issuing.der)).toBe(false);
  });

  const refusals: [string, () => Buffer, (() => { maxRequests?: number; maxBytes?: number })?][] = [
    ['an explicit default version (not DER)', () => request({ version: Buffer.from('020100', 'hex') })],
    ['version 2', () => request({ version: Buffer.from('020101', 'hex') })],
    ['an empty requestList', () => request({ requests: [] })],
    ['more requests than allowed', () => request({ requests: [tlv(0x30, certId), tlv(0x30, certId), tlv(0x30, certId)] }), () => ({ maxRequests: 2 })],
    ['a request larger than allowed', () => validRequest, () => ({ maxBytes: validRequest.length - 1 })],
    ['a nonce of 33 octets (RFC 8954)', () => request({ exts: [ext(PKI_OID.ocspNonce, tlv(0x04, Buffer.alloc(33, 1)))] })],
    ['an empty nonce', () => request({ exts: [ext(PKI_OID.ocspNonce, tlv(0x04, Buffer.alloc(0)))] })],
    ['a nonce that is not an OCTET STRING', () => request({ exts: [ext(PKI_OID.ocspNonce, Buffer.from('020105', 'hex'))] })],
    ['an unknown critical request extension', () => request({ exts: [ext('1.2.3.4.5', Buffer.from('0500', 'hex'), true)] })],
    ['a duplicated nonce extension', () => request({ exts: [ext(PKI_OID.ocspNonce, tlv(0x04, NONCE)), ext(PKI_OID.ocspNonce, tlv(0x04, NONCE))] })],
    ['an unknown critical single-request extension', () => request({ requests: [tlv(0x30, certId, tlv(0xa0, tlv(0x30, ext('1.2.3', Buffer.from('0500', 'hex'), true))))] })],
    [
      'a SHA-1 CertID with a 32-byte name hash',
      () =>
        request({
          requests: [tlv(0x30, tlv(0x30, tlv(0x30, encodeOid('1.3.14.3.2.26'), Buffer.from('0500', 'hex')), tlv(0x04, Buffer.alloc(32)), tlv(0x04, Buffer.alloc(20)), Buffer.from('020101', 'hex')))],
        }),
    ],
    ['a CertID with an extra field', () => request({ requests: [tlv(0x30, tlv(0x30, certId.subarray(2), Buffer.from('0500', 'hex')))] })],
    ['an unknown element after the signature', () => Buffer.concat([validRequest.subarray(0, 1), Buffer.from([validRequest[1]! + 2]), validRequest.subarray(2), Buffer.from('0500', 'hex')])],
  ];

  const reasons: Record<string, RegExp> = {
    'an explicit default version (not DER)': /explicit default version/,
    'version 2': /unsupported version/,
    'an empty requestList': /empty requestList/,
    'more requests than allowed': /more than 2 requests/,
    'a request larger than allowed': /exceeds the limit/,
    'a nonce of 33 octets (RFC 8954)': /1 to 32/,
    'an empty nonce': /1 to 32/,
    'a nonce that is not an OCTET STRING': /nonce/,
    'an unknown critical request extension': /unsupported critical extension/,
    'a duplicated nonce extension': /duplicate/,
    'an unknown critical single-request extension': /unsupported critical extension/,
    'a SHA-1 CertID with a 32-byte name hash': /hash length/,
    'a CertID with an extra field': /CertID: unexpected element/,
    'an unknown element after the signature': /OCSPRequest: unexpected element/,
  };

  it.each(refusals)('refuses %s', (name, make, limits) => {
    const e = expectParseError(() => parseOcspRequest(make(), limits?.()), 'OCSP_MALFORMED_REQUEST');
    expect(e.message).toMatch(reasons[name]!);
  });

  it.each(malformedVariants(Buffer.alloc(0)).map((v) => v.name))('refuses %s', (name) => {
    expectParseError(() => parseOcspRequest(malformedVariants(validRequest).find((v) => v.name === name)!.bytes), 'OCSP_MALFORMED_REQUEST');
  });

  it('yields only ParseError on random and mutated input (property)', () => {
    assertOnlyParseErrors((b) => parseOcspRequest(b), 'OCSP_MALFORMED_REQUEST', validRequest, 1000);
  });
});

describe('matchCertId', () => {
  it('matches the issuer with the hash the request chose', () => {
    for (const hash of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      const id = parseOcspRequest(buildOcspRequest({ certIds: [buildCertId(pki.seal.der, pki.issuing.der, hash)] })).certIds[0]!;
      expect(matchCertId(id, pki.issuing.der)).toBe(true);
      expect(matchCertId(id, pki.issuing.parsed)).toBe(true);
      expect(matchCertId(id, pki.root.der)).toBe(false);
    }
  });
});

describe('buildOcspResponse', () => {
  let req: ParsedOcspRequest;
  const base = (): BuildOcspResponseInput => ({
    responderCertificate: pki.ocsp.der,
    signer: pki.ocsp.signer,
    producedAt: FIXED_NOW,
    responses: [{ certId: req.certIds[0]!, status: { type: 'good' }, thisUpdate: FIXED_NOW, nextUpdate: new Date(FIXED_NOW.getTime() + HOUR) }],
    nonce: req.nonce,
    includeCertificates: [pki.ocsp.der, pki.issuing.der],
  });
  beforeAll(() => {
    req = parseOcspRequest(validRequest);
  });

  it('signs a successful basic response that echoes the CertID and nonce, responder by key hash', async () => {
    const der = await buildOcspResponse(base());
    const r = parseOcspResponse(der);
    expect(r.status).toBe('successful');
    const b = r.basic!;
    expect(b.responderId).toEqual({ byKey: createHash('sha1').update(pki.ocsp.parsed.publicKeyBits).digest() });
    expect(b.producedAt).toEqual(FIXED_NOW);
    expect(b.responses).toHaveLength(1);
    expect(b.responses[0]!.certId.der).toEqual(certId);
    expect(b.responses[0]!.status).toEqual({ type: 'good' });
    expect(b.responses[0]!.nextUpdate).toEqual(new Date(FIXED_NOW.getTime() + HOUR));
    expect(b.nonce).toEqual(NONCE);
    expect(b.certificates.map((c) => c.der)).toEqual([pki.ocsp.der, pki.issuing.der]);
    expect(verifyOcspResponseSignature(b, pki.ocsp.parsed.spki)).toBe(true);
  });

  it('answers revoked with the reason, leaving out "unspecified", and unknown', async () => {
    const revokedAt = new Date(FIXED_NOW.getTime() - HOUR);
    const der = await buildOcspResponse({
      ...base(),
      responses: [
        { certId: req.certIds[0]!, status: { type: 'revoked', revokedAt, reason: 'keyCompromise' }, thisUpdate: FIXED_NOW },
        { certId: req.certIds[0]!, status: { type: 'revoked', revokedAt, reason: 'unspecified' }, thisUpdate: FIXED_NOW },
        { certId: req.certIds[0]!, status: { type: 'unknown' }, thisUpdate: FIXED_NOW },
      ],
      nonce: undefined,
      includeCertificates: [],
    });
    const b = parseOcspResponse(der).basic!;
    expect(b.responses.map((x) => x.status)).toEqual([
      { type: 'revoked', revokedAt, reason: 'keyCompromise' },
      { type: 'revoked', revokedAt, reason: undefined },
      { type: 'unknown' },
    ]);
    expect(b.nonce).toBeUndefined();
    expect(b.certificates).toEqual([]);
  });

  it('lets the CA itself sign responses (RFC 6960 §4.2.2.2)', async () => {
    const der = await buildOcspResponse({ ...base(), responderCertificate: pki.issuing.der, signer: pki.issuing.signer });
    expect(verifyOcspResponseSignature(parseOcspResponse(der).basic!, pki.issuing.parsed.spki)).toBe(true);
  });

  it.each<[string, (b: BuildOcspResponseInput) => BuildOcspResponseInput, string]>([
    ['a responder without id-kp-OCSPSigning', (b) => ({ ...b, responderCertificate: pki.seal.der, signer: pki.seal.signer }), 'PKI_PROFILE_VIOLATION'],
    ['a signer that is not the responder key', (b) => ({ ...b, signer: testSigner('ES256', 'stranger') }), 'PKI_SIGNER_MISMATCH'],
    ['no responses', (b) => ({ ...b, responses: [] }), 'PKI_INVALID_INPUT'],
    ['a 33-octet nonce', (b) => ({ ...b, nonce: Buffer.alloc(33) }), 'PKI_INVALID_INPUT'],
    ['nextUpdate before thisUpdate', (b) => ({ ...b, responses: [{ ...b.responses[0]!, nextUpdate: new Date(FIXED_NOW.getTime() - 1000) }] }), 'PKI_INVALID_INPUT'],
  ])('refuses %s', async (_n, change, code) => {
    await expect(buildOcspResponse(change(base()))).rejects.toMatchObject({ code });
  });

  it('parses its own responses strictly; random and mutated input only yields ParseError (property)', async () => {
    const der = await buildOcspResponse(base());
    for (const v of malformedVariants(der)) expectParseError(() => parseOcspResponse(v.bytes), 'OCSP_MALFORMED_RESPONSE');
    assertOnlyParseErrors(parseOcspResponse, 'OCSP_MALFORMED_RESPONSE', der);
  });
});

describe('buildOcspError', () => {
  it.each([
    ['malformedRequest', '3003 0a0101'],
    ['internalError', '3003 0a0102'],
    ['tryLater', '3003 0a0103'],
    ['sigRequired', '3003 0a0105'],
    ['unauthorized', '3003 0a0106'],
  ] as const)('encodes %s without responseBytes', (status, hex) => {
    const der = buildOcspError(status);
    expect(der.toString('hex')).toBe(hex.replace(' ', ''));
    expect(parseOcspResponse(der)).toEqual({ der, status });
  });
});
