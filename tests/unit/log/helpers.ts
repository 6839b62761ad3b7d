import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NoteSigner } from '../../../src/log';

export const VECTORS = join(__dirname, '..', '..', 'vectors', 'log');

export function readVector<T>(...path: string[]): T {
  return JSON.parse(readFileSync(join(VECTORS, ...path), 'utf8')) as T;
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** A NoteSigner over a local private key, standing in for the key store. */
export function keySigner(privateKey: KeyObject): NoteSigner {
  const type = privateKey.asymmetricKeyType;
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (type === 'ed25519') {
    return { algorithm: 'Ed25519', publicKey, sign: async (data) => cryptoSign(null, data, privateKey) };
  }
  if (type === 'ec') {
    return { algorithm: 'ES256', publicKey, sign: async (data) => cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'der' }) };
  }
  throw new Error(`unsupported test key ${String(type)}`);
}

export function newEd25519(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export function newP256(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

/** Ed25519 private key from a 32-byte RFC 8032 seed. */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

/** Runs `fn` and returns the AppError-style code it threw (or fails the test). */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  throw new Error('expected an error');
}

export function syncCodeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  throw new Error('expected an error');
}
