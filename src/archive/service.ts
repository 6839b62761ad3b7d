import { createHash, randomBytes } from 'node:crypto';
import { assertAgencyAccess, isPlatformAdmin, type Principal } from '../api-keys';
import type { CertificateAuthority, TimeStampAuthority } from '../ca';
import { signerFor, type KeyProvider } from '../crypto';
import { getAlgorithm } from '../crypto/algorithms';
import { AppError, ConflictError, ForbiddenError, NotFoundError } from '../errors';
import type { LogService } from '../log/service';
import { readPdf } from '../pdf/reader';
import { parseTimeStampToken } from '../pki/tsp-token';
import { parseTimeStampResp } from '../pki/tsp-token';
import { buildTimeStampReq } from '../pki/tsp';
import type { SealStore } from '../seals/ports';
import { newId } from '../store/ids';
import type { AgencyStore, CertificateStore, CounterStore, Page } from '../store/ports';
import type { VerificationReport } from '../verify/report';
import { runFilingChecks } from './checks';
import { buildEep, buildSignedObject } from './eep';
import { encodeEvidenceRecord, type ArchiveTimeStampValue } from './evidence-record';
import { buildHashTree, hashOf } from './hash-tree';
import { buildPackage } from './package';
import type { ArchiveBatch, ArchiveMetadata, ArchiveRecord, ArchiveRecordQuery, ArchiveStore, ArchiveTimestamp, ReverificationRecord } from './ports';

export interface ArchiveVerifier {
  verifyPdf(bytes: Buffer): Promise<VerificationReport>;
}

export interface ArchiveOptions {
  /** Batch window: a batch closes this long after its first record … */
  windowMs?: number;
  /** … or when it holds this many records, whichever comes first. */
  maxBatch?: number;
  /** Registration-number format per fonds; `*` is the default. Tokens: {fonds} {year} {retention} {agency} {seq:N}. */
  codeFormats?: Record<string, string>;
  /** Name written into packages as 档案馆名称 / 封装包创建单位. */
  archiveName?: string;
  /** Renew a batch's evidence when its newest TSA certificate expires within this many days. */
  renewBeforeDays?: number;
}

export const DEFAULT_CODE_FORMAT = '{fonds}-{year}-{retention}-{seq:6}';
/** DA/T 13 retention codes in archival codes. */
const RETENTION_CODE: Record<ArchiveMetadata['retention'], string> = { permanent: 'Y', '30y': 'D30', '10y': 'D10' };

export interface ArchiveDeps {
  archive: ArchiveStore;
  agencies: AgencyStore;
  counters: CounterStore;
  certificates: CertificateStore;
  seals: SealStore;
  verifier: ArchiveVerifier;
  tsa: Pick<TimeStampAuthority, 'respond'>;
  ca: Pick<CertificateAuthority, 'chain' | 'history'>;
  keys: KeyProvider;
  log: Pick<LogService, 'append' | 'appendOnce'>;
  clock?: () => Date;
}

export interface FileInput {
  bytes: Buffer;
  mediaType: string;
  metadata: ArchiveMetadata;
  /** Admins only: file despite failed checks, with the reason recorded. */
  force?: { reason: string };
  /** The record's agency; defaults to the caller's (platform keys must give it). */
  agencyCode?: string;
}

/** A record as the API shows it: everything but the file bytes. */
export type ArchiveRecordView = Omit<ArchiveRecord, 'content'>;
export function toView(r: ArchiveRecord): ArchiveRecordView {
  const { content: _c, ...rest } = r;
  return rest;
}

const SYSTEM = { apiKeyId: null, agencyCode: null };
const actorOf = (p: Principal | null) => ({ apiKeyId: p?.apiKeyId ?? null, agencyCode: p?.agencyCode ?? null });

interface Pending {
  record: ArchiveRecord;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The e-archive (Art. 33): filing with the DA/T 70 checks, registration numbers, batched
 * RFC 4998 archive timestamps, re-verification, evidence renewal and DA/T 48 packages.
 *
 * Filing order: checks → registration number (store counter) → log entry → record stored
 * ('pending-evidence', durable) → the record joins the open batch; when the window closes the
 * batch's hash-tree root gets one RFC 3161 timestamp, the batch is stored and each record is
 * sealed with its reduced hash tree ('sealed'). file() waits for its batch to close, so the
 * caller normally gets a sealed record; if timestamping fails it gets the pending record and
 * repair() (run at start) batches it again.
 */
export class ArchiveService {
  private readonly clock: () => Date;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Archive timestamps requested so far by this process (the bench reports it). */
  timestampsUsed = 0;

  constructor(
    private readonly d: ArchiveDeps,
    private readonly options: ArchiveOptions = {},
  ) {
    this.clock = d.clock ?? (() => new Date());
    this.windowMs = options.windowMs ?? 1000;
    this.maxBatch = options.maxBatch ?? 1000;
  }

  async file(actor: Principal, input: FileInput): Promise<ArchiveRecordView> {
    // An agency's archivist files for its own agency; a platform admin names the agency.
    const agencyCode = input.agencyCode ?? actor.agencyCode;
    if (!agencyCode) {
      throw new AppError('VALIDATION_FAILED', 'A platform key must name the agency the record belongs to', { errors: [{ pointer: '/agencyCode', detail: 'is required for platform keys' }] });
    }
    assertAgencyAccess(actor, agencyCode);
    const agency = await this.d.agencies.get(agencyCode);
    if (!agency) throw new AppError('UNKNOWN_AGENCY', `Agency ${agencyCode} is not registered`);
    if (input.force && !actor.roles.includes('admin')) {
      throw new AppError('ARCHIVE_FORCE_NOT_ALLOWED', 'Only an admin may force a filing');
    }
    if (input.force && !(input.force.reason ?? '').trim()) {
      throw new AppError('ARCHIVE_FORCE_NOT_ALLOWED', 'A forced filing needs a stated reason');
    }
    const now = this.clock();
    const report = await this.d.verifier.verifyPdf(input.bytes);
    const checks = runFilingChecks({ bytes: input.bytes, mediaType: input.mediaType, metadata: input.metadata, report, now });
    if (!checks.passed && !input.force) {
      const failed = checks.checks.filter((c) => !c.passed).map((c) => c.name);
      throw new AppError('ARCHIVE_CHECKS_FAILED', `The record failed the ${failed.join(', ')} check(s)`, { details: { failed, checks, report } });
    }
    const m = input.metadata;
    const year = Number(m.date.slice(0, 4));
    const registrationNumber = await this.registrationNumber(agency.code, m, year);
    const sha256 = createHash('sha256').update(input.bytes).digest('hex');
    const record: ArchiveRecord = {
      id: newId('arc_'),
      agencyCode: agency.code,
      registrationNumber,
      fonds: m.fonds,
      year,
      title: m.title,
      metadata: m,
      mediaType: input.mediaType,
      size: input.bytes.length,
      sha256,
      content: input.bytes.toString('base64'),
      checks,
      report,
      forced: input.force ? { apiKeyId: actor.apiKeyId, reason: input.force.reason } : null,
      status: 'pending-evidence',
      batchId: null,
      evidencePath: null,
      filedBy: actor.apiKeyId,
      logIndex: null,
      legalHold: null,
      disposal: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    // Log first (as seals do): a record never exists without its filing entry.
    const receipt = await this.d.log.append({
      type: 'archive.filed',
      eventId: `archive.filed:${record.id}`,
      subject: { recordId: record.id, agencyCode: record.agencyCode, registrationNumber, forced: record.forced !== null },
      digests: { sha256 },
      actor: actorOf(actor),
      details: { checks: Object.fromEntries(checks.checks.map((c) => [c.name, c.passed])), indication: report.indication, ...(record.forced ? { forceReason: record.forced.reason } : {}) },
    });
    record.logIndex = receipt.index;
    await this.d.archive.createRecord(record);
    try {
      await this.enqueue(record);
    } catch {
      // The record is durable; repair() gives it its evidence later.
    }
    return toView((await this.d.archive.getRecord(record.id))!);
  }

  private async registrationNumber(agencyCode: string, m: ArchiveMetadata, year: number): Promise<string> {
    const format = this.options.codeFormats?.[m.fonds] ?? this.options.codeFormats?.['*'] ?? DEFAULT_CODE_FORMAT;
    const fill = (seq: string) =>
      format.replace(/\{(fonds|year|retention|agency|seq)(?::(\d{1,2}))?\}/g, (_, t: string, w?: string) => {
        if (t === 'fonds') return m.fonds;
        if (t === 'year') return String(year);
        if (t === 'retention') return RETENTION_CODE[m.retention];
        if (t === 'agency') return agencyCode;
        return w ? seq.padStart(Number(w), '0') : seq;
      });
    // One counter per agency and everything the number says besides the sequence: no gaps, no reuse.
    const n = await this.d.counters.next(`archive-reg:${agencyCode}:${fill('#')}`);
    return fill(String(n));
  }

  async get(actor: Principal, id: string): Promise<ArchiveRecord> {
    const r = await this.d.archive.getRecord(id);
    if (!r) throw new NotFoundError(`Archive record ${id}`);
    assertAgencyAccess(actor, r.agencyCode);
    return r;
  }

  async list(actor: Principal, q: ArchiveRecordQuery): Promise<Page<ArchiveRecordView>> {
    const agencyCode = isPlatformAdmin(actor) ? q.agencyCode : (actor.agencyCode ?? '\u0000');
    if (!isPlatformAdmin(actor) && q.agencyCode !== undefined && q.agencyCode !== actor.agencyCode) assertAgencyAccess(actor, q.agencyCode);
    const page = await this.d.archive.listRecords({ ...q, agencyCode });
    return { items: page.items.map(toView), nextCursor: page.nextCursor };
  }

  async reverify(actor: Principal, id: string): Promise<ReverificationRecord> {
    const r = await this.get(actor, id);
    assertNotDisposed(r);
    const report = await this.d.verifier.verifyPdf(Buffer.from(r.content, 'base64'));
    return this.d.archive.addReverification({ id: newId('rvf_'), recordId: r.id, report, by: actor.apiKeyId, at: this.clock().toISOString() });
  }

  reverifications(id: string): Promise<ReverificationRecord[]> {
    return this.d.archive.listReverifications(id);
  }

  async batch(id: string): Promise<ArchiveBatch> {
    const b = await this.d.archive.getBatch(id);
    if (!b) throw new NotFoundError(`Archive batch ${id}`);
    return b;
  }

  // -------------------------------------------------------------------------------------------
  // Batching and archive timestamps

  private enqueue(record: ArchiveRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Closes the open batch now; resolves when every batch closed so far is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.queue;
    this.queue = [];
    if (items.length > 0) {
      // Batches are sealed one after another: each is one timestamp and a few writes.
      this.chain = this.chain.then(() =>
        this.sealBatch(items.map((p) => p.record)).then(
          () => items.forEach((p) => p.resolve()),
          (e) => items.forEach((p) => p.reject(e)),
        ),
      );
    }
    return this.chain;
  }

  private async sealBatch(records: ArchiveRecord[]): Promise<void> {
    const leaves = records.map((r) => Buffer.from(r.sha256, 'hex'));
    const tree = buildHashTree('sha256', leaves);
    const ts = await this.timestamp(tree.root);
    const now = this.clock().toISOString();
    const batch: ArchiveBatch = { id: newId('atb_'), hashAlgorithm: 'sha256', root: tree.root.toString('hex'), size: records.length, timestamps: [ts], createdAt: now, updatedAt: now };
    await this.d.archive.createBatch(batch);
    await this.d.log.append({
      type: 'archive.batch.sealed',
      eventId: `archive.batch.sealed:${batch.id}`,
      subject: { batchId: batch.id, size: batch.size },
      digests: { sha256: batch.root },
      actor: SYSTEM,
      details: { genTime: ts.genTime },
    });
    for (let i = 0; i < records.length; i++) {
      const path = tree.reduced[i]!;
      await this.d.archive.sealRecord(records[i]!.id, batch.id, path ? path.map((l) => l.map((h) => h.toString('hex'))) : null, now);
    }
  }

  /** One RFC 3161 timestamp from our TSA over `imprint` (SHA-256). */
  private async timestamp(imprint: Buffer): Promise<ArchiveTimestamp> {
    const req = buildTimeStampReq({ hashAlg: 'sha256', digest: imprint, nonce: randomBytes(8), certReq: true });
    this.timestampsUsed++;
    const res = await this.d.tsa.respond(req, SYSTEM);
    const parsed = parseTimeStampResp(res.der);
    if (!res.granted || !parsed.token) throw new AppError('TSA_BAD_RESPONSE', `The TSA refused the archive timestamp (${parsed.status})`);
    const token = parseTimeStampToken(parsed.token);
    return { token: parsed.token.toString('base64'), genTime: token.tstInfo.genTime.toISOString(), imprint: imprint.toString('hex') };
  }

  /**
   * Start-up repair: records stored but not sealed (a crash or a TSA failure) join a new batch.
   * Never fails the start: if the TSA is still failing, the records stay pending until the next
   * repair (each start, or a call of this method).
   */
  async repair(): Promise<{ sealed: number; error?: string }> {
    let sealed = 0;
    try {
      for (;;) {
        const pending = await this.d.archive.listPending(this.maxBatch);
        if (pending.length === 0) return { sealed };
        await this.sealBatch(pending);
        sealed += pending.length;
      }
    } catch (e) {
      return { sealed, error: e instanceof Error ? e.message : String(e) };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Renewal (RFC 4998 §5.2 timestamp renewal)

  /**
   * Adds to each batch's chain a timestamp over the hash of its newest token's DER. On demand
   * for the batches named, otherwise for every batch whose newest TSA certificate expires within
   * renewBeforeDays. The old timestamps stay: the evidence verifies through the whole chain.
   */
  async renew(actor: Principal, batchIds?: string[]): Promise<{ renewed: { batchId: string; chainLength: number; genTime: string }[] }> {
    if (!isPlatformAdmin(actor)) throw new ForbiddenError('Evidence renewal is a platform admin operation', 'FORBIDDEN_ROLE');
    const targets: ArchiveBatch[] = [];
    if (batchIds) {
      for (const id of batchIds) targets.push(await this.batch(id));
    } else {
      const horizon = this.clock().getTime() + (this.options.renewBeforeDays ?? 90) * 86400_000;
      let cursor: string | null = null;
      do {
        const page: Page<ArchiveBatch> = await this.d.archive.listBatches({ limit: 500, cursor });
        for (const b of page.items) {
          const last = parseTimeStampToken(Buffer.from(b.timestamps[b.timestamps.length - 1]!.token, 'base64'));
          // The TSA's own certificate: the one for time-stamping (RFC 3161 §2.3), not its issuer.
          const tsaCert = last.certificates.find((c) => c.extKeyUsage?.purposes.includes('1.3.6.1.5.5.7.3.8'));
          if (!tsaCert || tsaCert.notAfter.getTime() < horizon) targets.push(b);
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    const renewed = [];
    for (const b of targets) {
      const prev = Buffer.from(b.timestamps[b.timestamps.length - 1]!.token, 'base64');
      const ts = await this.timestamp(hashOf('sha256', prev));
      const after = await this.d.archive.appendTimestamp(b.id, b.timestamps.length, ts, this.clock().toISOString());
      await this.d.log.append({
        type: 'archive.evidence.renewed',
        eventId: `archive.evidence.renewed:${b.id}:${after.timestamps.length}`,
        subject: { batchId: b.id, chainLength: after.timestamps.length },
        digests: { sha256: ts.imprint },
        actor: actorOf(actor),
        details: { genTime: ts.genTime },
      });
      renewed.push({ batchId: b.id, chainLength: after.timestamps.length, genTime: ts.genTime });
    }
    return { renewed };
  }

  // -------------------------------------------------------------------------------------------
  // Evidence record and package

  /** The record's RFC 4998 EvidenceRecord (DER): one chain, the batch timestamp then its renewals. */
  async evidenceRecord(r: ArchiveRecord): Promise<Buffer> {
    assertNotDisposed(r);
    if (r.status !== 'sealed' || !r.batchId) throw new ConflictError(`Archive record ${r.id} has no archive timestamp yet`, 'ARCHIVE_EVIDENCE_PENDING');
    const b = await this.batch(r.batchId);
    return encodeEvidenceRecord(evidenceFor(r, b));
  }

  /** The DA/T 48 package (ZIP) of a record, signed with a seal of the record's agency. */
  async exportPackage(actor: Principal, id: string, sealId?: string): Promise<{ zip: Buffer; fileName: string }> {
    const r = await this.get(actor, id);
    const ers = await this.evidenceRecord(r);
    const b = await this.batch(r.batchId!);
    const agency = (await this.d.agencies.get(r.agencyCode))!;
    const seal = await this.packageSeal(r.agencyCode, sealId);
    const cert = (await this.d.certificates.get(seal.certificateSerial))!;
    const bytes = Buffer.from(r.content, 'base64');
    let pageCount: number | null = null;
    try {
      pageCount = readPdf(bytes).pageCount;
    } catch {
      pageCount = null;
    }
    const now = this.clock();
    const signedObject = buildSignedObject({
      registrationNumber: r.registrationNumber,
      recordId: r.id,
      metadata: r.metadata,
      agencyName: agency.name,
      agencyCode: agency.code,
      fileBytes: bytes,
      pageCount,
      createdAt: now,
      filedAt: r.createdAt,
      archiveName: this.options.archiveName ?? `${agency.name} 电子档案`,
    });
    const signer = await signerFor(this.d.keys, seal.keyId, { ...actorOf(actor), agencyCode: r.agencyCode, purpose: 'archive-package' });
    const value = await signer.sign(Buffer.from(signedObject, 'utf8'));
    const eep = buildEep(signedObject, {
      id: `sig-${r.id}`,
      time: now.toISOString(),
      signer: `${agency.name} (${seal.name}, ${seal.id})`,
      value,
      certificate: Buffer.from(cert.der, 'base64'),
      algorithmOid: getAlgorithm(signer.algorithm).signatureOid,
    });
    const tsaCerts = new Map<string, Buffer>();
    for (const t of b.timestamps) {
      for (const c of parseTimeStampToken(Buffer.from(t.token, 'base64')).certificates) tsaCerts.set(c.der.toString('base64'), c.der);
    }
    for (const h of this.d.ca.history.tsa) tsaCerts.set(h.der.toString('base64'), h.der);
    for (const c of this.d.ca.chain()) tsaCerts.set(c.toString('base64'), c);
    const zip = await buildPackage({
      record: toView(r),
      fileBytes: bytes,
      evidenceRecord: ers,
      batch: { id: b.id, root: b.root, size: b.size, timestamps: b.timestamps.map(({ genTime, imprint }) => ({ genTime, imprint })) },
      certificates: [...tsaCerts.values()],
      eep,
      reverifications: await this.d.archive.listReverifications(r.id),
      createdAt: now,
    });
    return { zip, fileName: `${r.registrationNumber.replace(/[^A-Za-z0-9._-]/g, '_')}.zip` };
  }

  private async packageSeal(agencyCode: string, sealId?: string) {
    const page = await this.d.seals.list({ agencyCode, limit: 500 });
    const now = this.clock().toISOString();
    for (const s of page.items) {
      if (sealId && s.id !== sealId) continue;
      if (s.status !== 'active') continue;
      const c = await this.d.certificates.get(s.certificateSerial);
      if (c && c.status === 'good' && c.notBefore <= now && c.notAfter >= now) return s;
    }
    throw new ConflictError(
      sealId ? `Seal ${sealId} is not an active seal of the record's agency` : "The record's agency has no active seal to sign the package with",
      'STATE_CONFLICT',
    );
  }

  // -------------------------------------------------------------------------------------------
  // Retention

  /** Sets or (reason null) releases a legal hold; admins of the record's agency or the platform. */
  async setLegalHold(actor: Principal, id: string, reason: string | null): Promise<ArchiveRecordView> {
    const r = await this.get(actor, id);
    assertAdmin(actor);
    const at = this.clock().toISOString();
    const hold = reason === null ? null : { reason, by: actor.apiKeyId, at };
    const type = reason === null ? 'archive.hold.released' : 'archive.hold.set';
    await this.d.log.append({
      type,
      eventId: `${type}:${r.id}:${at}`,
      subject: { recordId: r.id, agencyCode: r.agencyCode, registrationNumber: r.registrationNumber },
      actor: actorOf(actor),
      ...(reason === null ? {} : { details: { reason } }),
    });
    return toView(await this.d.archive.setLegalHold(r.id, hold, at));
  }

  /**
   * Disposal (销毁) of a record whose retention period has elapsed, approved by an admin, never
   * under a legal hold: the file is erased; a tombstone (metadata, registration number, digest,
   * evidence, the approval) stays, and the disposal is logged (log first, as for seals).
   */
  async dispose(actor: Principal, id: string, reason: string): Promise<ArchiveRecordView> {
    const r = await this.get(actor, id);
    assertAdmin(actor);
    assertNotDisposed(r);
    if (r.legalHold) throw new AppError('ARCHIVE_LEGAL_HOLD', `Archive record ${id} is under a legal hold (${r.legalHold.reason})`);
    const now = this.clock();
    const ends = retentionEndsAt(r.metadata);
    if (!ends || now < ends) {
      throw new AppError('ARCHIVE_RETENTION_NOT_ELAPSED', ends ? `The retention period of ${id} ends on ${ends.toISOString().slice(0, 10)}` : `Archive record ${id} is kept permanently`, {
        details: { retention: r.metadata.retention, endsAt: ends?.toISOString() ?? null },
      });
    }
    if (r.status !== 'sealed') throw new ConflictError(`Archive record ${id} has no archive timestamp yet`, 'ARCHIVE_EVIDENCE_PENDING');
    const receipt = await this.d.log.append({
      type: 'archive.disposed',
      eventId: `archive.disposed:${r.id}`,
      subject: { recordId: r.id, agencyCode: r.agencyCode, registrationNumber: r.registrationNumber },
      digests: { sha256: r.sha256 },
      actor: actorOf(actor),
      details: { reason, retention: r.metadata.retention },
    });
    const tomb = await this.d.archive.dispose(r.id, { reason, approvedBy: actor.apiKeyId, at: now.toISOString(), logIndex: receipt.index }, now.toISOString());
    return toView(tomb);
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
  }
}

/**
 * When a record may be disposed of: DA/T 22 counts a retention period from 1 January of the year
 * after the record's year; `permanent` never ends (null).
 */
export function retentionEndsAt(m: Pick<ArchiveMetadata, 'retention' | 'date'>): Date | null {
  const years = m.retention === '30y' ? 30 : m.retention === '10y' ? 10 : null;
  if (years === null) return null;
  return new Date(Date.UTC(Number(m.date.slice(0, 4)) + 1 + years, 0, 1));
}

function assertNotDisposed(r: ArchiveRecord): void {
  if (r.status === 'disposed') throw new AppError('ARCHIVE_DISPOSED', `Archive record ${r.id} was disposed of on ${r.disposal?.at ?? '?'}`);
}

function assertAdmin(actor: Principal): void {
  if (!actor.roles.includes('admin')) throw new ForbiddenError('This needs the admin role', 'FORBIDDEN_ROLE');
}

export function evidenceFor(r: Pick<ArchiveRecord, 'evidencePath'>, b: ArchiveBatch): { digestAlgorithms: ['sha256']; chains: ArchiveTimeStampValue[][] } {
  const chain: ArchiveTimeStampValue[] = b.timestamps.map((t, i) => ({
    digestAlgorithm: 'sha256',
    ...(i === 0 && r.evidencePath ? { reducedHashtree: r.evidencePath.map((l) => l.map((h) => Buffer.from(h, 'hex'))) } : {}),
    timeStamp: Buffer.from(t.token, 'base64'),
  }));
  return { digestAlgorithms: ['sha256'], chains: [chain] };
}
