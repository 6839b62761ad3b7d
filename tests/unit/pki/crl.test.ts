import { AppError } from '../../../src/errors';
import { PKI_OID, buildCrl, parseCrl, serialHexToInteger, verifyCrlSignature, type BuildCrlInput } from '../../../src/pki';
import { createTestPki, FIXED_NOW, testSigner, type TestPki } from '../../helpers/test-pki';
import { assertOnlyParseErrors, expectParseError, malformedVariants } from './malformed-inputs';

let pki: TestPki;
let input: () => BuildCrlInput;
const DAY = 86400_000;

beforeAll(async () => {
  pki = await createTestPki();
  input = () => ({
    issuerCertificate: pki.issuing.der,
    signer: pki.issuing.signer,
    crlNumber: 12n,
    thisUpdate: FIXED_NOW,
    nextUpdate: new Date(FIXED_NOW.getTime() + 7 * DAY),
    revoked: [
      { serial: pki.seal.parsed.serialHex, revokedAt: new Date(FIXED_NOW.getTime() - DAY), reason: 'keyCompromise' },
      { serial: '0badc0de', revokedAt: new Date(FIXED_NOW.getTime() - 2 * DAY), reason: 'unspecified' },
    ],
  });
});

describe('buildCrl', () => {
  it('builds a signed v2 CRL with AKI, CRL number and reason codes', async () => {
    const crl = parseCrl(await buildCrl(input()));
    expect(crl.issuer.der).toEqual(pki.issuing.parsed.subject.der);
    expect(crl.thisUpdate).toEqual(FIXED_NOW);
    expect(crl.nextUpdate).toEqual(new Date(FIXED_NOW.getTime() + 7 * DAY));
    expect(crl.crlNumber).toBe(12n);
    expect(crl.authorityKeyIdentifier).toEqual(pki.issuing.parsed.subjectKeyIdentifier);
    expect(crl.extensions.map((e) => [e.oid, e.critical])).toEqual([
      [PKI_OID.authorityKeyIdentifier, false],
      [PKI_OID.cRLNumber, false],
    ]);
    expect(crl.revoked).toEqual([
      expect.objectContaining({ serialHex: pki.seal.parsed.serialHex, reason: 'keyCompromise' }),
      // RFC 5280 §5.3.1: 'unspecified' is expressed by leaving the reason code out.
      expect.objectContaining({ serialHex: '0badc0de', reason: undefined, extensions: [] }),
    ]);
    expect(verifyCrlSignature(crl, pki.issuing.parsed.spki)).toBe(true);
    expect(verifyCrlSignature(crl, pki.root.parsed.spki)).toBe(false);
  });

  it('omits revokedCertificates entirely when nothing is revoked (§5.1.2.6)', async () => {
    const der = await buildCrl({ ...input(), revoked: [] });
    const crl = parseCrl(der);
    expect(crl.revoked).toEqual([]);
    expect(der.includes(Buffer.from('3000', 'hex'))).toBe(false);
  });

  it('accepts serials with or without the 00 sign octet', () => {
    expect(pki.seal.parsed.serialHex.startsWith('00')).toBe(true);
    expect(serialHexToInteger('80ff').toString('hex')).toBe('0080ff');
    expect(serialHexToInteger('0080ff').toString('hex')).toBe('0080ff');
    expect(serialHexToInteger('000001').toString('hex')).toBe('01');
  });

  it('encodes large CRL numbers (bigint)', async () => {
    const crl = parseCrl(await buildCrl({ ...input(), crlNumber: (1n << 100n) + 5n }));
    expect(crl.crlNumber).toBe((1n << 100n) + 5n);
  });

  it.each<[string, (i: BuildCrlInput) => BuildCrlInput, string]>([
    ['removeFromCRL in a full CRL', (i) => ({ ...i, revoked: [{ serial: '01', revokedAt: FIXED_NOW, reason: 'removeFromCRL' }] }), 'PKI_INVALID_INPUT'],
    // The seal's serial has a 00 sign octet; without it, it is the same number.
    ['a serial listed twice', (i) => ({ ...i, revoked: [i.revoked[0]!, { ...i.revoked[0]!, serial: i.revoked[0]!.serial.replace(/^00/, '') }] }), 'PKI_INVALID_INPUT'],
    ['a revocation after thisUpdate', (i) => ({ ...i, revoked: [{ serial: '01', revokedAt: new Date(FIXED_NOW.getTime() + 1000), reason: 'superseded' }] }), 'PKI_INVALID_INPUT'],
    ['nextUpdate not after thisUpdate', (i) => ({ ...i, nextUpdate: FIXED_NOW }), 'PKI_INVALID_INPUT'],
    ['a negative CRL number', (i) => ({ ...i, crlNumber: -1 }), 'PKI_INVALID_INPUT'],
    ['a CRL number over 20 octets', (i) => ({ ...i, crlNumber: 1n << 160n }), 'PKI_INVALID_INPUT'],
    ['a non-hex serial', (i) => ({ ...i, revoked: [{ serial: 'xyz', revokedAt: FIXED_NOW, reason: 'superseded' }] }), 'PKI_INVALID_INPUT'],
    ['a signer that is not the issuer', (i) => ({ ...i, signer: testSigner('ES256', 'not-the-ca') }), 'PKI_SIGNER_MISMATCH'],
    ['an issuer that is not a CA', (i) => ({ ...i, issuerCertificate: pki.seal.der, signer: pki.seal.signer }), 'PKI_PROFILE_VIOLATION'],
  ])('refuses %s', async (_n, change, code) => {
    await expect(buildCrl(change(input()))).rejects.toMatchObject({ code });
    await expect(buildCrl(change(input()))).rejects.toBeInstanceOf(AppError);
  });
});

describe('parseCrl', () => {
  it.each(malformedVariants(Buffer.alloc(0)).map((v) => v.name))('rejects %s', async (name) => {
    const valid = await buildCrl(input());
    expectParseError(() => parseCrl(malformedVariants(valid).find((v) => v.name === name)!.bytes), 'CRL_MALFORMED');
  });

  it('yields only ParseError on random and mutated input (property)', async () => {
    assertOnlyParseErrors(parseCrl, 'CRL_MALFORMED', await buildCrl(input()));
  });
});
