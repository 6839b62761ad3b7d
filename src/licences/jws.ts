import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { Signer } from '../crypto';
import { AppError } from '../errors';

/**
 * Compact JWS (RFC 7515) made with a key-store Signer: the private key stays in the key store,
 * only the signing input goes in. JOSE algorithms map 1:1 to our table for ES256, RS256 and
 * PS256 (RFC 7518 §3.3–3.5: PS256 uses MGF1-SHA-256 and a 32-byte salt, as our table does).
 * SM2 has no registered JOSE algorithm, so SM2 seals cannot sign credentials.
 */
export type JoseAlg = 'ES256' | 'RS256' | 'PS256';
const JOSE_ALGS: readonly string[] = ['ES256', 'RS256', 'PS256'];

export function joseAlgFor(algorithm: string): JoseAlg {
  if (!JOSE_ALGS.includes(algorithm)) {
    throw new AppError('LICENCE_SEAL_UNSUITABLE', `Seals with ${algorithm} keys cannot sign JOSE credentials (ES256, RS256 or PS256 needed)`);
  }
  return algorithm as JoseAlg;
}

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** DER Ecdsa-Sig-Value → r ‖ s, 32 bytes each (RFC 7518 §3.4). */
export function ecdsaDerToJose(der: Buffer, size = 32): Buffer {
  let i = 0;
  const fail = () => {
    throw new Error('malformed ECDSA signature from the key store');
  };
  if (der[i++] !== 0x30) fail();
  let len = der[i++];
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let k = 0; k < n; k++) len = (len << 8) | der[i++];
  }
  const int = () => {
    if (der[i++] !== 0x02) fail();
    const l = der[i++];
    let v = der.subarray(i, i + l);
    i += l;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) fail();
    return Buffer.concat([Buffer.alloc(size - v.length), v]);
  };
  const r = int();
  const s = int();
  return Buffer.concat([r, s]);
}

export async function signCompactJws(signer: Signer, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const alg = joseAlgFor(signer.algorithm);
  const input = `${b64u(JSON.stringify({ ...header, alg }))}.${b64u(JSON.stringify(payload))}`;
  let sig = await signer.sign(Buffer.from(input, 'ascii'));
  if (alg === 'ES256') sig = ecdsaDerToJose(sig);
  return `${input}.${b64u(sig)}`;
}

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

const B64U = /^[A-Za-z0-9_-]*$/;
export const MAX_JWS_LENGTH = 64 * 1024;

/** Splits and decodes a compact JWS; null when it is not one (no signature check). */
export function decodeCompactJws(jws: string): DecodedJws | null {
  if (typeof jws !== 'string' || jws.length > MAX_JWS_LENGTH) return null;
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64U.test(p)) || !parts[0] || !parts[1] || !parts[2]) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!header || typeof header !== 'object' || Array.isArray(header) || !payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
    return { header, payload, signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'), signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    return null;
  }
}

/** Checks the JWS signature with a public key (SPKI DER); the header's alg must be `expected`. */
export function verifyJwsSignature(d: DecodedJws, spki: Buffer, expected: JoseAlg): boolean {
  if (d.header.alg !== expected) return false;
  try {
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    if (expected === 'ES256') {
      if (d.signature.length !== 64 || key.asymmetricKeyType !== 'ec') return false;
      return cryptoVerify('sha256', d.signingInput, { key, dsaEncoding: 'ieee-p1363' }, d.signature);
    }
    if (key.asymmetricKeyType !== 'rsa') return false;
    if (expected === 'RS256') return cryptoVerify('sha256', d.signingInput, key, d.signature);
    return cryptoVerify('sha256', d.signingInput, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, d.signature);
  } catch {
    return false;
  }
}
