import type { Principal } from '../api-keys';
import { AppError, ConflictError, ValidationError } from '../errors';
import type { LogService } from '../log/service';
import type { SigningService } from '../signing/service';
import type { AgencyStore } from '../store/ports';
import { newId } from '../store/ids';
import { createHash } from 'node:crypto';
import { licenceTypeView, type LicenceTypeRegistry } from './licence-types';
import type { LicenceService } from './service';
import type { LicenceRenderer, LicenceType } from './types';

export interface AnnotatedCopyDeps {
  licences: LicenceService;
  types: LicenceTypeRegistry;
  agencies: AgencyStore;
  signing: SigningService;
  log: LogService;
  render: LicenceRenderer;
  clock?: () => Date;
}

export interface AnnotationInput {
  purpose: string;
  requester: string;
  /** YYYY-MM-DD: the copy is not to be used after this day. */
  expiresAt: string;
}

/**
 * The annotation block printed on an annotated copy (加注件). Its values travel in the face data
 * under `annotation.*`, so the licence renderer draws them like any other field: one renderer,
 * one font path, and the copy carries the same QR code as the licence.
 */
export function annotatedType(t: LicenceType): LicenceType {
  const x = t.layout.qr.x;
  const y = t.layout.qr.y + t.layout.qr.size + 70;
  return {
    ...t,
    layout: {
      ...t.layout,
      title: { ...t.layout.title, text: `${t.layout.title.text}（加注件）`, fontSize: Math.min(t.layout.title.fontSize, 26) },
      fields: [
        ...t.layout.fields,
        { key: 'annotation.purpose', label: '加注用途', x, y: y + 36, width: 260, fontSize: 10 },
        { key: 'annotation.requester', label: '使用单位', x, y: y + 18, width: 260, fontSize: 10 },
        { key: 'annotation.expiresAt', label: '有效期至', x, y, width: 260, fontSize: 10 },
        { key: 'annotation.notice', label: '', x, y: y - 18, width: 260, fontSize: 8 },
      ],
    },
  };
}

/**
 * Annotated copies: a re-rendering of the licence with the annotation block, sealed again with
 * the licence's seal (PAdES B-T) and logged. Only a currently valid licence gets one.
 */
export class AnnotatedCopyService {
  private readonly clock: () => Date;
  constructor(private readonly d: AnnotatedCopyDeps) {
    this.clock = d.clock ?? (() => new Date());
  }

  async create(actor: Principal, id: string, a: AnnotationInput): Promise<{ pdf: Buffer; logIndex: number; copyId: string }> {
    const l = await this.d.licences.get(actor, id);
    const today = this.clock().toISOString().slice(0, 10);
    if (a.expiresAt < today || Number.isNaN(Date.parse(a.expiresAt))) {
      throw new ValidationError('expiresAt must be a real date, today or later', [{ pointer: '/expiresAt', detail: 'is in the past or not a date', code: 'RANGE' }], 'VALIDATION_FAILED');
    }
    if (l.validUntil !== null && a.expiresAt > l.validUntil) {
      throw new ValidationError('The copy cannot outlive the licence', [{ pointer: '/expiresAt', detail: `is after the licence's validUntil ${l.validUntil}`, code: 'RANGE' }], 'VALIDATION_FAILED');
    }
    if (l.status !== 'valid') throw new ConflictError(`Licence ${id} is ${l.status}`, l.status === 'revoked' ? 'LICENCE_REVOKED' : 'STATE_CONFLICT');
    const t = this.d.types.get(l.typeId);
    if (!t) throw new AppError('NOT_FOUND', `Licence type ${l.typeId} is no longer configured`);
    const agency = await this.d.agencies.get(l.agencyCode);
    const copyId = newId('ann_');
    const rendered = await this.d.render({
      type: annotatedType(licenceTypeView(t)),
      identifier: l.identifier,
      holder: { name: l.holderName, codeType: l.holderCodeType, code: l.holderCode },
      data: { ...l.data, annotation: { purpose: a.purpose, requester: a.requester, expiresAt: a.expiresAt, notice: `本件仅供上述用途使用，编号 ${copyId}` } },
      validFrom: l.validFrom,
      validUntil: l.validUntil,
      issuer: { name: agency?.name ?? '', creditCode: l.agencyCode },
      qrUrl: this.d.licences.qrUrl(l.qrToken),
      issuedAt: this.clock().toISOString(),
    });
    const r = rendered.sealRect;
    const signed = await this.d.signing.sign(actor, {
      sealId: l.sealId,
      format: 'pades',
      level: 'B-T',
      document: rendered.pdf,
      pades: { page: r.page, x: r.x, y: r.y, width: r.width, reason: `加注件 ${a.purpose}` },
    });
    const receipt = await this.d.log.append({
      type: 'licence.annotated-copy',
      eventId: `licence.annotated-copy:${copyId}`,
      subject: { copyId, licenceId: l.id, identifier: l.identifier, agencyCode: l.agencyCode },
      digests: { pdfSha256: createHash('sha256').update(signed.bytes).digest('hex') },
      actor: { apiKeyId: actor.apiKeyId, agencyCode: actor.agencyCode },
      details: { purpose: a.purpose, requester: a.requester, expiresAt: a.expiresAt },
    });
    return { pdf: signed.bytes, logIndex: receipt.index, copyId };
  }
}
