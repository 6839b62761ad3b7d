import type { AlgorithmName } from './algorithms';

/** Who is using a key and why: every sign() call carries one, and it is recorded. */
export interface KeyUseContext {
  apiKeyId: string | null;
  agencyCode: string | null;
  /** e.g. 'certificate', 'crl', 'ocsp', 'timestamp', 'cades', 'log-checkpoint'. */
  purpose: string;
}

export interface KeyInfo {
  id: string;
  algorithm: AlgorithmName;
  keyStore: 'software' | 'pkcs11';
  /** SubjectPublicKeyInfo DER. */
  publicKey: Buffer;
}

/**
 * Key store port. A private key is generated inside the store and never leaves it: there is no
 * export method, and implementations never log or return key material.
 */
export interface KeyProvider {
  readonly kind: 'software' | 'pkcs11';
  generate(algorithm: AlgorithmName, options: { label: string; agencyCode: string | null }): Promise<KeyInfo>;
  info(keyId: string): Promise<KeyInfo>;
  /**
   * Signs `data` (the message, hashed by the algorithm's digest inside). ECDSA signatures are
   * DER `Ecdsa-Sig-Value` (as X.509 and CMS carry them). The use is recorded with `context`.
   */
  sign(keyId: string, data: Buffer, context: KeyUseContext): Promise<Buffer>;
  close?(): Promise<void>;
}

/**
 * What the pure PKI layer needs to sign: an algorithm, the public key, and a sign function.
 * Built from a KeyProvider + key id + use context, or from a plain KeyObject in tests.
 */
export interface Signer {
  algorithm: AlgorithmName;
  publicKey: Buffer;
  sign(data: Buffer): Promise<Buffer>;
}
