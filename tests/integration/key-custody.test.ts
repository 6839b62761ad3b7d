import fs from 'node:fs';
import path from 'node:path';
import { CertificateAuthority, TimeStampAuthority } from '../../src/ca';
import { Pkcs11KeyProvider, SoftwareKeyProvider, KeyRouter } from '../../src/crypto';
import { buildOcspRequest, buildCertId, parseOcspResponse, verifyOcspResponseSignature, parseCertificate, toPem } from '../../src/pki';
import { openSqliteStores, type Stores } from '../../src/store';
import { makeKeys, MASTER, needles } from '../helpers/key-scan';
import { openssl, write } from '../helpers/openssl';
import { createSoftHsmToken, describeSoftHsm } from '../helpers/softhsm';
import { tmpDir } from '../helpers/stores';

describe('no private key in clear in the store', () => {
  it('SQLite: the database file and its WAL hold no encoding of any private key', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'eseal.sqlite');
    const stores = openSqliteStores({ file });
    const privateKeys = await makeKeys(stores);
    const bytes = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))));
    expect(bytes.length).toBeGreaterThan(10_000);
    for (const k of privateKeys) for (const n of needles(k)) expect(bytes.includes(n)).toBe(false);
    // The test is able to fail: the same needles are found in a dump that contains a key.
    expect(Buffer.concat([bytes, privateKeys[0].export({ type: 'pkcs8', format: 'der' })]).includes(needles(privateKeys[0])[0])).toBe(true);
    await stores.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describeSoftHsm('CA, OCSP and TSA with every key in a PKCS#11 token (SoftHSM2)', () => {
  let token: ReturnType<typeof createSoftHsmToken>;
  let stores: Stores;
  let hsm: Pkcs11KeyProvider;
  let keys: KeyRouter;
  let ca: CertificateAuthority;
  let work: string;
  beforeAll(async () => {
    token = createSoftHsmToken('eseal-ca');
    work = tmpDir('eseal-hsm-');
    stores = openSqliteStores({ file: path.join(work, 'eseal.sqlite') });
    hsm = await Pkcs11KeyProvider.open({ modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, keys: stores.keys, keyUses: stores.keyUses });
    const soft = new SoftwareKeyProvider({ masterKey: MASTER, keys: stores.keys, keyUses: stores.keyUses });
    keys = new KeyRouter({ software: soft, pkcs11: hsm }, stores.keys, 'pkcs11');
    ca = await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080' });
    write(work, 'root.pem', toPem(ca.root.der));
    write(work, 'issuing.pem', toPem(ca.issuing.der));
  });
  afterAll(async () => {
    await keys.close();
    await stores.close();
    token.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('keeps the hierarchy keys in the token, non-extractable', async () => {
    for (const held of [ca.root, ca.issuing, ca.ocsp, ca.tsa, ca.log]) {
      const rec = await stores.keys.get(held.keyId);
      expect(rec).toMatchObject({ keyStore: 'pkcs11', wrappedKey: null });
      expect(await hsm.getKeyAttributes(held.keyId)).toMatchObject({ extractable: false, sensitive: true });
    }
  });

  it.each(['ES256', 'RS256'] as const)('issues a %s seal certificate for a token key that openssl verify accepts', async (alg) => {
    const key = await keys.generate(alg, { label: 'seal', agencyCode: '11330105002500287C' });
    expect(await hsm.getKeyAttributes(key.id)).toMatchObject({ extractable: false });
    const rec = await ca.issue({
      profile: 'seal',
      subject: { cn: 'Seal', o: '杭州市西湖区市场监督管理局', organizationIdentifier: 'NTRCN-11330105002500287C' },
      keyId: key.id,
      publicKey: key.publicKey,
      agencyCode: '11330105002500287C',
      actor: { apiKeyId: 'ak_test', agencyCode: null },
    });
    write(work, `leaf-${alg}.pem`, toPem(Buffer.from(rec.der, 'base64')));
    expect((await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', `leaf-${alg}.pem`], work)).out).toContain('OK');
    // The seal key itself signs through the token.
    const sig = await keys.sign(key.id, Buffer.from('document'), { apiKeyId: 'ak_test', agencyCode: '11330105002500287C', purpose: 'test' });
    write(work, 'doc.txt', 'document');
    write(work, 'sig.bin', sig);
    await openssl(['x509', '-in', `leaf-${alg}.pem`, '-pubkey', '-noout', '-out', 'pub.pem'], work);
    expect((await openssl(['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.bin', 'doc.txt'], work)).out).toContain('Verified OK');
    // Every use is attributed.
    const uses = (await stores.keyUses.list({ keyId: key.id })).items;
    expect(uses.map((u) => [u.apiKeyId, u.purpose])).toEqual([['ak_test', 'test']]);
  });

  it('signs OCSP responses, CRLs and time-stamps with token keys', async () => {
    const key = await keys.generate('ES256', { label: 'seal', agencyCode: null });
    const rec = await ca.issue({ profile: 'seal', subject: { cn: 'x', o: 'y', organizationIdentifier: 'NTRCN-11330105002500287C' }, keyId: key.id, publicKey: key.publicKey, agencyCode: null, actor: { apiKeyId: null, agencyCode: null } });
    const leaf = Buffer.from(rec.der, 'base64');
    const resp = parseOcspResponse(await ca.respondOcsp(buildOcspRequest({ certIds: [buildCertId(leaf, ca.issuing.der)] })));
    expect(resp.status).toBe('successful');
    expect(verifyOcspResponseSignature(resp.basic!, parseCertificate(ca.ocsp.der).spki)).toBe(true);
    write(work, 'crl.der', await ca.crl());
    write(work, 'chain.pem', toPem(ca.issuing.der) + toPem(ca.root.der));
    expect((await openssl(['crl', '-inform', 'DER', '-in', 'crl.der', '-CAfile', 'chain.pem', '-noout'], work)).out).toContain('verify OK');
    write(work, 'f.txt', 'x');
    await openssl(['ts', '-query', '-data', 'f.txt', '-sha256', '-cert', '-out', 'q.tsq'], work);
    const tsa = new TimeStampAuthority(ca, stores, keys);
    write(work, 'r.tsr', (await tsa.respond(fs.readFileSync(path.join(work, 'q.tsq')))).der);
    expect((await openssl(['ts', '-verify', '-data', 'f.txt', '-in', 'r.tsr', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem'], work)).out).toContain('Verification: OK');
  });
});
