import { constants, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { ecdsaRawToDer, keyObjectSigner, signerFor, SoftwareKeyProvider } from '../../../src/crypto';
import { memoryKeyStores } from '../../helpers/memory-key-stores';

describe('ecdsaRawToDer', () => {
  it('turns r‖s into the DER that OpenSSL accepts (it rejects non-minimal DER)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    // Enough signatures to meet r or s with the high bit set (needs a 0x00) and with leading zeros.
    for (let i = 0; i < 300; i++) {
      const msg = randomBytes(16);
      const raw = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(verify('sha256', msg, { key: publicKey, dsaEncoding: 'der' }, ecdsaRawToDer(raw))).toBe(true);
    }
  });

  it.each([
    ['high bit set: 0x00 prepended', '80' + '00'.repeat(31), '01'.padStart(64, '0'), '3026022100' + '80' + '00'.repeat(31) + '020101'],
    ['leading zeros stripped', '00007f' + 'ff'.repeat(29), '00'.repeat(31) + '05', '3023' + '021e7f' + 'ff'.repeat(29) + '020105'],
  ])('%s', (_what, r, s, der) => {
    expect(ecdsaRawToDer(Buffer.from(r + s, 'hex')).toString('hex')).toBe(der);
  });

  it('rejects output of odd length', () => {
    expect(() => ecdsaRawToDer(Buffer.alloc(63))).toThrow(expect.objectContaining({ code: 'KEY_UNAVAILABLE' }));
  });
});

describe('signerFor', () => {
  it('binds a provider key and a use context into a Signer', async () => {
    const { keys, keyUses } = memoryKeyStores();
    const provider = new SoftwareKeyProvider({ masterKey: randomBytes(32), keys, keyUses });
    const info = await provider.generate('PS256', { label: 'crl', agencyCode: null });
    const signer = await signerFor(provider, info.id, { apiKeyId: null, agencyCode: null, purpose: 'crl' });
    expect(signer.algorithm).toBe('PS256');
    expect(signer.publicKey).toEqual(info.publicKey);
    const data = Buffer.from('tbsCertList');
    const sig = await signer.sign(data);
    const key = createPublicKey({ key: signer.publicKey, format: 'der', type: 'spki' });
    expect(verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)).toBe(true);
    expect(keyUses.uses).toEqual([expect.objectContaining({ keyId: info.id, purpose: 'crl' })]);
  });

  it('keyObjectSigner signs with a plain KeyObject (tests, tools)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const signer = keyObjectSigner('ES256', privateKey);
    expect(signer.publicKey).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
    const sig = await signer.sign(Buffer.from('x'));
    expect(verify('sha256', Buffer.from('x'), { key: publicKey, dsaEncoding: 'der' }, sig)).toBe(true);
  });
});
