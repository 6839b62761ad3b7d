import { createHash, randomInt } from 'node:crypto';
import { assertAgencyAccess, isPlatformAdmin, type Principal } from '../api-keys';
import type { CertificateAuthority } from '../ca';
import { signerFor, type KeyRouter } from '../crypto';
import { AppError, ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldError } from '../errors';
import { checkCreditCode } from '../identifiers';
import type { LogEvent, LogService } from '../log/service';
import { canonicalBytes } from '../log/jcs';
import { parseCertificate } from '../pki';
import type { SealRecord, SealService } from '../seals';
import type { SigningService } from '../signing/service';
import { newId } from '../store/ids';
import type { AgencyStore, CertificateStore, CounterStore, ListOptions, Page, SettingStore } from '../store/ports';
import { checkResidentId, formatLicenceIdentifier, parseLicenceIdentifier } from './identifier';
import { decodeCompactJws, joseAlgFor, signCompactJws, verifyJwsSignature, type JoseAlg } from './jws';
import { licenceTypeView, type LicenceTypeRegistry, type LoadedLicenceType } from './licence-types';
import type { LicenceLookupRecord, LicenceRecord, LicenceStore } from './ports';
import { encodeStatusList, STATUS_LIST_SIZE, type StatusPurpose } from './status-list';
import type { LicenceHolder, LicenceRenderer, LicenceStatus, LicenceType, PublicLicenceView, PublicLicenceViewer } from './types';

export interface LicenceDeps {
  licences: LicenceStore;
  types: LicenceTypeRegistry;
  seals: SealService;
  signing: SigningService;
  ca: CertificateAuthority;
  keys: KeyRouter;
  log: LogService;
  agencies: AgencyStore;
  certificates: CertificateStore;
  counters: CounterStore;
  settings: SettingStore;
  publicUrl: string;
  /** R's renderLicencePdf; without it, issuance is credential-only. */
  render?: LicenceRenderer;
  /** Max age verifiers may cache a status list for (seconds). */
  statusListMaxAge?: number;
  clock?: () => Date;
}

export interface IssueLicenceInput {
  type: string;
  sealId: string;
  holder: LicenceHolder;
  data: Record<string, unknown>;
  validFrom: string;
  validUntil?: string | null;
  /** Batch row key / retry key: a second request with the same key returns the first licence. */
  idempotencyKey?: string;
}

export interface IssueOptions {
  /** false: credential only, no PDF rendition (benchmarks, bulk). Default true when a renderer is configured. */
  pdf?: boolean;
}

export type IssuedLicence = LicenceRecord & { logIndex: number | null; replayed?: boolean };

/** Reasons a licence can be revoked with (final). */
export const LICENCE_REVOCATION_REASONS = ['revoked-by-issuer', 'holder-request', 'obtained-fraudulently', 'holder-dissolved', 'error-in-issuance', 'superseded'] as const;
export type LicenceRevocationReason = (typeof LICENCE_REVOCATION_REASONS)[number];

/** Fields a confirmation lookup always returns; face-data fields only when asked for by name. */
export interface LicenceConfirmation {
  id: string;
  identifier: string;
  type: string;
  licenceName: string;
  typeCode: string;
  holderName: string;
  issuer: { name: string; creditCode: string };
  status: 'valid';
  validFrom: string;
  validUntil: string | null;
  fields: Record<string, unknown>;
}

export interface LicenceVerification {
  signatureValid: boolean;
  /** What failed, when signatureValid is false (generic; no crypto detail). */
  problem?: string;
  status: PublicLicenceView['status'];
  /** Per status list entry in the credential: whether its bit is set now. */
  statusEntries?: { statusPurpose: StatusPurpose; statusListCredential: string; statusListIndex: string; set: boolean }[];
  licence?: Omit<PublicLicenceView, 'genuine' | 'status' | 'checkedAt'> & { id: string };
  checkedAt: string;
}

const VC_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY = 86_400_000;

interface StatusLists {
  revocation: string;
  suspension: string;
  sealId: string;
}
interface StatusListMeta {
  agencyCode: string;
  purpose: StatusPurpose;
  sealId: string;
}

const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** 张三 → 张*, 张三丰 → 张*丰, 杭州某某科技有限公司 → 杭州**有限公司-like: keep ends, mask the middle. */
export function maskHolderName(name: string, codeType: string): string {
  const chars = [...name];
  if (codeType === '001') {
    if (chars.length <= 4) return chars[0] + '*'.repeat(Math.max(1, chars.length - 1));
    const tail = chars.length >= 8 ? 4 : 2;
    return chars.slice(0, 2).join('') + '**' + chars.slice(chars.length - tail).join('');
  }
  if (chars.length <= 1) return '*';
  if (chars.length === 2) return chars[0] + '*';
  return chars[0] + '*'.repeat(chars.length - 2) + chars[chars.length - 1];
}

function dateOnly(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function isRealDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false;
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && dateOnly(d) === s;
}

/**
 * E-licences (SPEC capability 6, docs/licences.md): issuance with a GB/T 36904 identifier, a
 * sealed PDF rendition and a W3C VC 2.0 credential secured as a JWS by the seal's key, status
 * changes by compare-and-swap with a log entry each, Bitstring Status Lists, Art. 32
 * confirmation lookups and the public QR view.
 */
export class LicenceService implements PublicLicenceViewer {
  private readonly clock: () => Date;
  private readonly listCache = new Map<string, { jws: string; until: number }>();

  constructor(private readonly d: LicenceDeps) {
    this.clock = d.clock ?? (() => new Date());
  }

  get hasRenderer(): boolean {
    return this.d.render !== undefined;
  }

  get statusListMaxAge(): number {
    return this.d.statusListMaxAge ?? 300;
  }

  types(): LicenceType[] {
    return this.d.types.list().map(licenceTypeView);
  }

  private typeOrFail(id: string, pointer = '/type'): LoadedLicenceType {
    const t = this.d.types.get(id);
    if (!t) throw new ValidationError(`Unknown licence type ${id}`, [{ pointer, detail: 'is not a known licence type', code: 'UNKNOWN_LICENCE_TYPE' }], 'LICENCE_DATA_INVALID');
    return t;
  }

  /** Every problem with an issuance request, as field errors (empty when it is acceptable). */
  checkInput(t: LoadedLicenceType, input: Omit<IssueLicenceInput, 'type' | 'sealId'>): FieldError[] {
    const errors: FieldError[] = [];
    const h = input.holder;
    if (!t.holderCodeTypes.includes(h.codeType)) {
      errors.push({ pointer: '/holder/codeType', detail: `must be one of ${t.holderCodeTypes.join(', ')} for ${t.name}`, code: 'HOLDER_CODE_TYPE' });
    } else if (h.codeType === '001') {
      const p = checkCreditCode(h.code);
      if (p) errors.push({ pointer: '/holder/code', detail: `is not a valid unified social credit code (${p})`, code: `CREDIT_CODE_${p}` });
    } else if (h.codeType === '111') {
      const p = checkResidentId(h.code);
      if (p) errors.push({ pointer: '/holder/code', detail: `is not a valid resident identity number (${p})`, code: `RESIDENT_ID_${p}` });
    }
    if (!h.name.trim()) errors.push({ pointer: '/holder/name', detail: 'must not be blank', code: 'BLANK' });
    errors.push(...t.check(input.data));
    const from = input.validFrom;
    const until = input.validUntil ?? null;
    if (!isRealDate(from)) errors.push({ pointer: '/validFrom', detail: 'must be a date YYYY-MM-DD', code: 'FORMAT' });
    if (until !== null && !isRealDate(until)) errors.push({ pointer: '/validUntil', detail: 'must be a date YYYY-MM-DD or null', code: 'FORMAT' });
    if (until === null && t.validity.requiresValidUntil) errors.push({ pointer: '/validUntil', detail: `is required for ${t.name}`, code: 'REQUIRED' });
    if (isRealDate(from) && until !== null && isRealDate(until)) {
      const days = (Date.parse(until) - Date.parse(from)) / DAY;
      if (days < 0) errors.push({ pointer: '/validUntil', detail: 'is before validFrom', code: 'RANGE' });
      else if (t.validity.maxDays !== undefined && days > t.validity.maxDays) errors.push({ pointer: '/validUntil', detail: `is more than ${t.validity.maxDays} days after validFrom`, code: 'RANGE' });
    }
    return errors;
  }

  // ---- issuance ------------------------------------------------------------------------------

  async issue(actor: Principal, input: IssueLicenceInput, options: IssueOptions = {}): Promise<IssuedLicence> {
    if (!actor.roles.includes('counter')) throw new ForbiddenError('Issuing licences needs the counter role', 'FORBIDDEN_ROLE');
    if (actor.agencyCode === null) throw new ForbiddenError('Licences are issued by an agency key', 'FORBIDDEN_AGENCY');
    const t = this.typeOrFail(input.type);
    const errors = this.checkInput(t, input);
    if (errors.length) throw new ValidationError(`The licence data is invalid (${errors.length} problem${errors.length > 1 ? 's' : ''})`, errors, 'LICENCE_DATA_INVALID');
    const key = input.idempotencyKey === undefined ? null : `${actor.agencyCode}:${input.idempotencyKey}`;
    if (key) {
      const existing = await this.d.licences.getByIdempotencyKey(key);
      if (existing) return this.replay(existing, t, input);
    }
    const seal = await this.d.seals.assertUsable(actor, input.sealId);
    try {
      return await this.issueVersion(actor, t, seal, { ...input, validUntil: input.validUntil ?? null }, { idempotencyKey: key, previous: null }, options);
    } catch (e) {
      // A concurrent request with the same key won the unique index: answer with its licence.
      if (key && e instanceof ConflictError && e.code === 'DUPLICATE') {
        const existing = await this.d.licences.getByIdempotencyKey(key);
        if (existing) return this.replay(existing, t, input);
      }
      throw e;
    }
  }

  private replay(existing: LicenceRecord, t: LoadedLicenceType, input: IssueLicenceInput): IssuedLicence {
    if (existing.typeId !== t.id || existing.holderCode !== input.holder.code || existing.sealId !== input.sealId) {
      throw new ConflictError('This idempotency key was used for another licence', 'IDEMPOTENCY_KEY_REUSED');
    }
    return { ...existing, logIndex: null, replayed: true };
  }

  private async issueVersion(
    actor: Principal,
    t: LoadedLicenceType,
    seal: SealRecord,
    input: Omit<IssueLicenceInput, 'validUntil'> & { validUntil: string | null },
    link: { idempotencyKey: string | null; previous: LicenceRecord | null },
    options: IssueOptions,
  ): Promise<IssuedLicence> {
    const agency = await this.d.agencies.get(seal.agencyCode);
    if (!agency) throw new NotFoundError(`Agency ${seal.agencyCode}`);
    const certRecord = await this.d.certificates.get(seal.certificateSerial);
    if (!certRecord) throw new NotFoundError(`Certificate of seal ${seal.id}`);
    const sealCert = Buffer.from(certRecord.der, 'base64');
    const signer = await signerFor(this.d.keys, seal.keyId, { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode, purpose: 'licence-credential' });
    const alg = joseAlgFor(signer.algorithm);

    // Identifier: the serial comes from the store's monotonic counter (never handed out twice,
    // across processes and restarts); a renewal keeps the serial and bumps the version.
    let serial: string;
    let version: number;
    if (link.previous) {
      serial = link.previous.serial;
      version = link.previous.version + 1;
      if (version > 999) throw new ConflictError('This licence has reached version 999', 'STATE_CONFLICT');
    } else {
      const n = await this.d.counters.next(`licence-serial:${t.typeCode}:${agency.code}`);
      serial = String(n).padStart(10, '0');
      version = 1;
    }
    const identifier = formatLicenceIdentifier({ typeCode: t.typeCode, issuerCode: agency.code, serial, version: String(version).padStart(3, '0') });
    const now = this.clock();
    const issuedAt = now.toISOString();
    const id = newId('lic_', now.getTime());
    const lists = await this.statusLists(agency.code, seal.id);

    const qrToken = await signCompactJws(signer, { kid: seal.id }, { lid: id, idf: identifier, iat: Math.floor(now.getTime() / 1000) });
    const qrUrl = this.qrUrl(qrToken);

    let pdf: string | null = null;
    if (options.pdf !== false && this.d.render) {
      const rendered = await this.d.render({
        type: licenceTypeView(t),
        identifier,
        holder: input.holder,
        data: input.data,
        validFrom: input.validFrom,
        validUntil: input.validUntil,
        issuer: { name: agency.name, creditCode: agency.code },
        qrUrl,
        issuedAt,
      });
      const r = rendered.sealRect;
      const signed = await this.d.signing.sign(actor, {
        sealId: seal.id,
        format: 'pades',
        level: 'B-T',
        document: rendered.pdf,
        pades: { page: r.page, x: r.x, y: r.y, width: r.width, reason: `${t.name} ${identifier}` },
      });
      pdf = signed.bytes.toString('base64');
    }

    const event: LogEvent = {
      type: link.previous ? 'licence.renewed' : 'licence.issued',
      eventId: `licence.issued:${id}`,
      subject: { licenceId: id, identifier, agencyCode: agency.code, typeCode: t.typeCode, sealId: seal.id, version, previousId: link.previous?.id ?? null },
      digests: {
        holderCode: this.d.log.personalDigest(input.holder.code),
        data: sha256hex(canonicalBytes(input.data)),
        ...(pdf ? { pdfSha256: sha256hex(Buffer.from(pdf, 'base64')) } : {}),
      },
      actor: { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode },
      keyId: seal.keyId,
      details: { type: t.id, validFrom: input.validFrom, validUntil: input.validUntil },
    };
    // Log first: a licence never exists without its issuance entry (as for seals). A crash
    // between the two leaves an entry for a licence that was never stored; its identifier is
    // still never reused (the counter moved on).
    const receipt = await this.d.log.append(event);

    // Random status index (herd privacy); the store's unique (list, index) constraint decides
    // collisions, and a collision re-signs with another index.
    for (let attempt = 0; ; attempt++) {
      const statusIndex = randomInt(STATUS_LIST_SIZE);
      const credential = await this.signCredential(signer, alg, sealCert, {
        id,
        identifier,
        t,
        agency,
        holder: input.holder,
        data: input.data,
        validFrom: input.validFrom,
        validUntil: input.validUntil,
        issuedAt,
        lists,
        statusIndex,
        version,
        previousIdentifier: link.previous?.identifier ?? null,
        sealId: seal.id,
      });
      const record: LicenceRecord = {
        id,
        agencyCode: agency.code,
        typeId: t.id,
        typeCode: t.typeCode,
        identifier,
        serial,
        version,
        sealId: seal.id,
        holderName: input.holder.name,
        holderCodeType: input.holder.codeType,
        holderCode: input.holder.code,
        data: input.data,
        validFrom: input.validFrom,
        validUntil: input.validUntil,
        status: 'valid',
        revocationReason: null,
        revocationListId: lists.revocation,
        suspensionListId: lists.suspension,
        statusIndex,
        idempotencyKey: link.idempotencyKey,
        previousId: link.previous?.id ?? null,
        supersededBy: null,
        credential,
        qrToken,
        pdf,
        generation: 0,
        loggedGeneration: 0,
        issuedAt,
        updatedAt: issuedAt,
      };
      try {
        await this.d.licences.create(record);
        return { ...record, logIndex: receipt.index };
      } catch (e) {
        if (!(e instanceof ConflictError && e.code === 'DUPLICATE') || attempt >= 8) throw e;
        // Which constraint? An idempotency key or id taken is final; a status index is retried.
        if (link.idempotencyKey && (await this.d.licences.getByIdempotencyKey(link.idempotencyKey))) throw e;
        if (await this.d.licences.get(id)) throw e;
      }
    }
  }

  qrUrl(token: string): string {
    return `${this.d.publicUrl}/v/${token}`;
  }

  private statusListUrl(id: string): string {
    return `${this.d.publicUrl}/v1/status-lists/${id}`;
  }

  /** The agency's current pair of status lists (created on first use, race-free via putIfAbsent). */
  private async statusLists(agencyCode: string, sealId: string): Promise<StatusLists> {
    const key = `licence.statusLists.${agencyCode}`;
    const existing = await this.d.settings.get<StatusLists>(key);
    if (existing) return existing;
    const proposal: StatusLists = { revocation: newId('sl_'), suspension: newId('sl_'), sealId };
    const lists = await this.d.settings.putIfAbsent(key, proposal);
    for (const purpose of ['revocation', 'suspension'] as const) {
      await this.d.settings.putIfAbsent<StatusListMeta>(`licence.statusList.${lists[purpose]}`, { agencyCode, purpose, sealId: lists.sealId });
    }
    return lists;
  }

  private async signCredential(
    signer: Awaited<ReturnType<typeof signerFor>>,
    alg: JoseAlg,
    sealCert: Buffer,
    c: {
      id: string;
      identifier: string;
      t: LoadedLicenceType;
      agency: { code: string; name: string };
      holder: LicenceHolder;
      data: Record<string, unknown>;
      validFrom: string;
      validUntil: string | null;
      issuedAt: string;
      lists: StatusLists;
      statusIndex: number;
      version: number;
      previousIdentifier: string | null;
      sealId: string;
    },
  ): Promise<string> {
    const entry = (purpose: StatusPurpose) => ({
      id: `${this.statusListUrl(c.lists[purpose])}#${c.statusIndex}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: purpose,
      statusListIndex: String(c.statusIndex),
      statusListCredential: this.statusListUrl(c.lists[purpose]),
    });
    const vc = {
      '@context': [VC_CONTEXT],
      id: `urn:eseal:licence:${c.identifier}`,
      type: ['VerifiableCredential', 'ElectronicLicenceCredential'],
      name: c.t.name,
      issuer: { id: `urn:uscc:${c.agency.code}`, name: c.agency.name },
      validFrom: `${c.validFrom}T00:00:00+08:00`,
      ...(c.validUntil ? { validUntil: `${c.validUntil}T23:59:59+08:00` } : {}),
      credentialSubject: {
        id: c.holder.codeType === '001' ? `urn:uscc:${c.holder.code}` : `urn:eseal:holder:${c.holder.codeType}:${c.holder.code}`,
        type: 'LicenceHolder',
        name: c.holder.name,
        holderCodeType: c.holder.codeType,
        holderCode: c.holder.code,
        licence: {
          identifier: c.identifier,
          licenceId: c.id,
          type: c.t.id,
          typeCode: c.t.typeCode,
          name: c.t.name,
          version: c.version,
          definingAuthority: c.t.definingAuthority,
          issuedAt: c.issuedAt,
          ...(c.previousIdentifier ? { previousIdentifier: c.previousIdentifier } : {}),
          data: c.data,
        },
      },
      credentialStatus: [entry('revocation'), entry('suspension')],
      iss: `urn:uscc:${c.agency.code}`,
      jti: `urn:eseal:licence:${c.identifier}`,
      iat: Math.floor(Date.parse(c.issuedAt) / 1000),
    };
    const x5c = [sealCert, this.d.ca.issuing.der].map((b) => b.toString('base64'));
    return signCompactJws(signer, { typ: 'vc+jwt', cty: 'vc', kid: c.sealId, x5c }, vc);
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** A licence its own agency (or a platform admin) may see. */
  async get(actor: Principal, id: string): Promise<LicenceRecord> {
    const l = await this.d.licences.get(id);
    if (!l) throw new NotFoundError(`Licence ${id}`);
    assertAgencyAccess(actor, l.agencyCode);
    return l;
  }

  list(actor: Principal, q: ListOptions & { holderCode?: string; typeId?: string }): Promise<Page<LicenceRecord>> {
    if (isPlatformAdmin(actor)) return this.d.licences.list(q);
    if (actor.agencyCode === null) throw new ForbiddenError('Platform keys without the admin role list no licences', 'FORBIDDEN_ROLE');
    return this.d.licences.list({ ...q, agencyCode: actor.agencyCode });
  }

  // ---- status changes ------------------------------------------------------------------------

  suspend(actor: Principal, id: string): Promise<IssuedLicence> {
    return this.change(actor, id, ['valid'], 'suspended');
  }

  reinstate(actor: Principal, id: string): Promise<IssuedLicence> {
    return this.change(actor, id, ['suspended'], 'valid');
  }

  revoke(actor: Principal, id: string, reason: LicenceRevocationReason): Promise<IssuedLicence> {
    return this.change(actor, id, ['valid', 'suspended'], 'revoked', { revocationReason: reason });
  }

  /**
   * Renewal: a new version (same serial, version + 1, new identifier) issued with the same seal
   * unless another is given, linked both ways; the old version is revoked as 'superseded'.
   */
  async renew(
    actor: Principal,
    id: string,
    input: { sealId?: string; data?: Record<string, unknown>; validFrom?: string; validUntil?: string | null },
    options: IssueOptions = {},
  ): Promise<{ licence: IssuedLicence; previous: IssuedLicence }> {
    if (!actor.roles.includes('counter')) throw new ForbiddenError('Renewing licences needs the counter role', 'FORBIDDEN_ROLE');
    const old = await this.get(actor, id);
    if (old.status === 'revoked') throw new ConflictError(`Licence ${id} is revoked; it cannot be renewed`, 'LICENCE_REVOKED');
    const t = this.typeOrFail(old.typeId);
    const next = {
      type: t.id,
      sealId: input.sealId ?? old.sealId,
      holder: { name: old.holderName, codeType: old.holderCodeType, code: old.holderCode },
      data: input.data ?? old.data,
      validFrom: input.validFrom ?? dateOnly(this.clock()),
      validUntil: input.validUntil === undefined ? old.validUntil : input.validUntil,
    };
    const errors = this.checkInput(t, next);
    if (errors.length) throw new ValidationError('The renewed licence data is invalid', errors, 'LICENCE_DATA_INVALID');
    const seal = await this.d.seals.assertUsable(actor, next.sealId);
    // Resumable: a renewal interrupted after issuing the new version (crash before the old one
    // was revoked) finds that version by its identifier and only finishes the revocation. Two
    // concurrent renewals cannot both issue it: the identifier is unique in the store.
    const nextIdentifier = formatLicenceIdentifier({ typeCode: old.typeCode, issuerCode: old.agencyCode, serial: old.serial, version: String(old.version + 1).padStart(3, '0') });
    const earlier = await this.d.licences.getByIdentifier(nextIdentifier);
    const licence: IssuedLicence =
      earlier && earlier.previousId === old.id
        ? { ...earlier, logIndex: null, replayed: true }
        : await this.issueVersion(actor, t, seal, next, { idempotencyKey: null, previous: old }, options);
    const previous = await this.change(actor, id, ['valid', 'suspended'], 'revoked', { revocationReason: 'superseded', supersededBy: licence.id });
    return { licence, previous };
  }

  private async change(
    actor: Principal,
    id: string,
    from: LicenceStatus[],
    to: LicenceStatus,
    extra: { revocationReason?: string; supersededBy?: string } = {},
  ): Promise<IssuedLicence> {
    if (!actor.roles.includes('counter') && !isPlatformAdmin(actor)) throw new ForbiddenError('Changing a licence needs the counter role', 'FORBIDDEN_ROLE');
    const l = await this.get(actor, id);
    if (!from.includes(l.status)) {
      throw new ConflictError(`Licence ${id} is ${l.status}; it cannot become ${to}`, l.status === 'revoked' ? 'LICENCE_REVOKED' : 'STATE_CONFLICT');
    }
    const changed = await this.d.licences.transition(id, { status: l.status, generation: l.generation }, to, this.clock().toISOString(), extra);
    this.invalidateLists(changed);
    const receipt = await this.d.log.append(this.changeEvent(changed, { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode }));
    await this.d.licences.markLogged(id, changed.generation);
    return { ...changed, loggedGeneration: changed.generation, logIndex: receipt.index };
  }

  private changeEvent(l: LicenceRecord, actor: { apiKeyId: string | null; agencyCode: string | null }, repaired = false): LogEvent {
    const type = l.status === 'revoked' ? 'licence.revoked' : l.status === 'suspended' ? 'licence.suspended' : 'licence.reinstated';
    return {
      type,
      eventId: `${type}:${l.id}:g${l.generation}`,
      subject: { licenceId: l.id, identifier: l.identifier, agencyCode: l.agencyCode, status: l.status, generation: l.generation },
      actor,
      details: { ...(l.revocationReason ? { reason: l.revocationReason } : {}), ...(l.supersededBy ? { supersededBy: l.supersededBy } : {}), ...(repaired ? { repaired: true } : {}) },
    };
  }

  /** Start-up repair: a status change whose log entry a crash prevented is logged now, once. */
  async repair(): Promise<number> {
    const pending = await this.d.licences.listUnlogged();
    for (const l of pending) {
      await this.d.log.appendOnce(this.changeEvent(l, { apiKeyId: null, agencyCode: null }, true));
      await this.d.licences.markLogged(l.id, l.generation);
    }
    return pending.length;
  }

  private invalidateLists(l: LicenceRecord): void {
    this.listCache.delete(l.revocationListId);
    this.listCache.delete(l.suspensionListId);
  }

  // ---- status lists --------------------------------------------------------------------------

  /**
   * The signed BitstringStatusListCredential (compact JWS, typ vc+jwt). Bits are computed from
   * the licences' current status, so the list can never disagree with the records; the signed
   * list is cached for at most the advertised max age and dropped on every change here.
   */
  async statusListCredential(listId: string): Promise<{ jws: string; maxAge: number } | null> {
    const cached = this.listCache.get(listId);
    const nowMs = this.clock().getTime();
    if (cached && cached.until > nowMs) return { jws: cached.jws, maxAge: Math.max(0, Math.floor((cached.until - nowMs) / 1000)) };
    const meta = await this.d.settings.get<StatusListMeta>(`licence.statusList.${listId}`);
    if (!meta) return null;
    const agency = await this.d.agencies.get(meta.agencyCode);
    if (!agency) return null;
    const seal = await this.listSeal(meta);
    const certRecord = await this.d.certificates.get(seal.certificateSerial);
    const signer = await signerFor(this.d.keys, seal.keyId, { apiKeyId: null, agencyCode: meta.agencyCode, purpose: 'licence-status-list' });
    const indexes = await this.d.licences.statusIndexes(listId, meta.purpose);
    const now = new Date(nowMs);
    const maxAge = this.statusListMaxAge;
    const url = this.statusListUrl(listId);
    const vc = {
      '@context': [VC_CONTEXT],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: { id: `urn:uscc:${agency.code}`, name: agency.name },
      validFrom: now.toISOString(),
      validUntil: new Date(nowMs + maxAge * 1000).toISOString(),
      credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: meta.purpose, ttl: maxAge * 1000, encodedList: encodeStatusList(indexes) },
      iss: `urn:uscc:${agency.code}`,
      iat: Math.floor(nowMs / 1000),
    };
    const x5c = [Buffer.from(certRecord!.der, 'base64'), this.d.ca.issuing.der].map((b) => b.toString('base64'));
    const jws = await signCompactJws(signer, { typ: 'vc+jwt', cty: 'vc', kid: seal.id, x5c }, vc);
    this.listCache.set(listId, { jws, until: nowMs + maxAge * 1000 });
    return { jws, maxAge };
  }

  /** The seal that signs a list: the one it was created with, or another active seal of the agency. */
  private async listSeal(meta: StatusListMeta): Promise<SealRecord> {
    const usable = async (s: SealRecord | null) => {
      if (!s || s.status !== 'active') return false;
      const c = await this.d.certificates.get(s.certificateSerial);
      const now = this.clock().toISOString();
      return !!c && c.status === 'good' && c.notBefore <= now && c.notAfter >= now;
    };
    const first = await this.d.seals.get(null, meta.sealId).catch(() => null);
    if (first && (await usable(first))) return first;
    const system: Principal = { apiKeyId: 'system', agencyCode: meta.agencyCode, roles: ['admin'] };
    let cursor: string | null = null;
    do {
      const page: Page<SealRecord> = await this.d.seals.list(system, { limit: 500, cursor });
      for (const s of page.items) if ((await usable(s)) && ['ES256', 'RS256', 'PS256'].includes(s.algorithm)) return s;
      cursor = page.nextCursor;
    } while (cursor);
    throw new AppError('LICENCE_SEAL_UNSUITABLE', 'The issuing agency has no active seal to sign its status list with', { status: 503 });
  }

  // ---- confirmation (Art. 32) ----------------------------------------------------------------

  async confirm(
    actor: Principal,
    q: { holderCode: string; type?: string; purpose: string; fields?: string[] },
  ): Promise<{ items: LicenceConfirmation[]; lookupId: string; logIndex: number }> {
    const purpose = q.purpose.trim();
    if (purpose.length < 2) throw new ValidationError('State the purpose of the lookup', [{ pointer: '/purpose', detail: 'is required (at least 2 characters)', code: 'REQUIRED' }], 'LOOKUP_PURPOSE_REQUIRED');
    const t = q.type !== undefined ? this.typeOrFail(q.type, '/type') : undefined;
    const fields = q.fields ?? [];
    if (fields.length) {
      if (!t) throw new ValidationError('Face-data fields can be asked for only with a type', [{ pointer: '/fields', detail: 'needs type', code: 'REQUIRED' }], 'INVALID_QUERY');
      const props = Object.keys((t.schema as { properties?: object }).properties ?? {});
      const bad = fields.filter((f) => !props.includes(f));
      if (bad.length) throw new ValidationError('Unknown face-data fields', bad.map((f) => ({ pointer: '/fields', detail: `${f} is not a field of ${t.id}`, code: 'UNKNOWN_FIELD' })), 'INVALID_QUERY');
    }
    const today = dateOnly(this.clock());
    const found: LicenceRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<LicenceRecord> = await this.d.licences.list({ holderCode: q.holderCode, typeId: t?.id, status: 'valid', limit: 500, cursor });
      found.push(...page.items.filter((l) => l.validFrom <= today && (l.validUntil === null || l.validUntil >= today)));
      cursor = page.nextCursor;
    } while (cursor && found.length < 1000);
    const items: LicenceConfirmation[] = [];
    for (const l of found) {
      const lt = this.d.types.get(l.typeId);
      const agency = await this.d.agencies.get(l.agencyCode);
      items.push({
        id: l.id,
        identifier: l.identifier,
        type: l.typeId,
        licenceName: lt?.name ?? l.typeId,
        typeCode: l.typeCode,
        holderName: l.holderName,
        issuer: { name: agency?.name ?? '', creditCode: l.agencyCode },
        status: 'valid',
        validFrom: l.validFrom,
        validUntil: l.validUntil,
        fields: Object.fromEntries(fields.filter((f) => f in l.data).map((f) => [f, l.data[f]])),
      });
    }
    const lookupId = newId('lkp_');
    const holderDigest = this.d.log.personalDigest(q.holderCode);
    const returned = items.map((i) => i.id);
    // The record is the log entry: written (durably) before anything is returned.
    const receipt = await this.d.log.append({
      type: 'licence.lookup',
      eventId: `licence.lookup:${lookupId}`,
      subject: { lookupId, typeId: t?.id ?? null },
      digests: { holderCode: holderDigest },
      actor: { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode },
      details: { purpose, fields, returned },
    });
    const rec: LicenceLookupRecord = { id: lookupId, apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode, purpose, holderDigest, typeId: t?.id ?? null, returned, logIndex: receipt.index, at: this.clock().toISOString() };
    await this.d.licences.recordLookup(rec);
    return { items, lookupId, logIndex: receipt.index };
  }

  listLookups(actor: Principal, options: ListOptions): Promise<Page<LicenceLookupRecord>> {
    if (isPlatformAdmin(actor)) return this.d.licences.listLookups(options);
    return this.d.licences.listLookups({ ...options, agencyCode: actor.agencyCode });
  }

  // ---- verification --------------------------------------------------------------------------

  private statusOf(l: LicenceRecord, today: string): PublicLicenceView['status'] {
    if (l.status !== 'valid') return l.status;
    if (l.validUntil !== null && l.validUntil < today) return 'expired';
    if (l.validFrom > today) return 'unknown';
    return 'valid';
  }

  private async sealCertificateOf(sealId: unknown): Promise<{ seal: SealRecord; der: Buffer; spki: Buffer; alg: JoseAlg } | null> {
    if (typeof sealId !== 'string' || !/^seal_[0-9a-f]{28}$/.test(sealId)) return null;
    const seal = await this.d.seals.get(null, sealId).catch(() => null);
    if (!seal) return null;
    const c = await this.d.certificates.get(seal.certificateSerial);
    if (!c) return null;
    const der = Buffer.from(c.der, 'base64');
    let alg: JoseAlg;
    try {
      alg = joseAlgFor(seal.algorithm);
    } catch {
      return null;
    }
    return { seal, der, spki: parseCertificate(der).spki, alg };
  }

  private async publicFacts(l: LicenceRecord) {
    const t = this.d.types.get(l.typeId);
    const agency = await this.d.agencies.get(l.agencyCode);
    return {
      id: l.id,
      licenceName: t?.name ?? l.typeId,
      typeCode: l.typeCode,
      identifier: l.identifier,
      issuer: { name: agency?.name ?? '', creditCode: l.agencyCode },
      holderName: maskHolderName(l.holderName, l.holderCodeType),
      validFrom: l.validFrom,
      validUntil: l.validUntil,
      sealId: l.sealId,
      ...(l.status === 'revoked' && l.revocationReason ? { revocationReason: l.revocationReason } : {}),
    };
  }

  /** Checks a QR token: signature by the seal named in `kid`, and the licence it names. */
  async verifyToken(token: string): Promise<LicenceVerification> {
    const checkedAt = this.clock().toISOString();
    const fail = (problem: string): LicenceVerification => ({ signatureValid: false, problem, status: 'unknown', checkedAt });
    const d = decodeCompactJws(token);
    if (!d) return fail('MALFORMED');
    const cert = await this.sealCertificateOf(d.header.kid);
    if (!cert || !verifyJwsSignature(d, cert.spki, cert.alg)) return fail('SIGNATURE_INVALID');
    const { lid, idf } = d.payload;
    if (typeof lid !== 'string' || typeof idf !== 'string') return fail('MALFORMED');
    const l = await this.d.licences.get(lid);
    if (!l || l.identifier !== idf || l.sealId !== cert.seal.id || !parseLicenceIdentifier(idf)) return { signatureValid: true, status: 'unknown', checkedAt };
    const { revocationReason: _r, ...facts } = await this.publicFacts(l);
    return { signatureValid: true, status: this.statusOf(l, dateOnly(this.clock())), licence: { ...facts, ...(_r ? { revocationReason: _r } : {}) }, checkedAt };
  }

  /**
   * The licence a sealed licence PDF is, for verification reports: the identifier the renderer
   * writes into the signed revision's /Info /Keywords names the record, and the record must have
   * been sealed with the seal whose certificate signed the PDF. Undefined when the PDF is not one
   * of our licences (or names one that another seal signed).
   */
  async statusForSignedPdf(identifier: string, signerSerialHex: string): Promise<LicenceVerification | undefined> {
    if (!parseLicenceIdentifier(identifier)) return undefined;
    const l = await this.d.licences.getByIdentifier(identifier);
    if (!l) return undefined;
    const seal = await this.d.seals.get(null, l.sealId).catch(() => null);
    if (!seal || seal.certificateSerial !== signerSerialHex) return undefined;
    const { revocationReason: reason, ...facts } = await this.publicFacts(l);
    return { signatureValid: true, status: this.statusOf(l, dateOnly(this.clock())), licence: { ...facts, ...(reason ? { revocationReason: reason } : {}) }, checkedAt: this.clock().toISOString() };
  }

  async publicView(token: string): Promise<PublicLicenceView | null> {
    const v = await this.verifyToken(token);
    if (!v.signatureValid) return null;
    const checkedAt = v.checkedAt;
    if (!v.licence) {
      return { genuine: false, status: 'unknown', licenceName: '', typeCode: '', identifier: '', issuer: { name: '', creditCode: '' }, holderName: '', validFrom: '', validUntil: null, checkedAt };
    }
    const { id: _id, ...facts } = v.licence;
    return { genuine: true, status: v.status, ...facts, checkedAt };
  }

  /**
   * Checks a credential JWS: the x5c leaf must be one of our seal certificates (byte for byte,
   * as our CA issued it) and verify the signature; then each credentialStatus entry is looked up
   * in our status lists.
   */
  async verifyCredential(jws: string): Promise<LicenceVerification> {
    const checkedAt = this.clock().toISOString();
    const fail = (problem: string): LicenceVerification => ({ signatureValid: false, problem, status: 'unknown', checkedAt });
    const d = decodeCompactJws(jws);
    if (!d || d.header.typ !== 'vc+jwt') return fail('MALFORMED');
    const cert = await this.sealCertificateOf(d.header.kid);
    const x5c = d.header.x5c;
    if (!cert || !Array.isArray(x5c) || typeof x5c[0] !== 'string' || !Buffer.from(x5c[0], 'base64').equals(cert.der)) return fail('UNKNOWN_SIGNER');
    if (!verifyJwsSignature(d, cert.spki, cert.alg)) return fail('SIGNATURE_INVALID');
    const subject = (d.payload.credentialSubject ?? {}) as { licence?: { licenceId?: unknown; identifier?: unknown } };
    const lid = subject.licence?.licenceId;
    const l = typeof lid === 'string' ? await this.d.licences.get(lid) : null;
    if (!l || l.identifier !== subject.licence?.identifier || l.credential !== jws) return { signatureValid: true, status: 'unknown', checkedAt };
    const entries = Array.isArray(d.payload.credentialStatus) ? (d.payload.credentialStatus as Record<string, unknown>[]) : [];
    const statusEntries = [];
    for (const e of entries) {
      const purpose = e.statusPurpose as StatusPurpose;
      const listId = String(e.statusListCredential ?? '').split('/').pop() ?? '';
      const set = (await this.d.licences.statusIndexes(listId, purpose)).includes(Number(e.statusListIndex));
      statusEntries.push({ statusPurpose: purpose, statusListCredential: String(e.statusListCredential), statusListIndex: String(e.statusListIndex), set });
    }
    let status = this.statusOf(l, dateOnly(this.clock()));
    if (statusEntries.some((e) => e.statusPurpose === 'revocation' && e.set)) status = 'revoked';
    else if (status === 'valid' && statusEntries.some((e) => e.statusPurpose === 'suspension' && e.set)) status = 'suspended';
    return { signatureValid: true, status, statusEntries, licence: await this.publicFacts(l), checkedAt };
  }
}
