import { createHash } from 'node:crypto';

/**
 * Digest algorithms the PKI layer recognises in CertIDs (RFC 6960), message imprints
 * (RFC 3161), CMS digestAlgorithm and ESSCertIDv2. SHA-1 is recognised because OCSP clients
 * (OpenSSL among them) still send SHA-1 CertIDs; it is never used to sign.
 */
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface HashSpec {
  name: HashName;
  oid: string;
  /** Digest length in bytes. */
  length: number;
}

export const HASHES: Readonly<Record<HashName, HashSpec>> = Object.freeze({
  sha1: { name: 'sha1', oid: '1.3.14.3.2.26', length: 20 },
  sha256: { name: 'sha256', oid: '2.16.840.1.101.3.4.2.1', length: 32 },
  sha384: { name: 'sha384', oid: '2.16.840.1.101.3.4.2.2', length: 48 },
  sha512: { name: 'sha512', oid: '2.16.840.1.101.3.4.2.3', length: 64 },
});

export function hashByOid(oid: string): HashSpec | undefined {
  return Object.values(HASHES).find((h) => h.oid === oid);
}

export function isHashName(x: unknown): x is HashName {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(HASHES, x);
}

export function digest(name: HashName, data: Uint8Array): Buffer {
  return createHash(name).update(data).digest();
}
