import { CertificateAuthority, TimeStampAuthority } from './ca';
import { KeyRouter, loadMasterKey, Pkcs11KeyProvider, SoftwareKeyProvider, type KeyProvider } from './crypto';
import type { Config } from './config';
import type { Stores } from './store/ports';

export interface Services {
  keys: KeyRouter;
  ca: CertificateAuthority;
  tsa: TimeStampAuthority;
  close(): Promise<void>;
}

/**
 * Everything that signs, built once at start: the key stores (software always; PKCS#11 when a
 * token is configured), the CA hierarchy (created on first start) and the TSA.
 */
export async function buildServices(
  config: Pick<Config, 'dataDir' | 'masterKey' | 'masterKeyFile' | 'publicUrl' | 'keyStore' | 'pkcs11' | 'tsaPolicy'>,
  stores: Stores,
  clock: () => Date = () => new Date(),
): Promise<Services> {
  const master = loadMasterKey({ value: config.masterKey, dataDir: config.dataDir, file: config.masterKeyFile });
  const providers: Partial<Record<'software' | 'pkcs11', KeyProvider>> = {
    software: new SoftwareKeyProvider({ masterKey: master.key, keys: stores.keys, keyUses: stores.keyUses, now: clock }),
  };
  if (config.pkcs11) {
    providers.pkcs11 = await Pkcs11KeyProvider.open({
      modulePath: config.pkcs11.modulePath,
      tokenLabel: config.pkcs11.tokenLabel,
      pin: config.pkcs11.pin,
      keys: stores.keys,
      keyUses: stores.keyUses,
      now: clock,
    });
  }
  const keys = new KeyRouter(providers, stores.keys, config.keyStore);
  const ca = await CertificateAuthority.open({ stores, keys, publicUrl: config.publicUrl, clock });
  const tsa = new TimeStampAuthority(ca, stores, keys, { policy: config.tsaPolicy ?? undefined }, clock);
  return { keys, ca, tsa, close: () => keys.close() };
}
