/**
 * Third-party GB/T 38540 / GM/T 0031 files (vectors/ses, made by ofdrw with BouncyCastle; see
 * its README): each verification step either passes or says exactly why it cannot.
 * The test PKI's root is not in the vectors, so every chain ends at NO_CERTIFICATE_CHAIN_FOUND:
 * the report is INDETERMINATE, never TOTAL_PASSED, with the cryptographic checks passing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { parseSESSignature, parseSESeal } from '../../../src/asn1';
import { verifySesSeal, verifySesSignature, type SesCheck } from '../../../src/ses';

const V = '/work/shared/vectors/ses';
const read = (f: string): Buffer => readFileSync(join(V, f));
const NOW = new Date('2026-01-01T00:00:00Z');

function byName(checks: readonly SesCheck[], name: string): SesCheck {
  const c = checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name}`);
  return c;
}

function zipEntry(zip: Buffer, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, zf) => {
      if (err || !zf) return reject(err);
      zf.on('entry', (e: yauzl.Entry) => {
        if (e.fileName !== name) return zf.readEntry();
        zf.openReadStream(e, (err2, stream) => {
          if (err2 || !stream) return reject(err2);
          const parts: Buffer[] = [];
          stream.on('data', (d: Buffer) => parts.push(d));
          stream.on('end', () => {
            zf.close();
            resolve(Buffer.concat(parts));
          });
        });
      });
      zf.on('end', () => reject(new Error(`${name} not in the archive`)));
      zf.readEntry();
    });
  });
}

describe('third-party seals', () => {
  it("UserV4.esl (GB/T 38540): the maker's signature verifies; the seal expired in 2022; no trusted root", async () => {
    const r = await verifySesSeal(parseSESeal(read('UserV4.esl')), { anchors: [], now: NOW });
    expect(byName(r.checks, 'seal-format').result).toBe('passed');
    expect(byName(r.checks, 'seal-maker-signature').result).toBe('passed');
    expect(byName(r.checks, 'seal-maker-certificate')).toMatchObject({ result: 'indeterminate', code: 'PATH_NOT_FOUND' });
    expect(byName(r.checks, 'seal-validity-period')).toMatchObject({ result: 'indeterminate', code: 'SES_SEAL_EXPIRED' });
    expect(r.indication).toBe('INDETERMINATE');
  });

  it("UserV1.esl (GM/T 0031): the maker's signature verifies over SEQUENCE { info, cert, algorithm }", async () => {
    const r = await verifySesSeal(parseSESeal(read('UserV1.esl')), { anchors: [], now: NOW });
    expect(byName(r.checks, 'seal-format')).toMatchObject({ result: 'warning', code: 'SES_LEGACY_VERSION' });
    expect(byName(r.checks, 'seal-maker-signature').result).toBe('passed');
  });

  it("SESealData.DER: the maker's signature does not verify, and the seal claims a creation date after the maker certificate expired", async () => {
    const r = await verifySesSeal(parseSESeal(read('SESealData.DER')), { anchors: [], now: NOW });
    expect(byName(r.checks, 'seal-maker-signature')).toMatchObject({ result: 'failed', code: 'SES_SEAL_SIGNATURE_INVALID' });
    expect(byName(r.checks, 'seal-made-within-maker-validity')).toMatchObject({ result: 'indeterminate', code: 'SES_SEAL_MADE_OUTSIDE_MAKER_VALIDITY' });
    expect(r).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
  });
});

describe('third-party signatures', () => {
  it('SignedValueV4.dat: signature value and embedded seal verify; the data is absent so data-hash is not checkable', async () => {
    const r = await verifySesSignature(parseSESSignature(read('SignedValueV4.dat')), undefined, { anchors: [], now: NOW });
    expect(byName(r.checks, 'signature-value').result).toBe('passed');
    expect(byName(r.checks, 'signer-in-seal').result).toBe('passed');
    expect(byName(r.checks, 'seal-maker-signature').result).toBe('passed');
    expect(byName(r.checks, 'data-hash')).toMatchObject({ result: 'indeterminate', code: 'SES_DATA_MISSING', subIndication: 'SIGNED_DATA_NOT_FOUND' });
    // Judged at the claimed signing time 2020-10-12: the seal (2020-04-22..2022-04-22) was valid then.
    expect(byName(r.checks, 'signing-time').reason).toContain('2020-10-12T11:14:03.000Z');
    expect(byName(r.checks, 'seal-validity-period').result).toBe('passed');
    expect(byName(r.checks, 'seal-expired-since').code).toBe('EXPIRED_SINCE');
    expect(byName(r.checks, 'signer-certificate-expired-since').code).toBe('EXPIRED_SINCE');
    expect(r.indication).toBe('INDETERMINATE');
  });

  it('v4signed.ofd: every step runs; data hash = SM3(Signature.xml); what expired since signing is a warning', async () => {
    const ofd = read('v4signed.ofd');
    const sig = parseSESSignature(await zipEntry(ofd, 'Doc_0/Signs/Sign_0/SignedValue.dat'));
    const xml = await zipEntry(ofd, 'Doc_0/Signs/Sign_0/Signature.xml');
    expect(sig.toSign.propertyInfo).toBe('/Doc_0/Signs/Sign_0/Signature.xml');
    const r = await verifySesSignature(sig, xml, { anchors: [], now: NOW });
    for (const name of ['ses-format', 'signature-value', 'signing-time', 'signer-in-seal', 'data-hash', 'seal-format', 'seal-maker-signature', 'seal-validity-period', 'seal-made-within-maker-validity']) {
      expect([name, byName(r.checks, name).result]).toEqual([name, 'passed']);
    }
    // The seal picture type is "ofd" (lower case): accepted, no remark needed beyond the list.
    expect(r.checks.find((c) => c.name === 'seal-picture-type')).toBeUndefined();
    // Maker certificate expired 2025-02-17, seal validEnd 2023-10-07; signer valid until 2030.
    expect(byName(r.checks, 'seal-maker-certificate-expired-since').reason).toContain('2025-02-17');
    expect(byName(r.checks, 'seal-expired-since').reason).toContain('2023-10-07');
    expect(r.checks.find((c) => c.name === 'signer-certificate-expired-since')).toBeUndefined();
    expect(byName(r.checks, 'signer-certificate')).toMatchObject({ result: 'indeterminate', code: 'PATH_NOT_FOUND' });
    expect(r).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });

    // The other Signature.xml of the test folder is not the signed data.
    const other = await verifySesSignature(sig, read('Signature.xml'), { anchors: [], now: NOW });
    expect(byName(other.checks, 'data-hash')).toMatchObject({ result: 'failed', code: 'SES_DATA_HASH_MISMATCH' });
  });
});
