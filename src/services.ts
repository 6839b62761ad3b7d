import fs from 'node:fs';
import { CertificateAuthority, issuedEvent, TimeStampAuthority } from './ca';
import { LoggedKeyUseStore } from './log/key-use-log';
import { SealService } from './seals';
import { SigningService } from './signing/service';
import { Verifier } from './verify/engine';
import { ArchiveService, type ArchiveOptions } from './archive/service';
import { buildLicenceServices, type AnnotatedCopyService, type LicenceService } from './licences';
import { archiveOptionsFromEnv } from './archive/config';
import { RevocationChecker } from './verify/revocation';
import { LogService, originFor } from './log/service';
import { KeyRouter, loadMasterKey, Pkcs11KeyProvider, signerFor, SoftwareKeyProvider, type KeyProvider } from './crypto';
import type { Config } from './config';
import type { ParsedCertificate } from './pki/certificate';
import type { Stores } from './store/ports';

export interface Services {
  keys: KeyRouter;
  ca: CertificateAuthority;
  tsa: TimeStampAuthority;
  log: LogService;
  seals: SealService;
  signing: SigningService;
  verifier: Verifier;
  archive: ArchiveService;
  licences: LicenceService;
  annotatedCopies: AnnotatedCopyService;
  close(): Promise<void>;
}

/**
 * Everything that signs, built once at start: the key stores (software always; PKCS#11 when a
 * token is configured), the CA hierarchy (created on first start) and the TSA.
 */
export async function buildServices(
  config: Pick<Config, 'dataDir' | 'masterKey' | 'masterKeyFile' | 'publicUrl' | 'keyStore' | 'pkcs11' | 'tsaPolicy' | 'logCheckpointIntervalMs'> &
    Partial<Pick<Config, 'trustAnchorFiles' | 'revocationMode' | 'revocationHosts' | 'revocationTimeoutMs'>> & { archive?: ArchiveOptions },
  stores: Stores,
  clock: () => Date = () => new Date(),
): Promise<Services> {
  const master = loadMasterKey({ value: config.masterKey, dataDir: config.dataDir, file: config.masterKeyFile });
  const keyUses = new LoggedKeyUseStore(stores.keyUses);
  const providers: Partial<Record<'software' | 'pkcs11', KeyProvider>> = {
    software: new SoftwareKeyProvider({ masterKey: master.key, keys: stores.keys, keyUses, now: clock }),
  };
  if (config.pkcs11) {
    providers.pkcs11 = await Pkcs11KeyProvider.open({
      modulePath: config.pkcs11.modulePath,
      tokenLabel: config.pkcs11.tokenLabel,
      pin: config.pkcs11.pin,
      keys: stores.keys,
      keyUses,
      now: clock,
    });
  }
  const keys = new KeyRouter(providers, stores.keys, config.keyStore);
  const ca = await CertificateAuthority.open({ stores, keys, publicUrl: config.publicUrl, clock });
  const tsa = new TimeStampAuthority(ca, stores, keys, { policy: config.tsaPolicy ?? undefined }, clock);

  const log = await LogService.open({
    store: stores.log,
    settings: stores.settings,
    origin: originFor(config.publicUrl),
    clock,
    key: async () => ({
      certificate: ca.log.der,
      publicKey: ca.log.parsed.spki,
      signer: await signerFor(keys, ca.log.keyId, { apiKeyId: null, agencyCode: null, purpose: 'log-checkpoint' }),
    }),
    verifierKeys: () => ca.history.log.map((h) => h.parsed.spki),
  });
  // Genesis: the log starts with the trust root it is anchored in.
  if (log.treeSize === 0) {
    await log.appendOnce({ type: 'log.created', eventId: 'log.created', subject: { origin: log.origin }, actor: { apiKeyId: null, agencyCode: null } });
    for (const held of [ca.root, ca.issuing, ...ca.history.ocsp, ...ca.history.tsa, ...ca.history.log]) {
      const rec = await stores.certificates.get(held.serial);
      if (rec) await log.appendOnce(issuedEvent(rec, held.der, { apiKeyId: null, agencyCode: null }, null));
    }
  }
  ca.attachEvents(log);
  keyUses.attach(log);
  await ca.repairRevocationEvents();
  const seals = new SealService({ seals: stores.seals, agencies: stores.agencies, certificates: stores.certificates, ca, keys, log, settings: stores.settings, clock });
  await seals.repair();
  const signing = new SigningService({ seals, ca, tsa, keys, log, certificates: stores.certificates, clock });
  const verifier = buildVerifier(config, stores, ca, seals, clock);
  const archive = new ArchiveService(
    { archive: stores.archive, agencies: stores.agencies, counters: stores.counters, certificates: stores.certificates, seals: stores.seals, verifier, tsa, ca, keys, log, clock },
    config.archive ?? archiveOptionsFromEnv(),
  );
  // Records stored but not yet sealed (crash, TSA failure) get their archive timestamp now.
  await archive.repair();
  const { licences, annotatedCopies } = await buildLicenceServices({ stores, seals, signing, ca, keys, log, publicUrl: config.publicUrl, clock });
  verifier.attachLicences(licences);
  if (config.logCheckpointIntervalMs > 0) log.startCheckpointing(config.logCheckpointIntervalMs, () => undefined);
  return {
    keys,
    ca,
    tsa,
    log,
    seals,
    signing,
    verifier,
    archive,
    licences,
    annotatedCopies,
    async close() {
      await archive.close();
      log.stopCheckpointing();
      await log.flush();
      await keys.close();
    },
  };
}

/**
 * The verifier: our root CA plus configured (ESEAL_TRUST_ANCHORS), given (`extraAnchors`, e.g.
 * `eseal verify --trust`) and imported anchors; our issuing CA and delegates as known
 * intermediates; revocation of our own certificates answered by our CA directly (the data its
 * OCSP responder and CRLs serve), others from the document's DSS or, online, from allowed hosts.
 */
export function buildVerifier(
  config: Partial<Pick<Config, 'trustAnchorFiles' | 'revocationMode' | 'revocationHosts' | 'revocationTimeoutMs'>>,
  stores: Pick<Stores, 'trustAnchors'>,
  ca: CertificateAuthority,
  seals: SealService,
  clock: () => Date = () => new Date(),
  extraAnchors: Buffer[] = [],
): Verifier {
  const fileAnchors = (config.trustAnchorFiles ?? []).flatMap((f) => {
    try {
      return Verifier.anchorsFrom(fs.readFileSync(f));
    } catch (e) {
      throw new Error(`ESEAL_TRUST_ANCHORS: ${f} is not a readable PEM or DER certificate file (${(e as Error).message})`);
    }
  });
  const ours = (der: Buffer) => (c: ParsedCertificate) => c.der.equals(der);
  const revocation = new RevocationChecker({
    mode: config.revocationMode ?? 'online',
    allowHosts: config.revocationHosts ?? [],
    timeoutMs: config.revocationTimeoutMs ?? 5000,
    clock,
    local: {
      ocsp: (request) => ca.respondOcsp(request),
      crl: async (issuer) => {
        if (ours(ca.issuing.der)(issuer)) return ca.crl('issuing');
        if (ours(ca.root.der)(issuer)) return ca.crl('root');
        // The SM2 hierarchy (GB/T 38540 seals), once created.
        const sm2 = await ca.sm2IfCreated();
        if (sm2 && ours(sm2.issuing.der)(issuer)) return ca.crl('sm2-issuing');
        if (sm2 && ours(sm2.root.der)(issuer)) return ca.crl('sm2-root');
        return undefined;
      },
    },
  });
  return new Verifier({
    trustAnchors: [ca.root.der, ...fileAnchors, ...extraAnchors],
    intermediates: [ca.issuing.der, ...ca.history.tsa.map((h) => h.der), ...ca.history.ocsp.map((h) => h.der)],
    moreTrustAnchors: async () => {
      // Our SM2 root, once the SM2 hierarchy exists (it is created with the first SM2 seal).
      const sm2 = await ca.sm2IfCreated();
      return [...(sm2 ? [sm2.root.der] : []), ...(await stores.trustAnchors.list({ limit: 500 })).items.map((a) => Buffer.from(a.der, 'base64'))];
    },
    moreIntermediates: async () => {
      const sm2 = await ca.sm2IfCreated();
      return sm2 ? [sm2.issuing.der] : [];
    },
    revocation,
    clock,
    seals,
  });
}
