import { createDecipheriv, createPrivateKey, type KeyObject } from 'node:crypto';
import { CertificateAuthority } from '../../src/ca';
import { KeyRouter, SoftwareKeyProvider } from '../../src/crypto';
import type { KeyRecord, Stores } from '../../src/store';

export const MASTER = Buffer.alloc(32, 7);

/** Opens a sealed key the way the documented format says (iv ‖ tag ‖ ciphertext, AAD = key id). */
export function unseal(rec: KeyRecord): KeyObject {
  const raw = Buffer.from(rec.wrappedKey!, 'base64');
  const d = createDecipheriv('aes-256-gcm', MASTER, raw.subarray(0, 12), { authTagLength: 16 });
  d.setAAD(Buffer.from(rec.id, 'utf8'));
  d.setAuthTag(raw.subarray(12, 28));
  return createPrivateKey({ key: Buffer.concat([d.update(raw.subarray(28)), d.final()]), format: 'der', type: 'pkcs8' });
}

/** Every encoding of a private key that a careless implementation might store. */
export function needles(key: KeyObject): Buffer[] {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const secretParts = ['d', 'p', 'q'].filter((k) => jwk[k]).map((k) => Buffer.from(jwk[k], 'base64url'));
  const pemBody = (key.export({ type: 'pkcs8', format: 'pem' }) as string).split('\n')[1];
  return [
    der,
    Buffer.from(der.toString('base64')),
    Buffer.from(der.toString('hex')),
    Buffer.from(pemBody),
    ...secretParts,
    ...secretParts.map((s) => Buffer.from(s.toString('base64'))),
    ...secretParts.map((s) => Buffer.from(s.toString('hex'))),
  ];
}

export async function makeKeys(stores: Stores): Promise<KeyObject[]> {
  const provider = new SoftwareKeyProvider({ masterKey: MASTER, keys: stores.keys, keyUses: stores.keyUses });
  const keys = new KeyRouter({ software: provider }, stores.keys, 'software');
  await CertificateAuthority.open({ stores, keys, publicUrl: 'http://127.0.0.1:8080' });
  for (const alg of ['ES256', 'RS256', 'PS256'] as const) {
    const k = await provider.generate(alg, { label: 'scan', agencyCode: null });
    await provider.sign(k.id, Buffer.from('use it once'), { apiKeyId: null, agencyCode: null, purpose: 'test' });
  }
  const all = (await stores.keys.list({ limit: 500 })).items;
  expect(all.length).toBeGreaterThanOrEqual(8); // 5 hierarchy keys + 3
  return all.map(unseal);
}

