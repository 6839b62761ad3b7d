/**
 * Shared types of the e-licence module (issue #7).
 *
 * Licence types are data (schemas/licence-types/*.json); this file is the
 * contract between the core (issuance, status, credentials) and the renderer
 * (src/licences/render.ts) and public QR page.
 */

/** One printed field on the licence face. */
export interface LicenceLayoutField {
  /**
   * Path into the face data (dot-separated, e.g. 'registeredCapital' or
   * 'address.street'), or one of the reserved keys 'holder.name',
   * 'holder.code', 'identifier', 'validFrom', 'validUntil', 'issuer.name'.
   */
  key: string;
  /** Chinese label printed before the value. */
  label: string;
  /** PDF points from the bottom-left corner of the page. */
  x: number;
  y: number;
  /** Maximum width in points; longer values wrap. */
  width?: number;
  fontSize?: number;
}

export interface LicenceLayout {
  page: { width: number; height: number };
  title: { text: string; x: number; y: number; fontSize: number };
  fields: LicenceLayoutField[];
  /** Bottom-left corner and side of the visible seal, in points. */
  seal: { x: number; y: number; size: number };
  /** Bottom-left corner and side of the QR code, in points. */
  qr: { x: number; y: number; size: number };
}

export interface LicenceType {
  /** Stable id, e.g. 'business-licence'. Also the JSON file name. */
  id: string;
  /** Chinese name, e.g. 营业执照. */
  name: string;
  /** GB/T 36904 licence type code (the identifier's type segment). */
  typeCode: string;
  definingAuthority: { name: string; creditCode: string };
  /** JSON Schema of the face data. */
  schema: object;
  layout: LicenceLayout;
  validity: { maxDays?: number; requiresValidUntil: boolean };
  /** Accepted holder code types, e.g. ['001'] (credit code), ['111'] (resident ID). */
  holderCodeTypes: string[];
}

export interface LicenceHolder {
  name: string;
  codeType: string;
  code: string;
}

export interface LicenceRenderInput {
  type: LicenceType;
  identifier: string;
  holder: LicenceHolder;
  data: Record<string, unknown>;
  validFrom: string;
  validUntil: string | null;
  issuer: { name: string; creditCode: string };
  qrUrl: string;
  issuedAt: string;
}

export interface LicenceRenderResult {
  pdf: Buffer;
  sealRect: { page: number; x: number; y: number; width: number };
}

/** Signature of R's renderLicencePdf (src/licences/render.ts). */
export type LicenceRenderer = (input: LicenceRenderInput) => Promise<LicenceRenderResult>;

export type LicenceStatus = 'valid' | 'suspended' | 'revoked';

export interface PublicLicenceView {
  genuine: boolean;
  status: 'valid' | 'suspended' | 'revoked' | 'expired' | 'unknown';
  licenceName: string;
  typeCode: string;
  identifier: string;
  issuer: { name: string; creditCode: string };
  /** Masked, e.g. 张*明, 杭州**有限公司. */
  holderName: string;
  validFrom: string;
  validUntil: string | null;
  sealId?: string;
  revocationReason?: string;
  checkedAt: string;
}

/** What R's public route needs from LicenceService. */
export interface PublicLicenceViewer {
  /** null: malformed token or bad signature. */
  publicView(token: string): Promise<PublicLicenceView | null>;
}
