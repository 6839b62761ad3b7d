import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { compactVerify, importSPKI } from 'jose';
import { keyObjectSigner } from '../../../src/crypto';
import { decodeCompactJws, ecdsaDerToJose, signCompactJws, verifyJwsSignature } from '../../../src/licences/jws';
import { maskHolderName } from '../../../src/licences/service';

describe('compact JWS through a key-store signer', () => {
  it('ES256: DER signatures become r‖s and verify with jose and with our checker; tampering fails', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jws = await signCompactJws(keyObjectSigner('ES256', privateKey), { kid: 'k' }, { a: 1, s: '中文' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const { payload, protectedHeader } = await compactVerify(jws, await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'ES256'));
    expect(protectedHeader).toEqual({ kid: 'k', alg: 'ES256' });
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ a: 1, s: '中文' });
    const d = decodeCompactJws(jws)!;
    expect(verifyJwsSignature(d, spki, 'ES256')).toBe(true);
    expect(verifyJwsSignature(d, spki, 'RS256')).toBe(false);
    const parts = jws.split('.');
    const other = Buffer.from(JSON.stringify({ a: 2, s: '中文' })).toString('base64url');
    expect(verifyJwsSignature(decodeCompactJws(`${parts[0]}.${other}.${parts[2]}`)!, spki, 'ES256')).toBe(false);
  });

  it('converts any DER ECDSA signature to 64 bytes (short and padded integers)', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (let i = 0; i < 200; i++) {
      const der = sign('sha256', Buffer.from(String(i)), privateKey);
      const raw = ecdsaDerToJose(der);
      expect(raw.length).toBe(64);
      expect(sign('sha256', Buffer.from(String(i)), { key: privateKey, dsaEncoding: 'ieee-p1363' }).length).toBe(64);
    }
    expect(() => ecdsaDerToJose(Buffer.from([0x31, 0]))).toThrow();
  });

  it('decodes malformed JWS as null, never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const d = decodeCompactJws(s);
        expect(d === null || typeof d === 'object').toBe(true);
      }),
      { numRuns: 500 },
    );
    for (const bad of ['', 'a.b', 'a.b.c.d', 'e30.W10.AA', 'bnVsbA.e30.AA', '!.e30.AA']) expect(decodeCompactJws(bad)).toBeNull();
  });
});

describe('holder name masking on the public page', () => {
  it('keeps the ends, masks the middle', () => {
    expect(maskHolderName('张三', '111')).toBe('张*');
    expect(maskHolderName('张三丰', '111')).toBe('张*丰');
    expect(maskHolderName('欧阳娜娜', '111')).toBe('欧**娜');
    expect(maskHolderName('杭州云栖数据科技有限公司', '001')).toBe('杭州**有限公司');
    expect(maskHolderName('某某公司', '001')).toBe('某***');
  });
});
