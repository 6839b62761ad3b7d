import { AppError } from '../errors';
import type { KeyRecordStore } from '../store/ports';
import type { AlgorithmName } from './algorithms';
import type { KeyInfo, KeyProvider, KeyUseContext } from './key-provider';

/**
 * One KeyProvider over the configured stores: new keys go to the default store (or the one
 * asked for), and each existing key is used through the store that holds it, as its record says.
 */
export class KeyRouter implements KeyProvider {
  readonly kind: 'software' | 'pkcs11';

  constructor(
    private readonly providers: Partial<Record<'software' | 'pkcs11', KeyProvider>>,
    private readonly records: KeyRecordStore,
    defaultKind: 'software' | 'pkcs11',
  ) {
    if (!providers[defaultKind]) throw new Error(`key store ${defaultKind} is not configured`);
    this.kind = defaultKind;
  }

  has(kind: 'software' | 'pkcs11'): boolean {
    return this.providers[kind] !== undefined;
  }

  private provider(kind: 'software' | 'pkcs11'): KeyProvider {
    const p = this.providers[kind];
    if (!p) throw new AppError('KEY_STORE_UNAVAILABLE', `The ${kind} key store is not configured`);
    return p;
  }

  generate(algorithm: AlgorithmName, options: { label: string; agencyCode: string | null; keyStore?: 'software' | 'pkcs11' }): Promise<KeyInfo> {
    return this.provider(options.keyStore ?? this.kind).generate(algorithm, options);
  }

  private async providerFor(keyId: string): Promise<KeyProvider> {
    const rec = await this.records.get(keyId);
    if (!rec) throw new AppError('KEY_UNAVAILABLE', 'The key could not be used');
    return this.provider(rec.keyStore);
  }

  async info(keyId: string): Promise<KeyInfo> {
    return (await this.providerFor(keyId)).info(keyId);
  }

  async sign(keyId: string, data: Buffer, context: KeyUseContext): Promise<Buffer> {
    return (await this.providerFor(keyId)).sign(keyId, data, context);
  }

  async close(): Promise<void> {
    for (const p of Object.values(this.providers)) await p?.close?.();
  }
}
