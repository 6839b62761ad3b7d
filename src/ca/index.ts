import { createHash, randomBytes } from 'node:crypto';
import { AppError, ConflictError, NotFoundError, ParseError } from '../errors';
import { signerFor, type AlgorithmName, type KeyProvider, type KeyUseContext } from '../crypto';
import {
  buildTimeStampRejection,
  buildTimeStampResp,
  checkTimeStampReq,
  parseTimeStampReq,
  buildCrl,
  buildOcspError,
  buildOcspResponse,
  getProfile,
  issueCertificate,
  matchCertId,
  readPublicKeyInfo,
  parseCertificate,
  parseOcspRequest,
  type CertificateProfile,
  type OcspSingleResponseInput,
  type ParsedCertificate,
  type ProfileName,
  type SubjectInput,
} from '../pki';
import type { LogEvent } from '../log/service';
import type { CertificateRecord, ListOptions, Page, RevocationReason, Stores } from '../store/ports';
import { newId } from '../store/ids';

/** Names of our CAs as stored in CertificateRecord.issuer ('sm2-…': the SM2 hierarchy). */
export type CaName = 'root' | 'issuing' | 'sm2-root' | 'sm2-issuing';

/**
 * The national-algorithm hierarchy (SM2-with-SM3 throughout): root, issuing CA and the platform's
 * GB/T 38540 seal-maker certificate. The SM2 issuing CA signs its own OCSP responses (RFC 6960
 * §2.6 allows the CA itself as responder), so there is no short-lived delegate to renew.
 */
interface Sm2HierarchyRecord {
  root: string;
  issuing: string;
  maker: string;
}
export type Sm2Hierarchy = Record<keyof Sm2HierarchyRecord, HeldCertificate>;
const SM2_SETTING = 'pki.hierarchy.sm2';

/** A standard profile restricted to SM2 (subject key and issuer signature alike). */
export function sm2Profile(name: ProfileName): CertificateProfile {
  return { ...getProfile(name), algorithms: ['SM2'] };
}

/** One certificate we hold the key for, loaded once. */
export interface HeldCertificate {
  der: Buffer;
  parsed: ParsedCertificate;
  keyId: string;
  serial: string;
}

interface HierarchyRecord {
  root: string;
  issuing: string;
  ocsp: string;
  tsa: string;
  log: string;
}

export interface CaOptions {
  stores: Stores;
  keys: KeyProvider;
  publicUrl: string;
  algorithm?: AlgorithmName;
  clock?: () => Date;
  random?: (n: number) => Buffer;
  /** How long a CRL is valid (nextUpdate − thisUpdate); it is re-signed well before. */
  crlValidityMs?: number;
  /** Re-sign the cached CRL when it is older than this (picks up other instances' revocations). */
  crlRefreshMs?: number;
}

const SETTING = 'pki.hierarchy';
const SYSTEM: Omit<KeyUseContext, 'purpose'> = { apiKeyId: null, agencyCode: null };

export interface IssueRequest {
  profile: ProfileName;
  subject: SubjectInput;
  /** The key to certify: already generated in a key store. */
  keyId: string;
  publicKey: Buffer;
  agencyCode: string | null;
  notAfter?: Date;
  actor: Omit<KeyUseContext, 'purpose'>;
}

/**
 * The certificate authority: a root (pathLen 1) and an issuing CA, plus the delegated OCSP
 * responder, TSA and log-signing certificates, all with keys in the key store. Pure PKI work is
 * delegated to src/pki; this module adds storage, keys, URLs and time.
 */
export class CertificateAuthority {
  readonly root: HeldCertificate;
  readonly issuing: HeldCertificate;
  /** Delegated certificates are renewed before they expire (see renewDelegates). */
  ocsp: HeldCertificate;
  tsa: HeldCertificate;
  log: HeldCertificate;
  private readonly clock: () => Date;
  private readonly random: (n: number) => Buffer;
  /** Every certificate each delegate has had, oldest first (verifiers of old checkpoints need them). */
  readonly history: Record<'ocsp' | 'tsa' | 'log', HeldCertificate[]> = { ocsp: [], tsa: [], log: [] };
  private events: EventSink | null = null;
  private crlCache = new Map<CaName, { der: Buffer; at: number; nextUpdate: number }>();
  private crlBuilding = new Map<CaName, Promise<Buffer>>();
  private sm2Held: Sm2Hierarchy | null = null;
  private sm2Loading: Promise<Sm2Hierarchy> | null = null;

  private constructor(
    private readonly options: CaOptions,
    held: Record<keyof HierarchyRecord, HeldCertificate>,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? randomBytes;
    this.root = held.root;
    this.issuing = held.issuing;
    this.ocsp = held.ocsp;
    this.tsa = held.tsa;
    this.log = held.log;
    for (const name of ['ocsp', 'tsa', 'log'] as const) this.history[name].push(held[name]);
  }

  /**
   * Connects the transparency log. Issuance is logged before the certificate is stored (an
   * unlogged certificate is never handed out); revocation after the compare-and-swap, with
   * repairRevocationEvents() appending any revocation a crash left unlogged.
   */
  attachEvents(sink: EventSink): void {
    this.events = sink;
  }

  /**
   * Loads the hierarchy, creating it on first start. Creation writes keys and certificates
   * first and the `pki.hierarchy` setting last (putIfAbsent): a crash before the setting, or a
   * second process racing the first start, leaves orphan keys and certificates under an
   * unreferenced root — never trusted, never used — and the setting names exactly one
   * hierarchy.
   */
  static async open(options: CaOptions): Promise<CertificateAuthority> {
    const { stores } = options;
    let record = await stores.settings.get<HierarchyRecord>(SETTING);
    if (!record) record = await stores.settings.putIfAbsent(SETTING, await createHierarchy(options));
    const held = {} as Record<keyof HierarchyRecord, HeldCertificate>;
    for (const name of Object.keys(record) as (keyof HierarchyRecord)[]) held[name] = await loadHeld(stores, record[name], name);
    const ca = new CertificateAuthority(options, held);
    await ca.renewDelegates();
    return ca;
  }

  /**
   * The OCSP responder certificate is short-lived (RFC 6960 §4.2.2.2.1: nocheck), and the TSA
   * and log certificates expire too: each is replaced by a new key and certificate when less
   * than a third of its lifetime remains. Generation k of delegate d is the setting
   * `pki.delegate.<d>.<k>`, written with putIfAbsent, so concurrent instances agree on one
   * successor; everyone uses the highest generation present. Called at start and hourly.
   */
  async renewDelegates(): Promise<void> {
    const { stores } = this.options;
    for (const name of ['ocsp', 'tsa', 'log'] as const) {
      // Adopt successors that another instance made.
      for (let k = 1; ; k++) {
        const serial = await stores.settings.get<string>(`pki.delegate.${name}.${k}`);
        if (!serial) {
          const current = this[name];
          const life = current.parsed.notAfter.getTime() - current.parsed.notBefore.getTime();
          if (current.parsed.notAfter.getTime() - this.clock().getTime() < life / 3) {
            const fresh = await this.issueDelegate(name);
            const winner = await stores.settings.putIfAbsent(`pki.delegate.${name}.${k}`, fresh);
            this[name] = await loadHeld(stores, winner, name);
            this.history[name].push(this[name]);
          }
          break;
        }
        this[name] = await loadHeld(stores, serial, name);
        if (!this.history[name].some((h) => h.serial === serial)) this.history[name].push(this[name]);
      }
    }
  }

  private async issueDelegate(name: 'ocsp' | 'tsa' | 'log'): Promise<string> {
    const profile: ProfileName = name === 'ocsp' ? 'ocsp-signing' : name === 'tsa' ? 'timestamping' : 'log-signing';
    const previous = this[name].parsed;
    // Same algorithm as the certificate it replaces.
    const algorithm = (await this.options.keys.info(this[name].keyId)).algorithm;
    const key = await this.options.keys.generate(algorithm, { label: `${profile} renewal`, agencyCode: null });
    const now = this.clock();
    const der = await issueCertificate({
      profile,
      subject: { cn: previous.subject.fields.cn ?? `eseal ${name}`, o: 'eseal', c: 'CN' },
      subjectPublicKey: key.publicKey,
      issuer: { certificate: this.issuing.der, signer: await signerFor(this.options.keys, this.issuing.keyId, { ...SYSTEM, purpose: 'certificate' }) },
      serial: this.random(16),
      notBefore: now,
      urls: name === 'ocsp' ? { caIssuers: this.urls().caIssuers } : this.urls(),
    });
    const rec = await this.options.stores.certificates.create(toRecord(der, 'issuing', profile, null, key.id, now));
    return rec.serial;
  }

  /** The chain a relying party needs: issuing CA, then root. */
  chain(): Buffer[] {
    return [this.issuing.der, this.root.der];
  }

  /**
   * The SM2 hierarchy, created on first use (the first SM2 seal) rather than at every start, so
   * deployments that never use the national algorithms hold no SM2 keys. Creation is
   * race-safe like the main hierarchy's: keys and certificates first, the setting last with
   * putIfAbsent; a loser's certificates stay orphaned and untrusted.
   */
  async sm2(): Promise<Sm2Hierarchy> {
    if (this.sm2Held) return this.sm2Held;
    if (!this.sm2Loading) {
      this.sm2Loading = (async () => {
        const { stores } = this.options;
        let record = await stores.settings.get<Sm2HierarchyRecord>(SM2_SETTING);
        if (!record) record = await stores.settings.putIfAbsent(SM2_SETTING, await createSm2Hierarchy(this.options));
        const held = {} as Sm2Hierarchy;
        for (const name of Object.keys(record) as (keyof Sm2HierarchyRecord)[]) held[name] = await loadHeld(stores, record[name], `sm2 ${name}`);
        this.sm2Held = held;
        return held;
      })().finally(() => {
        this.sm2Loading = null;
      });
    }
    return this.sm2Loading;
  }

  /** The SM2 hierarchy if it has been created (never creates it). */
  async sm2IfCreated(): Promise<Sm2Hierarchy | null> {
    if (this.sm2Held) return this.sm2Held;
    return (await this.options.stores.settings.get<Sm2HierarchyRecord>(SM2_SETTING)) ? this.sm2() : null;
  }

  /** The SM2 chain: issuing CA, then root. */
  async sm2Chain(): Promise<Buffer[]> {
    const h = await this.sm2();
    return [h.issuing.der, h.root.der];
  }

  private urls(sm2 = false) {
    const base = this.options.publicUrl;
    if (sm2) return { crl: `${base}/v1/pki/crl/sm2`, ocsp: `${base}/v1/pki/ocsp`, caIssuers: `${base}/v1/pki/ca/sm2-issuing.crt` };
    return { crl: `${base}/v1/pki/crl`, ocsp: `${base}/v1/pki/ocsp`, caIssuers: `${base}/v1/pki/ca/issuing.crt` };
  }

  /**
   * Issues a certificate and stores it (serial unique by store constraint): SM2 keys from the
   * SM2 issuing CA under the SM2 variant of the profile, every other key from the issuing CA.
   */
  async issue(req: IssueRequest): Promise<CertificateRecord & { logIndex?: number }> {
    const now = this.clock();
    let isSm2 = false;
    try {
      isSm2 = readPublicKeyInfo(req.publicKey).namedCurve === 'SM2';
    } catch {
      // issueCertificate reports the unusable key with its own code.
    }
    const issuerHeld = isSm2 ? (await this.sm2()).issuing : this.issuing;
    const issuerName: CaName = isSm2 ? 'sm2-issuing' : 'issuing';
    const signer = await signerFor(this.options.keys, issuerHeld.keyId, { ...req.actor, purpose: 'certificate' });
    for (let attempt = 0; ; attempt++) {
      const der = await issueCertificate({
        profile: isSm2 ? sm2Profile(req.profile) : req.profile,
        subject: req.subject,
        subjectPublicKey: req.publicKey,
        issuer: { certificate: issuerHeld.der, signer },
        serial: this.random(16),
        notBefore: now,
        notAfter: req.notAfter,
        urls: this.urls(isSm2),
      });
      const record = toRecord(der, issuerName, req.profile, req.agencyCode, req.keyId, now);
      if (await this.options.stores.certificates.get(record.serial)) {
        // 128 random bits collide only by accident or a broken RNG: draw once more, then fail.
        if (attempt >= 1) throw new ConflictError('Could not draw an unused serial number', 'DUPLICATE');
        continue;
      }
      try {
        const receipt = await this.events?.append(issuedEvent(record, der, req.actor, issuerHeld.keyId));
        const stored = await this.options.stores.certificates.create(record);
        return receipt ? Object.assign(stored, { logIndex: receipt.index }) : stored;
      } catch (e) {
        // 128 random bits collide only by accident or by a broken RNG; retry once, then fail.
        if (!(e instanceof ConflictError && e.code === 'DUPLICATE') || attempt >= 1) throw e;
      }
    }
  }

  /** By serial as encoded, or as tools print it (without the 00 that keeps a DER INTEGER positive). */
  async get(serial: string): Promise<CertificateRecord> {
    const hex = serial.toLowerCase();
    const c =
      (await this.options.stores.certificates.get(hex)) ??
      (/^[89a-f]/.test(hex) ? await this.options.stores.certificates.get('00' + hex) : null);
    if (!c) throw new NotFoundError(`Certificate ${serial}`);
    return c;
  }

  list(options: ListOptions & { agencyCode?: string | null }): Promise<Page<CertificateRecord>> {
    return this.options.stores.certificates.list({ ...options, issuer: 'issuing' });
  }

  /** Compare-and-swap revocation; the CRL is re-signed at once. */
  async revoke(serial: string, reason: RevocationReason, actor: Omit<KeyUseContext, 'purpose'> = SYSTEM): Promise<CertificateRecord & { logIndex?: number }> {
    const rec = await this.get(serial);
    const sm2 = rec.issuer === 'sm2-issuing' ? await this.sm2() : null;
    const infrastructure = [this.ocsp.serial, this.tsa.serial, this.log.serial, ...(sm2 ? [sm2.maker.serial] : [])];
    if ((rec.issuer !== 'issuing' && rec.issuer !== 'sm2-issuing') || infrastructure.includes(rec.serial)) {
      throw new ConflictError('Infrastructure certificates are not revoked through this API', 'STATE_CONFLICT');
    }
    const revoked = await this.options.stores.certificates.revoke(rec.serial, this.clock().toISOString(), reason);
    this.crlCache.delete(rec.issuer as CaName);
    const receipt = await this.events?.append(revokedEvent(revoked, actor));
    return receipt ? Object.assign(revoked, { logIndex: receipt.index }) : revoked;
  }

  /** Start-up repair: a revocation whose log entry a crash prevented is logged now (once). Returns how many were checked. */
  async repairRevocationEvents(): Promise<number> {
    if (!this.events) return 0;
    let n = 0;
    for (const ca of ['issuing', 'root', 'sm2-issuing', 'sm2-root'] as const) {
      for (const rec of await this.options.stores.certificates.listRevoked(ca)) {
        await this.events.appendOnce(revokedEvent(rec, { apiKeyId: null, agencyCode: null }));
        n++;
      }
    }
    return n;
  }

  /**
   * The current CRL of `ca` (DER), re-signed when stale or after a revocation here.
   * `notBefore`: the CRL's thisUpdate must not be earlier (validation data for a signature must
   * be issued after the signature's time-stamp, ETSI EN 319 102-1 §5.6.2.3).
   */
  async crl(ca: CaName = 'issuing', notBefore?: Date): Promise<Buffer> {
    const now = this.clock().getTime();
    const cached = this.crlCache.get(ca);
    const refresh = this.options.crlRefreshMs ?? 60_000;
    const freshEnough = !notBefore || (cached !== undefined && cached.at >= notBefore.getTime());
    if (cached && freshEnough && now - cached.at < refresh && now < cached.nextUpdate - refresh) return cached.der;
    let building = this.crlBuilding.get(ca);
    if (!building) {
      building = this.buildCrl(ca).finally(() => this.crlBuilding.delete(ca));
      this.crlBuilding.set(ca, building);
    }
    return building;
  }

  private async buildCrl(ca: CaName): Promise<Buffer> {
    const held =
      ca === 'root' ? this.root : ca === 'issuing' ? this.issuing : ca === 'sm2-root' ? (await this.sm2()).root : (await this.sm2()).issuing;
    const thisUpdate = this.clock();
    const validity = this.options.crlValidityMs ?? 24 * 3600_000;
    const nextUpdate = new Date(thisUpdate.getTime() + validity);
    const revoked = await this.options.stores.certificates.listRevoked(ca);
    // CRL numbers come from a store counter: strictly increasing across restarts and instances.
    const crlNumber = await this.options.stores.counters.next(`crl-number:${ca}`);
    const der = await buildCrl({
      issuerCertificate: held.der,
      signer: await signerFor(this.options.keys, held.keyId, { ...SYSTEM, purpose: 'crl' }),
      crlNumber,
      thisUpdate,
      nextUpdate,
      revoked: revoked.map((r) => ({ serial: r.serial, revokedAt: new Date(r.revokedAt!), reason: r.revocationReason ?? 'unspecified' })),
    });
    this.crlCache.set(ca, { der, at: thisUpdate.getTime(), nextUpdate: nextUpdate.getTime() });
    return der;
  }

  /**
   * Answers an OCSP request (RFC 6960) with a response signed by the delegated responder.
   * Never throws for bad input: a malformed request gets `malformedRequest`.
   */
  async respondOcsp(requestDer: Buffer): Promise<Buffer> {
    let req;
    try {
      req = parseOcspRequest(requestDer);
    } catch (e) {
      if (e instanceof ParseError || e instanceof AppError) return buildOcspError('malformedRequest');
      throw e;
    }
    const now = this.clock();
    const nextUpdate = new Date(now.getTime() + 3600_000);
    const responses: OcspSingleResponseInput[] = [];
    // One response has one responder: the SM2 hierarchy's when the request asks only about SM2
    // certificates, the main one otherwise (certificates of the other hierarchy get `unknown`).
    const sm2 = await this.sm2IfCreated();
    const useSm2 = !!sm2 && req.certIds.some((c) => !!c.hashAlgorithm && matchCertId(c, sm2.issuing.parsed)) &&
      !req.certIds.some((c) => !!c.hashAlgorithm && matchCertId(c, this.issuing.parsed));
    const delegator = useSm2 ? sm2!.issuing : this.issuing;
    const responder = useSm2 ? sm2!.issuing : this.ocsp;
    const delegatorName: CaName = useSm2 ? 'sm2-issuing' : 'issuing';
    for (const certId of req.certIds) {
      // We answer only for certificates of the responder's delegator.
      if (!certId.hashAlgorithm || !matchCertId(certId, delegator.parsed)) {
        responses.push({ certId, status: { type: 'unknown' }, thisUpdate: now, nextUpdate });
        continue;
      }
      const rec = await this.options.stores.certificates.get(certId.serialHex);
      const status: OcspSingleResponseInput['status'] =
        !rec || rec.issuer !== delegatorName
          ? { type: 'unknown' }
          : rec.status === 'revoked'
            ? { type: 'revoked', revokedAt: new Date(rec.revokedAt!), reason: rec.revocationReason ?? undefined }
            : { type: 'good' };
      responses.push({ certId, status, thisUpdate: now, nextUpdate });
    }
    return buildOcspResponse({
      responderCertificate: responder.der,
      signer: await signerFor(this.options.keys, responder.keyId, { ...SYSTEM, purpose: 'ocsp' }),
      producedAt: now,
      responses,
      nonce: req.nonce,
      includeCertificates: [responder.der],
    });
  }
}

/** Where CA events go (the transparency log); kept as a port so src/ca does not import src/log. */
export interface EventSink {
  append(event: CaEvent): Promise<{ index: number; eventId: string }>;
  appendOnce(event: CaEvent): Promise<{ index: number; eventId: string }>;
}

/** CA events are transparency-log events (type only: src/ca does not depend on the log at run time). */
export type CaEvent = LogEvent;

export function issuedEvent(rec: CertificateRecord, der: Buffer, actor: Omit<KeyUseContext, 'purpose'>, issuerKeyId: string | null): CaEvent {
  return {
    type: 'certificate.issued',
    eventId: `certificate.issued:${rec.serial}`,
    subject: { serial: rec.serial, profile: rec.profile, issuer: rec.issuer, agencyCode: rec.agencyCode, keyId: rec.keyId },
    digests: { sha256: createHash('sha256').update(der).digest('hex') },
    actor: { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode },
    keyId: issuerKeyId,
    details: { subject: rec.subject, notBefore: rec.notBefore, notAfter: rec.notAfter },
  };
}

function revokedEvent(rec: CertificateRecord, actor: Omit<KeyUseContext, 'purpose'>): CaEvent {
  return {
    type: 'certificate.revoked',
    eventId: `certificate.revoked:${rec.serial}`,
    subject: { serial: rec.serial, issuer: rec.issuer, agencyCode: rec.agencyCode },
    digests: { sha256: createHash('sha256').update(Buffer.from(rec.der, 'base64')).digest('hex') },
    actor: { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode },
    keyId: null,
    details: { reason: rec.revocationReason, revokedAt: rec.revokedAt },
  };
}

async function loadHeld(stores: Stores, serial: string, name: string): Promise<HeldCertificate> {
  const rec = await stores.certificates.get(serial);
  if (!rec || !rec.keyId) throw new AppError('INTERNAL', `PKI certificate ${name} (${serial}) is missing from the store`);
  const der = Buffer.from(rec.der, 'base64');
  return { der, parsed: parseCertificate(der), keyId: rec.keyId, serial: rec.serial };
}

function toRecord(
  der: Buffer,
  issuer: CaName,
  profile: ProfileName,
  agencyCode: string | null,
  keyId: string,
  now: Date,
): CertificateRecord {
  const p = parseCertificate(der);
  return {
    serial: p.serialHex,
    issuer,
    profile,
    subject: p.subject.text,
    agencyCode,
    keyId,
    notBefore: p.notBefore.toISOString(),
    notAfter: p.notAfter.toISOString(),
    der: der.toString('base64'),
    status: 'good',
    revokedAt: null,
    revocationReason: null,
    createdAt: now.toISOString(),
  };
}

async function createHierarchy(options: CaOptions): Promise<HierarchyRecord> {
  const { keys, stores, publicUrl } = options;
  const clock = options.clock ?? (() => new Date());
  const random = options.random ?? randomBytes;
  const algorithm = options.algorithm ?? 'ES256';
  const now = clock();
  const generation = newId('');
  const make = async (
    profile: ProfileName,
    cn: string,
    issuer: { der: Buffer; keyId: string; name: CaName } | null,
    urls?: { crl?: string; ocsp?: string; caIssuers?: string },
  ) => {
    const key = await keys.generate(algorithm, { label: `${profile} ${generation}`, agencyCode: null });
    const signerKey = issuer ? issuer.keyId : key.id;
    const signer = await signerFor(keys, signerKey, { ...SYSTEM, purpose: 'certificate' });
    const der = await issueCertificate({
      profile,
      subject: { cn, o: 'eseal', c: 'CN' },
      subjectPublicKey: key.publicKey,
      issuer: issuer ? { certificate: issuer.der, signer } : { selfSigned: true, signer },
      serial: random(16),
      notBefore: now,
      urls,
    });
    const rec = await stores.certificates.create(toRecord(der, issuer ? issuer.name : 'root', profile, null, key.id, now));
    return { der, keyId: key.id, serial: rec.serial };
  };
  const root = await make('root-ca', 'eseal Root CA', null);
  const rootRef = { der: root.der, keyId: root.keyId, name: 'root' as const };
  const issuing = await make('issuing-ca', 'eseal Issuing CA', rootRef, {
    crl: `${publicUrl}/v1/pki/crl/root`,
    caIssuers: `${publicUrl}/v1/pki/ca/root.crt`,
  });
  const issuingRef = { der: issuing.der, keyId: issuing.keyId, name: 'issuing' as const };
  const leafUrls = { crl: `${publicUrl}/v1/pki/crl`, caIssuers: `${publicUrl}/v1/pki/ca/issuing.crt` };
  const ocsp = await make('ocsp-signing', 'eseal OCSP Responder', issuingRef, { caIssuers: leafUrls.caIssuers });
  const tsa = await make('timestamping', 'eseal Time-Stamping Authority', issuingRef, { ...leafUrls, ocsp: `${publicUrl}/v1/pki/ocsp` });
  const log = await make('log-signing', 'eseal Transparency Log', issuingRef, { ...leafUrls, ocsp: `${publicUrl}/v1/pki/ocsp` });
  return { root: root.serial, issuing: issuing.serial, ocsp: ocsp.serial, tsa: tsa.serial, log: log.serial };
}

/**
 * Creates the SM2 hierarchy: SM2 keys in the software key store (PKCS#11 SM2 is out of scope),
 * certificates signed with SM2-with-SM3 under the SM2 variants of the standard profiles.
 */
async function createSm2Hierarchy(options: CaOptions): Promise<Sm2HierarchyRecord> {
  const { keys, stores, publicUrl } = options;
  const clock = options.clock ?? (() => new Date());
  const random = options.random ?? randomBytes;
  const now = clock();
  const generation = newId('');
  const make = async (
    profile: ProfileName,
    cn: string,
    issuer: { der: Buffer; keyId: string; name: CaName } | null,
    urls?: { crl?: string; ocsp?: string; caIssuers?: string },
    override?: { profile: CertificateProfile; validityDays: number },
  ) => {
    // A variable, not a literal: KeyRouter reads keyStore, a bare provider ignores it.
    const generateOptions = { label: `sm2 ${profile} ${generation}`, agencyCode: null, keyStore: 'software' as const };
    const key = await keys.generate('SM2', generateOptions);
    const signer = await signerFor(keys, issuer ? issuer.keyId : key.id, { ...SYSTEM, purpose: 'certificate' });
    const der = await issueCertificate({
      profile: override?.profile ?? sm2Profile(profile),
      subject: { cn, o: 'eseal', c: 'CN' },
      subjectPublicKey: key.publicKey,
      issuer: issuer ? { certificate: issuer.der, signer } : { selfSigned: true, signer },
      serial: random(16),
      notBefore: now,
      notAfter: override ? new Date(now.getTime() + override.validityDays * 86400_000) : undefined,
      urls,
    });
    const rec = await stores.certificates.create(toRecord(der, issuer ? issuer.name : 'sm2-root', profile, null, key.id, now));
    return { der, keyId: key.id, serial: rec.serial };
  };
  const root = await make('root-ca', 'eseal SM2 Root CA', null);
  const issuing = await make('issuing-ca', 'eseal SM2 Issuing CA', { der: root.der, keyId: root.keyId, name: 'sm2-root' }, {
    crl: `${publicUrl}/v1/pki/crl/sm2-root`,
    caIssuers: `${publicUrl}/v1/pki/ca/sm2-root.crt`,
  });
  const issuingRef = { der: issuing.der, keyId: issuing.keyId, name: 'sm2-issuing' as const };
  const caIssuers = `${publicUrl}/v1/pki/ca/sm2-issuing.crt`;
  // The platform's seal maker (制章者): signs GB/T 38540 SESeal structures. The seal profile's
  // key usage (digitalSignature + nonRepudiation) in the platform's name (no credit code), for
  // the profile's maximum validity (renewal of the maker is not automated yet: docs/ses.md).
  const maker = await make('seal', 'eseal Seal Maker', issuingRef, { crl: `${publicUrl}/v1/pki/crl/sm2`, ocsp: `${publicUrl}/v1/pki/ocsp`, caIssuers }, {
    profile: { ...sm2Profile('seal'), requiredSubject: ['cn', 'o'], description: 'The platform seal maker: signs GB/T 38540 seals.' },
    validityDays: getProfile('seal').maxValidityDays,
  });
  return { root: root.serial, issuing: issuing.serial, maker: maker.serial };
}

/**
 * Default TSA policy OID: an X.667 UUID-based OID (2.25.<UUID as integer>) allocated for eseal,
 * since the project has no registered arc. Deployments set ESEAL_TSA_POLICY to their own.
 * UUID f15be2da-331a-44c8-bbed-e3186c605ae5.
 */
export const DEFAULT_TSA_POLICY = '2.25.320821047110416740467165142254794857189';

export interface TsaOptions {
  policy?: string;
  acceptedPolicies?: string[];
}

/**
 * The RFC 3161 time-stamping authority: key and certificate from the CA, serial numbers from a
 * store counter (unique across restarts and instances), genTime from the clock.
 */
export class TimeStampAuthority {
  constructor(
    private readonly ca: CertificateAuthority,
    private readonly stores: Stores,
    private readonly keys: KeyProvider,
    private readonly options: TsaOptions = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get policy(): string {
    return this.options.policy ?? DEFAULT_TSA_POLICY;
  }

  /** Answers a DER TimeStampReq with a DER TimeStampResp; bad requests get a rejection. */
  async respond(requestDer: Buffer, actor: Omit<KeyUseContext, 'purpose'> = SYSTEM): Promise<{ der: Buffer; granted: boolean }> {
    let request;
    try {
      request = parseTimeStampReq(requestDer);
    } catch (e) {
      if (e instanceof AppError) return { der: buildTimeStampRejection('badDataFormat', 'malformed TimeStampReq'), granted: false };
      throw e;
    }
    const policy = { defaultPolicy: this.policy, acceptedPolicies: this.options.acceptedPolicies };
    const check = checkTimeStampReq(request, policy);
    if (!check.ok) return { der: buildTimeStampRejection(check.failInfo, check.text), granted: false };
    const serial = BigInt(await this.stores.counters.next('tsa-serial'));
    const result = await buildTimeStampResp({
      request,
      tsaCertificate: this.ca.tsa.der,
      chain: this.ca.chain(),
      signer: await signerFor(this.keys, this.ca.tsa.keyId, { ...actor, purpose: 'timestamp' }),
      serial,
      genTime: this.clock(),
      policy,
      accuracy: { seconds: 1 },
    });
    return { der: result.der, granted: result.granted };
  }
}
