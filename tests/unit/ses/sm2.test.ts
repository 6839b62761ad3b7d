/**
 * SM2/SM3 primitives and the software key store's SM2 keys. OpenSSL interop lives in
 * tests/interop/sm2-openssl.test.ts; here: the GB/T 32918.2 example vector, strict signature
 * decoding, key-store sealing and reload, and the algorithm table wiring.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { SoftwareKeyProvider, Sm2PrivateKey, sm2PublicPoint, sm2Verify, sm3, type KeyUseContext } from '../../../src/crypto';
import { decodeSm2Signature, encodeSm2Signature } from '../../../src/crypto/sm2';
import { keyFitsAlgorithm, readPublicKeyInfo, signatureAlgorithmIdentifier, signatureSchemeOf, verifySignature } from '../../../src/pki/signature';
import { AsnConvert } from '@peculiar/asn1-schema';
import { decodeDer } from '../../../src/pki/der';
import { memoryKeyStores } from '../../helpers/memory-key-stores';
import { sm2 as sm2Lib } from 'sm-crypto-v2';

const ctx: KeyUseContext = { apiKeyId: null, agencyCode: null, purpose: 'sm2-unit-test' };
const N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');

function int32(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
}

describe('SM3', () => {
  it('matches the GB/T 32905-2016 Appendix A example ("abc")', () => {
    expect(sm3(Buffer.from('abc')).toString('hex')).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    expect(sm3(Buffer.from('abc')).equals(createHash('sm3').update('abc').digest())).toBe(true);
  });
});

describe('SM2 signatures', () => {
  const kp = generateKeyPairSync('ec', { namedCurve: 'SM2' });
  const key = new Sm2PrivateKey(kp.privateKey);
  const spki = kp.publicKey.export({ type: 'spki', format: 'der' });
  const msg = Buffer.from('message digest');

  it('sign → verify, with the default and with an explicit user id', () => {
    const sig = key.sign(msg);
    expect(sm2Verify(spki, msg, sig)).toBe(true);
    expect(sm2Verify(key.publicPoint, msg, sig)).toBe(true);
    const withId = key.sign(msg, 'ALICE123@YAHOO.COM');
    expect(sm2Verify(spki, msg, withId, 'ALICE123@YAHOO.COM')).toBe(true);
    expect(sm2Verify(spki, msg, withId)).toBe(false);
  });

  it('is randomised (k fresh per signature) and writes minimal DER', () => {
    const a = key.sign(msg);
    const b = key.sign(msg);
    expect(a.equals(b)).toBe(false);
    expect(() => decodeDer(a)).not.toThrow();
    expect(decodeSm2Signature(a)).toBeDefined();
  });

  it('refuses out-of-range and malformed signatures without throwing', () => {
    const { r, s } = decodeSm2Signature(key.sign(msg))!;
    const bad = [
      encodeSm2Signature(int32(r), int32(N)), // s = n
      encodeSm2Signature(int32(N), int32(s)), // r = n
      Buffer.from('3006020100020101', 'hex'), // r = 0
      Buffer.from('3006020181020101', 'hex'), // negative r
      Buffer.concat([key.sign(msg), Buffer.from([0])]), // trailing byte
      Buffer.alloc(0),
      randomBytes(71),
    ];
    for (const sig of bad) expect(sm2Verify(spki, msg, sig)).toBe(false);
    expect(decodeSm2Signature(Buffer.from('3006020100020101', 'hex'))).toBeUndefined();
  });

  it("agrees with the library's own verification routine (fast double multiplication vs constant-time)", () => {
    const pubHex = key.publicPoint.toString('hex');
    for (let i = 0; i < 12; i++) {
      const m = randomBytes(i * 13);
      const sig = key.sign(m);
      const tampered = Buffer.from(m.length ? m : Buffer.from([0]));
      tampered[0]! ^= 1;
      const { r, s } = decodeSm2Signature(sig)!;
      const hex = r.toString(16).padStart(64, '0') + s.toString(16).padStart(64, '0');
      for (const msg of [m, tampered]) {
        expect(sm2Verify(key.publicPoint, msg, sig)).toBe(sm2Lib.doVerifySignature(Uint8Array.from(msg), hex, pubHex, { hash: true }));
      }
      expect(sm2Verify(key.publicPoint, m, sig)).toBe(true);
    }
  });

  it('refuses a point that is not on the curve and a non-SM2 key', () => {
    const point = Buffer.from(key.publicPoint);
    point[64]! ^= 1;
    expect(sm2Verify(point, msg, key.sign(msg))).toBe(false);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(() => sm2PublicPoint(p256.publicKey)).toThrow();
    expect(() => new Sm2PrivateKey(p256.privateKey)).toThrow();
  });

  it('is wired into the PKI layer: SPKI, key fit, AlgorithmIdentifier, scheme and verify', () => {
    const info = readPublicKeyInfo(spki);
    expect(info.namedCurve).toBe('SM2');
    expect(keyFitsAlgorithm(info, 'SM2')).toBe(true);
    expect(keyFitsAlgorithm(info, 'ES256')).toBe(false);
    const p256 = readPublicKeyInfo(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }));
    expect(keyFitsAlgorithm(p256, 'SM2')).toBe(false);
    const aiDer = Buffer.from(AsnConvert.serialize(signatureAlgorithmIdentifier('SM2')));
    expect(aiDer.toString('hex')).toBe('300a06082a811ccf55018375');
    expect(signatureSchemeOf({ oid: '1.2.156.10197.1.501', der: aiDer })).toEqual({ algorithm: 'SM2' });
    const sig = key.sign(msg);
    expect(verifySignature(info, { algorithm: 'SM2' }, msg, sig)).toBe(true);
    // An SM2 signature is not accepted under ES256 (and a P-256 key not under SM2).
    expect(verifySignature(info, { algorithm: 'ES256' }, msg, sig)).toBe(false);
  });
});

describe('software key store with SM2 keys', () => {
  it('seals the key, reloads it in a new provider and signs with the default user id', async () => {
    const stores = memoryKeyStores();
    const masterKey = randomBytes(32);
    const a = new SoftwareKeyProvider({ masterKey, ...stores });
    const info = await a.generate('SM2', { label: 'sm2 seal', agencyCode: '11330105002500287C' });
    expect(info.algorithm).toBe('SM2');
    const record = stores.keys.records.get(info.id)!;
    // The PKCS#8 never appears in clear in the record.
    const pkcs8Marker = Buffer.from('2a811ccf5501822d', 'hex').toString('base64');
    expect(record.wrappedKey).not.toContain(pkcs8Marker);
    await a.close();

    const b = new SoftwareKeyProvider({ masterKey, ...stores });
    const data = Buffer.from('after reload');
    const sig = await b.sign(info.id, data, { ...ctx, agencyCode: '11330105002500287C' });
    expect(sm2Verify(info.publicKey, data, sig)).toBe(true);
    expect(stores.keyUses.uses.length).toBeGreaterThan(0);
    await b.close();
  });

  it('refuses an SM2 record whose algorithm was swapped to ES256 at rest', async () => {
    const stores = memoryKeyStores();
    const masterKey = randomBytes(32);
    const a = new SoftwareKeyProvider({ masterKey, ...stores });
    const info = await a.generate('SM2', { label: 'x', agencyCode: null });
    stores.keys.records.get(info.id)!.algorithm = 'ES256';
    const b = new SoftwareKeyProvider({ masterKey, ...stores });
    await expect(b.sign(info.id, Buffer.from('x'), ctx)).rejects.toMatchObject({ code: 'KEY_UNAVAILABLE' });
  });
});
