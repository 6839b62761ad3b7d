/**
 * SM2 signatures judged by OpenSSL 3 (`openssl dgst -sm3 -sign/-verify -sigopt distid:…`), in
 * both directions, through the software key store. OpenSSL is the independent implementation
 * here: it computes Z with the distinguishing id itself.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SoftwareKeyProvider, sm2Verify, SM2_DEFAULT_USER_ID, type KeyUseContext } from '../../src/crypto';
import { readPublicKeyInfo, verifySignature } from '../../src/pki/signature';
import { memoryKeyStores } from '../helpers/memory-key-stores';
import { openssl, write } from '../helpers/openssl';

const opensslAvailable = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const describeIfOpenssl = opensslAvailable ? describe : describe.skip;
const ctx: KeyUseContext = { apiKeyId: null, agencyCode: null, purpose: 'sm2-interop-test' };
const DISTID = `distid:${SM2_DEFAULT_USER_ID}`;

describeIfOpenssl('SM2 interop with OpenSSL', () => {
  let dir: string;
  let provider: SoftwareKeyProvider;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eseal-sm2-'));
    provider = new SoftwareKeyProvider({ masterKey: randomBytes(32), ...memoryKeyStores() });
  });
  afterAll(async () => {
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('our key-store SM2 signatures verify with openssl dgst -sm3 -sigopt distid (and fail with another id)', async () => {
    const info = await provider.generate('SM2', { label: 'interop', agencyCode: null });
    const pub = write(dir, 'pub.pem', createPublicKey({ key: info.publicKey, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }));
    for (const size of [0, 1, 55, 4096]) {
      const data = randomBytes(size);
      const sig = await provider.sign(info.id, data, ctx);
      write(dir, 'data', data);
      write(dir, 'sig', sig);
      const ok = await openssl(['dgst', '-sm3', '-verify', pub, '-signature', 'sig', '-sigopt', DISTID, 'data'], dir);
      expect(ok.out).toContain('Verified OK');
      expect(ok.code).toBe(0);
      // Another user id must not verify: proof the id is in Z, not ignored.
      const other = await openssl(['dgst', '-sm3', '-verify', pub, '-signature', 'sig', '-sigopt', 'distid:1234567812345679', 'data'], dir);
      expect(other.code).not.toBe(0);
    }
  });

  it('OpenSSL-made SM2 signatures verify in ours; tampered data or signature does not', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const priv = write(dir, 'key.pem', key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const spki = key.publicKey.export({ type: 'spki', format: 'der' });
    const data = Buffer.from('公文 — signed by OpenSSL, checked by eseal');
    write(dir, 'data2', data);
    const made = await openssl(['dgst', '-sm3', '-sign', priv, '-sigopt', DISTID, '-out', 'sig2', 'data2'], dir);
    expect(made.code).toBe(0);
    const sig = readFileSync(join(dir, 'sig2'));
    expect(sm2Verify(spki, data, sig)).toBe(true);
    expect(verifySignature(readPublicKeyInfo(spki), { algorithm: 'SM2' }, data, sig)).toBe(true);
    const tampered = Buffer.from(data);
    tampered[0]! ^= 1;
    expect(sm2Verify(spki, tampered, sig)).toBe(false);
    const badSig = Buffer.from(sig);
    badSig[badSig.length - 1]! ^= 1;
    expect(sm2Verify(spki, data, badSig)).toBe(false);
    // The same signature under another user id must fail.
    expect(sm2Verify(spki, data, sig, 'ALICE123@YAHOO.COM')).toBe(false);
  });

  it('an OpenSSL signature made with the EMPTY user id (what Node crypto.sign would do) is not accepted', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const priv = write(dir, 'key3.pem', key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const data = Buffer.from('empty id');
    write(dir, 'data3', data);
    const made = await openssl(['dgst', '-sm3', '-sign', priv, '-out', 'sig3', 'data3'], dir);
    expect(made.code).toBe(0);
    const sig = readFileSync(join(dir, 'sig3'));
    expect(sm2Verify(key.publicKey, data, sig)).toBe(false);
    expect(sm2Verify(key.publicKey, data, sig, '')).toBe(true);
  });
});
