/**
 * The CA's SM2 hierarchy judged by OpenSSL 3: the SM2 seal certificate and the SM2 issuing CA
 * verify with `openssl verify` (default SM2 user id, as GM/T 0015 certificates are signed), the
 * CRL's and the OCSP response's signatures with `openssl dgst -sm3 -sigopt distid`, and OpenSSL
 * reads the revocation from both.
 * Also: our SES seal made by the platform's seal maker verifies in our verifier against the SM2
 * root, with revocation checked through our own CRL.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca';
import { KeyRouter, SM2_DEFAULT_USER_ID, SoftwareKeyProvider, signerFor } from '../../src/crypto';
import { parseCertificate, parseCrl, parseOcspResponse, toPem } from '../../src/pki';
import { openSqliteStores, type Stores } from '../../src/store';
import { makeSeal, verifySesSeal } from '../../src/ses';
import { openssl, write } from '../helpers/openssl';

const opensslAvailable = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const describeIfOpenssl = opensslAvailable ? describe : describe.skip;
const actor = { apiKeyId: null, agencyCode: null };

describeIfOpenssl('SM2 CA hierarchy with OpenSSL', () => {
  let dir: string;
  let stores: Stores;
  let keys: KeyRouter;
  let ca: CertificateAuthority;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eseal-sm2pki-'));
    stores = openSqliteStores({ file: ':memory:' });
    const soft = new SoftwareKeyProvider({ masterKey: Buffer.alloc(32, 7), keys: stores.keys, keyUses: stores.keyUses });
    keys = new KeyRouter({ software: soft }, stores.keys, 'software');
    // OpenSSL checks against the real clock.
    ca = await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080' });
  });
  afterAll(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sm2Seal(cn: string) {
    const key = await keys.generate('SM2', { label: cn, agencyCode: '11330105002500287C' });
    const rec = await ca.issue({
      profile: 'seal',
      subject: { cn, o: '杭州市测试局', organizationIdentifier: 'NTRCN-11330105002500287C', c: 'CN' },
      keyId: key.id,
      publicKey: key.publicKey,
      agencyCode: '11330105002500287C',
      actor,
    });
    return { key, rec, der: Buffer.from(rec.der, 'base64') };
  }

  it('is created once, lazily, and an SM2 key gets an SM2-with-SM3 certificate from it', async () => {
    const h = await ca.sm2();
    expect((await ca.sm2()).root.serial).toBe(h.root.serial);
    const other = await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080' });
    expect((await other.sm2()).root.serial).toBe(h.root.serial);
    const { rec, der } = await sm2Seal('SM2 seal one');
    expect(rec.issuer).toBe('sm2-issuing');
    const cert = parseCertificate(der);
    expect(cert.signatureAlgorithm.oid).toBe('1.2.156.10197.1.501');
    expect(cert.issuer.der.equals(h.issuing.parsed.subject.der)).toBe(true);
    // ES256 keys are still issued by the main hierarchy.
    const ec = await keys.generate('ES256', { label: 'ec', agencyCode: null });
    const ecRec = await ca.issue({ profile: 'seal', subject: { cn: 'ec', o: 'x', organizationIdentifier: 'NTRCN-11330105002500287C' }, keyId: ec.id, publicKey: ec.publicKey, agencyCode: null, actor });
    expect(ecRec.issuer).toBe('issuing');
  });

  /** OpenSSL checks `signature` over `tbs` with `spkiPem`'s key and the default SM2 user id. */
  async function opensslSm2Verify(name: string, tbs: Buffer, signature: Buffer, spkiPem: string): Promise<string> {
    write(dir, `${name}.tbs`, tbs);
    write(dir, `${name}.sig`, signature);
    write(dir, `${name}.pub`, spkiPem);
    return (await openssl(['dgst', '-sm3', '-verify', `${name}.pub`, '-signature', `${name}.sig`, '-sigopt', `distid:${SM2_DEFAULT_USER_ID}`, `${name}.tbs`], dir)).out;
  }
  const pubPem = (spki: Buffer) => toPem(spki, 'PUBLIC KEY');

  it('openssl verify accepts each link of the SM2 chain (default SM2 user id, GM/T 0015)', async () => {
    const { der } = await sm2Seal('SM2 seal two');
    const h = await ca.sm2();
    write(dir, 'root.pem', toPem(h.root.der));
    write(dir, 'issuing.pem', toPem(h.issuing.der));
    write(dir, 'leaf.pem', toPem(der));
    write(dir, 'ec-issuing.pem', toPem(ca.issuing.der));
    // OpenSSL 3.0 applies -vfyopt distid only to the certificate being verified and checks every
    // other certificate of a chain with an EMPTY user id, so a chain signed with the standard
    // default id is checked one link at a time: leaf under issuing, issuing under root.
    const vfy = ['-vfyopt', `distid:${SM2_DEFAULT_USER_ID}`];
    const leaf = await openssl(['verify', '-x509_strict', '-partial_chain', ...vfy, '-CAfile', 'issuing.pem', 'leaf.pem'], dir);
    expect(leaf.out).toContain('leaf.pem: OK');
    const issuing = await openssl(['verify', '-x509_strict', '-partial_chain', ...vfy, '-CAfile', 'root.pem', 'issuing.pem'], dir);
    expect(issuing.out).toContain('issuing.pem: OK');
    // The root's self-signature, checked by OpenSSL over the TBSCertificate.
    expect(await opensslSm2Verify('root', h.root.parsed.tbsDer, h.root.parsed.signatureValue, pubPem(h.root.parsed.spki))).toContain('Verified OK');
    // Negative controls: without the user id, and under the wrong issuer, OpenSSL refuses.
    expect((await openssl(['verify', '-partial_chain', '-CAfile', 'issuing.pem', 'leaf.pem'], dir)).code).not.toBe(0);
    expect((await openssl(['verify', '-partial_chain', ...vfy, '-CAfile', 'ec-issuing.pem', 'leaf.pem'], dir)).code).not.toBe(0);
  });

  it('revocation shows in the SM2 CRL and in OCSP; OpenSSL checks both signatures and reads both statuses', async () => {
    const { der, rec } = await sm2Seal('SM2 seal revoked');
    const good = await sm2Seal('SM2 seal good');
    await ca.revoke(rec.serial, 'keyCompromise', actor);
    const h = await ca.sm2();
    write(dir, 'root.pem', toPem(h.root.der));
    write(dir, 'issuing.pem', toPem(h.issuing.der));
    write(dir, 'revoked.pem', toPem(der));
    write(dir, 'good.pem', toPem(good.der));

    const crlDer = await ca.crl('sm2-issuing');
    const crl = parseCrl(crlDer);
    expect(crl.revoked.map((r) => r.serialHex)).toContain(rec.serial);
    expect(crl.revoked.map((r) => r.serialHex)).not.toContain(good.rec.serial);
    expect(await opensslSm2Verify('crl', crl.tbsDer, crl.signatureValue, pubPem(h.issuing.parsed.spki))).toContain('Verified OK');
    write(dir, 'sm2.crl', crlDer);
    const text = await openssl(['crl', '-inform', 'DER', '-in', 'sm2.crl', '-noout', '-text'], dir);
    expect(text.out).toContain('SM2-with-SM3');
    expect(text.out.toUpperCase()).toContain(rec.serial.replace(/^00/, '').toUpperCase());

    // The request is OpenSSL's own (SHA-1 CertIDs), the response ours, read back by OpenSSL.
    const certArgs = ['-issuer', 'issuing.pem', '-cert', 'revoked.pem', '-cert', 'good.pem', '-no_nonce'];
    expect((await openssl(['ocsp', ...certArgs, '-reqout', 'req.der'], dir)).code).toBe(0);
    const respDer = await ca.respondOcsp(readFileSync(join(dir, 'req.der')));
    const resp = parseOcspResponse(respDer);
    expect(await opensslSm2Verify('ocsp', resp.basic!.tbsResponseDataDer, resp.basic!.signatureValue, pubPem(h.issuing.parsed.spki))).toContain('Verified OK');
    write(dir, 'resp.der', respDer);
    const ocsp = await openssl(['ocsp', '-respin', 'resp.der', '-noverify', ...certArgs], dir);
    expect(ocsp.out).toMatch(/revoked\.pem: revoked/);
    expect(ocsp.out).toMatch(/good\.pem: good/);
  });

  it("the platform's seal maker makes an SESeal that verifies against the SM2 root, revocation via our CRL", async () => {
    const h = await ca.sm2();
    const holder = await sm2Seal('SM2 seal with SES');
    const now = new Date();
    const seal = await makeSeal({
      vid: 'eseal',
      esID: 'test-ses-1',
      type: 1,
      name: '杭州市测试局公章',
      signerCertificates: [holder.der],
      createDate: now,
      validStart: now,
      validEnd: new Date(now.getTime() + 86400_000),
      picture: { type: 'PNG', data: Buffer.from('89504e470d0a1a0a', 'hex'), width: 40, height: 40 },
      makerCertificate: h.maker.der,
      maker: await signerFor(keys, h.maker.keyId, { ...actor, purpose: 'ses-seal' }),
    });
    const crl = parseCrl(await ca.crl('sm2-issuing'));
    const r = await verifySesSeal(seal, {
      anchors: [h.root.parsed],
      candidates: [h.issuing.parsed],
      now: new Date(now.getTime() + 1000),
      revocation: async (target, _issuer, _t, name) =>
        crl.revoked.some((x) => x.serialHex === target.serialHex)
          ? { group: 'revocation', name, result: 'failed', indication: 'TOTAL_FAILED', subIndication: 'REVOKED', code: 'REVOKED' }
          : { group: 'revocation', name, result: 'passed' },
    });
    expect(r.checks.filter((c) => c.result !== 'passed')).toEqual([]);
    expect(r.indication).toBe('TOTAL_PASSED');
  });
});
