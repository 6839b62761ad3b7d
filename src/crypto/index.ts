import { createPublicKey, type KeyObject } from 'node:crypto';
import { getAlgorithm, type AlgorithmName } from './algorithms';
import type { KeyProvider, KeyUseContext, Signer } from './key-provider';
import { signFunctionFor } from './software-key-provider';

export * from './algorithms';
export type { KeyInfo, KeyProvider, KeyUseContext, Signer } from './key-provider';
export { loadMasterKey, parseMasterKey, MASTER_KEY_BYTES, type LoadMasterKeyOptions, type MasterKey } from './master-key';
export { SoftwareKeyProvider, type SoftwareKeyProviderOptions } from './software-key-provider';
export { KeyUseRecorder, type KeyUseRecorderOptions } from './key-use-recorder';
export { KeyRouter } from './key-router';
export { SM2_DEFAULT_USER_ID, Sm2PrivateKey, sm2PublicPoint, sm2Verify, sm3 } from './sm2';
export {
  Pkcs11KeyProvider,
  ecdsaRawToDer,
  type KeyAttributes,
  type Pkcs11KeyProviderOptions,
} from './pkcs11-key-provider';

/**
 * A Signer for the pure PKI layer, bound to one key and one use context (so every signature it
 * makes is recorded against that caller and purpose). Async because the algorithm and public
 * key come from the key store.
 */
export async function signerFor(provider: KeyProvider, keyId: string, context: KeyUseContext): Promise<Signer> {
  const info = await provider.info(keyId);
  return {
    algorithm: info.algorithm,
    publicKey: info.publicKey,
    sign: (data) => provider.sign(keyId, data, context),
  };
}

/** A Signer over a plain private KeyObject, for tests and tools; no use is recorded. */
export function keyObjectSigner(algorithm: AlgorithmName, privateKey: KeyObject): Signer {
  const spec = getAlgorithm(algorithm);
  const signWith = signFunctionFor(spec, privateKey);
  return {
    algorithm,
    publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
    sign: async (data) => signWith(data),
  };
}
