import { CertificateAuthority } from '../../../src/ca';
import { KeyRouter, SoftwareKeyProvider } from '../../../src/crypto';
import { buildCertId, buildOcspRequest, parseOcspResponse, verifyOcspResponseSignature } from '../../../src/pki';
import { openSqliteStores } from '../../../src/store';

describe('CertificateAuthority', () => {
  it('renews the short-lived OCSP certificate before it expires, and a second instance adopts the renewal', async () => {
    const stores = openSqliteStores({ file: ':memory:' });
    let now = new Date('2026-01-01T00:00:00Z');
    const clock = () => now;
    const soft = new SoftwareKeyProvider({ masterKey: Buffer.alloc(32, 1), keys: stores.keys, keyUses: stores.keyUses });
    const keys = new KeyRouter({ software: soft }, stores.keys, 'software');
    const ca = await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080', clock });
    const first = ca.ocsp.serial;
    await ca.renewDelegates();
    expect(ca.ocsp.serial).toBe(first); // fresh: nothing to do

    now = new Date(ca.ocsp.parsed.notAfter.getTime() - 10 * 86400_000);
    await ca.renewDelegates();
    expect(ca.ocsp.serial).not.toBe(first);
    expect(ca.ocsp.parsed.notAfter.getTime()).toBeGreaterThan(now.getTime() + 60 * 86400_000);
    expect(ca.tsa.serial).toBeDefined();

    // Responses are signed with the renewed certificate's key.
    const key = await keys.generate('ES256', { label: 'x', agencyCode: null });
    const leaf = await ca.issue({ profile: 'seal', subject: { cn: 'x', o: 'y', organizationIdentifier: 'NTRCN-11330105002500287C' }, keyId: key.id, publicKey: key.publicKey, agencyCode: null, actor: { apiKeyId: null, agencyCode: null } });
    const resp = parseOcspResponse(await ca.respondOcsp(buildOcspRequest({ certIds: [buildCertId(Buffer.from(leaf.der, 'base64'), ca.issuing.der)] })));
    expect(verifyOcspResponseSignature(resp.basic!, ca.ocsp.parsed.spki)).toBe(true);

    const other = await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080', clock });
    expect(other.ocsp.serial).toBe(ca.ocsp.serial);
    await stores.close();
  });
});
