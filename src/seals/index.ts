import { assertAgencyAccess, isPlatformAdmin, type Principal } from '../api-keys';
import type { CertificateAuthority } from '../ca';
import type { AlgorithmName, KeyRouter } from '../crypto';
import { AppError, ConflictError, ForbiddenError, NotFoundError } from '../errors';
import type { LogEvent, LogService } from '../log/service';
import { creditCodeOrganizationIdentifier, type SubjectInput } from '../pki';
import { newId } from '../store/ids';
import type { Agency, AgencyStore, CertificateStore, ListOptions, Page, RevocationReason, SettingStore } from '../store/ports';
import { signerFor } from '../crypto';
import { parseSESeal, type SESeal } from '../asn1';
import { makeSeal } from '../ses/make';
import { createHash } from 'node:crypto';
import { sealAppearance, sealPurpose, toPng, type SealText } from './appearance';
import type { SealKind, SealRecord, SealStatus, SealStore } from './ports';

export * from './ports';
export * from './appearance';

/** The subject of an agency's seal certificate: its name, and its credit code (ETSI NTR form). */
export function sealSubject(agency: Agency, commonName?: string): SubjectInput {
  return {
    cn: (commonName ?? agency.name).slice(0, 64),
    o: agency.name.slice(0, 64),
    organizationIdentifier: creditCodeOrganizationIdentifier(agency.code),
    c: 'CN',
  };
}

export interface NewSeal {
  agencyCode: string;
  name: string;
  kind: SealKind;
  algorithm: AlgorithmName;
  keyStore?: 'software' | 'pkcs11';
  validDays?: number;
}

export interface SealDeps {
  seals: SealStore;
  agencies: AgencyStore;
  certificates: CertificateStore;
  ca: CertificateAuthority;
  keys: KeyRouter;
  log: LogService;
  /** Where made GB/T 38540 seals are kept (immutable once written); needed for SM2 seals only. */
  settings?: SettingStore;
  clock?: () => Date;
}

/** Pixels per millimetre of the seal picture embedded in an SESeal (≈ 254 dpi). */
const SES_PICTURE_PX_PER_MM = 10;

const actorOf = (p: Principal | null) => ({ apiKeyId: p?.apiKeyId ?? null, agencyCode: p?.agencyCode ?? null });

function sealEvent(type: string, s: SealRecord, actor: { apiKeyId: string | null; agencyCode: string | null }, details?: Record<string, unknown>): LogEvent {
  return {
    type,
    eventId: `${type}:${s.id}:g${s.generation}`,
    subject: { sealId: s.id, agencyCode: s.agencyCode, certificateSerial: s.certificateSerial, status: s.status, generation: s.generation },
    actor,
    keyId: s.keyId,
    details: { name: s.name, kind: s.kind, ...details },
  };
}

const EVENT_FOR: Record<SealStatus, string> = { active: 'seal.reinstated', suspended: 'seal.suspended', revoked: 'seal.revoked' };

/**
 * Agency seals: a key in the key store, a seal certificate from the CA, and a status. Only the
 * owning agency's keys (or platform admins, for administration) see or change a seal; only its
 * signer/counter keys sign with it, and only while it is active.
 */
export class SealService {
  private readonly clock: () => Date;

  constructor(private readonly d: SealDeps) {
    this.clock = d.clock ?? (() => new Date());
  }

  async create(actor: Principal, input: NewSeal): Promise<SealRecord & { logIndex: number }> {
    assertAgencyAccess(actor, input.agencyCode);
    const agency = await this.d.agencies.get(input.agencyCode);
    if (!agency) {
      throw new AppError('UNKNOWN_AGENCY', `Agency ${input.agencyCode} is not registered`, { errors: [{ pointer: '/agencyCode', detail: 'no agency with this code' }] });
    }
    const key = await this.d.keys.generate(input.algorithm, { label: `seal ${input.name}`, agencyCode: agency.code, keyStore: input.keyStore });
    const now = this.clock();
    const cert = await this.d.ca.issue({
      profile: 'seal',
      subject: sealSubject(agency, input.name),
      keyId: key.id,
      publicKey: key.publicKey,
      agencyCode: agency.code,
      notAfter: input.validDays ? new Date(now.getTime() + input.validDays * 86400_000) : undefined,
      actor: actorOf(actor),
    });
    const seal: SealRecord = {
      id: newId('seal_'),
      agencyCode: agency.code,
      name: input.name,
      kind: input.kind,
      algorithm: input.algorithm,
      keyStore: key.keyStore,
      keyId: key.id,
      certificateSerial: cert.serial,
      status: 'active',
      generation: 0,
      loggedGeneration: 0,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    // Log first: a seal record never exists without its creation entry.
    const receipt = await this.d.log.append(sealEvent('seal.created', seal, actorOf(actor)));
    await this.d.seals.create(seal);
    return { ...seal, logIndex: receipt.index };
  }

  /** Reads a seal the caller may see: its own agency's, or any for platform admins. */
  async get(actor: Principal | null, id: string): Promise<SealRecord> {
    const s = await this.d.seals.get(id);
    if (!s) throw new NotFoundError(`Seal ${id}`);
    if (actor) assertAgencyAccess(actor, s.agencyCode);
    return s;
  }

  /**
   * The seal whose certificate has this serial (as encoded, lower-case hex), for verification
   * reports: public facts only (id, name, agency). The certificate record names the agency; its
   * seals are few, so they are scanned rather than indexed by serial.
   */
  async bySerial(serialHex: string): Promise<{ id: string; name: string; agencyCode: string } | undefined> {
    const cert = await this.d.certificates.get(serialHex);
    if (!cert || cert.profile !== 'seal' || !cert.agencyCode) return undefined;
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page: Page<SealRecord> = await this.d.seals.list({ agencyCode: cert.agencyCode, limit: 500, cursor });
      const s = page.items.find((x) => x.certificateSerial === serialHex);
      if (s) return { id: s.id, name: s.name, agencyCode: s.agencyCode };
      if (!page.nextCursor) return undefined;
      cursor = page.nextCursor;
    }
    return undefined;
  }

  /** What the seal's appearance shows (same access as get): its agency's name and its purpose. */
  async appearanceInput(actor: Principal | null, id: string): Promise<SealText> {
    const s = await this.get(actor, id);
    const agency = await this.d.agencies.get(s.agencyCode);
    if (!agency) throw new NotFoundError(`Agency ${s.agencyCode} of seal ${id}`);
    return { agencyName: agency.name, sealName: sealPurpose(agency.name, s.name) };
  }

  list(actor: Principal, options: ListOptions & { agencyCode?: string }): Promise<Page<SealRecord>> {
    if (!isPlatformAdmin(actor)) {
      if (options.agencyCode !== undefined) assertAgencyAccess(actor, options.agencyCode);
      if (actor.agencyCode === null) throw new ForbiddenError('Platform keys without the admin role list no seals', 'FORBIDDEN_ROLE');
      return this.d.seals.list({ ...options, agencyCode: actor.agencyCode });
    }
    return this.d.seals.list(options);
  }

  async certificate(actor: Principal | null, id: string): Promise<Buffer> {
    const s = await this.get(actor, id);
    const c = await this.d.certificates.get(s.certificateSerial);
    if (!c) throw new NotFoundError(`Certificate of seal ${id}`);
    return Buffer.from(c.der, 'base64');
  }

  /**
   * The seal's GB/T 38540 SESeal (DER), made on first request and kept for good: header "ES"
   * version 4, the seal's certificate as the one authorised signer, validity = the
   * certificate's, the appearance as a PNG at its real size in mm, signed by the platform's seal
   * maker (SM2 hierarchy). SM2 seals only. Same access as get().
   */
  async sesSeal(actor: Principal | null, id: string): Promise<SESeal> {
    const s = await this.get(actor, id);
    if (s.algorithm !== 'SM2') throw new AppError('SES_REQUIRES_SM2', `Seal ${id} is not an SM2 seal`);
    const settings = this.d.settings;
    if (!settings) throw new AppError('INTERNAL', 'No setting store for GB/T 38540 seals');
    const key = `ses.seal.${s.id}`;
    const stored = await settings.get<string>(key);
    if (stored) return parseSESeal(Buffer.from(stored, 'base64'));

    const cert = await this.d.certificates.get(s.certificateSerial);
    if (!cert) throw new NotFoundError(`Certificate of seal ${id}`);
    const maker = (await this.d.ca.sm2()).maker;
    const look = sealAppearance(await this.appearanceInput(actor, id));
    const made = await makeSeal({
      vid: 'eseal',
      esID: s.id,
      type: 1,
      name: s.name,
      signerCertificates: [Buffer.from(cert.der, 'base64')],
      createDate: this.clock(),
      validStart: new Date(cert.notBefore),
      validEnd: new Date(cert.notAfter),
      picture: { type: 'PNG', data: toPng(look.svg, Math.round(look.sizeMm * SES_PICTURE_PX_PER_MM)), width: Math.round(look.sizeMm), height: Math.round(look.sizeMm) },
      makerCertificate: maker.der,
      maker: await signerFor(this.d.keys, maker.keyId, { ...actorOf(actor), purpose: 'ses-seal' }),
    });
    // putIfAbsent: concurrent first requests agree on one seal; the log names the one kept.
    const winner = Buffer.from(await settings.putIfAbsent(key, made.der.toString('base64')), 'base64');
    await this.d.log.appendOnce({
      type: 'ses.seal.made',
      eventId: `ses.seal.made:${s.id}`,
      subject: { sealId: s.id, agencyCode: s.agencyCode, certificateSerial: s.certificateSerial },
      digests: { sha256: createHash('sha256').update(winner).digest('hex') },
      actor: actorOf(actor),
      keyId: maker.keyId,
      details: { esID: s.id, maker: maker.serial },
    });
    return parseSESeal(winner);
  }

  suspend(actor: Principal, id: string): Promise<SealRecord & { logIndex: number }> {
    return this.change(actor, id, ['active'], 'suspended');
  }

  reinstate(actor: Principal, id: string): Promise<SealRecord & { logIndex: number }> {
    return this.change(actor, id, ['suspended'], 'active');
  }

  /** Revokes the seal, then its certificate (RFC 5280 reason), then logs. */
  async revoke(actor: Principal, id: string, reason: RevocationReason = 'cessationOfOperation'): Promise<SealRecord & { logIndex: number }> {
    return this.change(actor, id, ['active', 'suspended'], 'revoked', reason);
  }

  private async change(actor: Principal, id: string, from: SealStatus[], to: SealStatus, reason?: RevocationReason): Promise<SealRecord & { logIndex: number }> {
    const s = await this.get(actor, id);
    if (!from.includes(s.status)) {
      throw new ConflictError(`Seal ${id} is ${s.status}; it cannot become ${to}`, s.status === 'revoked' ? 'SEAL_REVOKED' : 'STATE_CONFLICT');
    }
    const changed = await this.d.seals.transition(id, { status: s.status, generation: s.generation }, to, this.clock().toISOString());
    if (to === 'revoked') await this.revokeCertificate(changed, reason ?? 'cessationOfOperation', actor);
    const receipt = await this.d.log.append(sealEvent(EVENT_FOR[to], changed, actorOf(actor), reason ? { reason } : undefined));
    await this.d.seals.markLogged(id, changed.generation);
    return { ...changed, loggedGeneration: changed.generation, logIndex: receipt.index };
  }

  private async revokeCertificate(seal: SealRecord, reason: RevocationReason, actor: Principal | null): Promise<void> {
    try {
      await this.d.ca.revoke(seal.certificateSerial, reason, actorOf(actor));
    } catch (e) {
      if (!(e instanceof ConflictError && e.code === 'ALREADY_REVOKED')) throw e;
    }
  }

  /**
   * Start-up repair (see docs/consistency.md): a status change whose log entry a crash
   * prevented is logged now, once; a revoked seal whose certificate is still good is revoked.
   */
  async repair(): Promise<number> {
    const pending = await this.d.seals.listUnlogged();
    for (const s of pending) {
      if (s.status === 'revoked') {
        const c = await this.d.certificates.get(s.certificateSerial);
        if (c?.status === 'good') await this.revokeCertificate(s, 'cessationOfOperation', null);
      }
      await this.d.log.appendOnce(sealEvent(EVENT_FOR[s.status], s, { apiKeyId: null, agencyCode: null }, { repaired: true }));
      await this.d.seals.markLogged(s.id, s.generation);
    }
    return pending.length;
  }

  /**
   * The seal a signing request may use: the caller's own agency's, with the signer or counter
   * role, active, and with a certificate valid now.
   */
  async assertUsable(actor: Principal, id: string): Promise<SealRecord> {
    if (!actor.roles.includes('signer') && !actor.roles.includes('counter')) {
      throw new ForbiddenError('Signing with a seal needs the signer or counter role', 'FORBIDDEN_ROLE');
    }
    const s = await this.d.seals.get(id);
    if (!s) throw new NotFoundError(`Seal ${id}`);
    if (actor.agencyCode !== s.agencyCode) throw new ForbiddenError("This API key may not use another agency's seal", 'FORBIDDEN_AGENCY');
    if (s.status === 'suspended') throw new ConflictError(`Seal ${id} is suspended`, 'SEAL_SUSPENDED');
    if (s.status === 'revoked') throw new ConflictError(`Seal ${id} is revoked`, 'SEAL_REVOKED');
    const c = await this.d.certificates.get(s.certificateSerial);
    const now = this.clock().toISOString();
    if (!c || c.status !== 'good' || c.notAfter < now || c.notBefore > now) {
      throw new ConflictError(`The certificate of seal ${id} is not valid now`, 'SEAL_CERTIFICATE_INVALID');
    }
    return s;
  }
}
