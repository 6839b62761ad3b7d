/**
 * The validation report (ETSI EN 319 102-1 §5.1.3 indications and sub-indications; the shape of
 * the EU DSS "simple report", flattened into JSON). A failed verification is a report, not an
 * error: every outcome of checking a document — a broken file included — is expressed here.
 */

/** EN 319 102-1 §5.1.3, Table 5. */
export type Indication = 'TOTAL_PASSED' | 'TOTAL_FAILED' | 'INDETERMINATE';

/** EN 319 102-1 §5.1.3, Table 6 (the ones this engine can reach). */
export type SubIndication =
  // TOTAL_FAILED
  | 'FORMAT_FAILURE'
  | 'HASH_FAILURE'
  | 'SIG_CRYPTO_FAILURE'
  | 'REVOKED'
  | 'NOT_YET_VALID'
  // INDETERMINATE
  | 'SIG_CONSTRAINTS_FAILURE'
  | 'CHAIN_CONSTRAINTS_FAILURE'
  | 'CERTIFICATE_CHAIN_GENERAL_FAILURE'
  | 'CRYPTO_CONSTRAINTS_FAILURE'
  | 'EXPIRED'
  | 'NO_SIGNING_CERTIFICATE_FOUND'
  | 'NO_CERTIFICATE_CHAIN_FOUND'
  | 'REVOKED_NO_POE'
  | 'REVOKED_CA_NO_POE'
  | 'OUT_OF_BOUNDS_NO_POE'
  | 'OUT_OF_BOUNDS_NOT_REVOKED'
  | 'NO_POE'
  | 'TIMESTAMP_ORDER_FAILURE'
  | 'SIGNED_DATA_NOT_FOUND'
  | 'TRY_LATER';

export type CheckGroup = 'format' | 'integrity' | 'trust' | 'revocation' | 'time';

/**
 * One check's outcome. `failed`: the check proves something is wrong; `indeterminate`: the check
 * could not be completed (missing data, unreachable responder); `warning`: passed with a remark;
 * `skipped`: not applicable (e.g. no time-stamp at B-B).
 */
export type CheckResult = 'passed' | 'failed' | 'indeterminate' | 'warning' | 'skipped';

export interface Check {
  group: CheckGroup;
  /** Stable kebab-case name, e.g. `byte-range`, `message-digest`, `certificate-path`, `signer-revocation`. */
  name: string;
  result: CheckResult;
  /** A sentence a person can read; generic, never echoing attacker-controlled bytes unbounded. */
  reason?: string;
  /** A stable code where there is one (e.g. BYTE_RANGE_GAP_NOT_CONTENTS, CMS_MALFORMED). */
  code?: string;
}

/** A change made to the PDF after a signature's revision (STANDARDS.md checklist items 3–5). */
export interface DocumentChange {
  /** 1-based revision (incremental update) the change was made in. */
  revision: number;
  /**
   * What changed, e.g. `signature-added`, `dss-added`, `document-timestamp-added`,
   * `form-field-filled`, `annotation-added`, `page-content-changed`, `catalog-changed`,
   * `object-changed`, `object-added`, `xref-repointed`, `unparseable-update`.
   */
  kind: string;
  /** The object concerned, as "12 0 R", where there is one. */
  object?: string;
  /** 1-based page, where there is one. */
  page?: number;
  allowed: boolean;
  description: string;
}

export type SignatureLevel = 'B-B' | 'B-T' | 'B-LT' | 'B-LTA';

export interface SignerInfoReport {
  /** RFC 4514 string of the signer certificate's subject. */
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** The organisation in the subject and its unified social credit code, when present. */
  agency?: { name?: string; creditCode?: string };
  /** Present when the certificate is one this service issued for a seal. */
  /** `imageUrl` is a path on this service (public, no key): the seal as printed on documents. */
  seal?: { id: string; name: string; agencyCode: string; imageUrl: string };
}

export interface TimestampReport {
  /** genTime, ISO 8601. */
  time: string;
  /** TSA certificate subject. */
  tsa: string;
  serialNumber: string;
  /** The token verified and its TSA chains to a trust anchor. */
  valid: boolean;
}

export interface SignatureReport {
  /** Stable per document: the field's full name for PDF, `signature-1` for a detached CAdES. */
  id: string;
  /** `signature` (approval), `certification` (DocMDP), `document-timestamp` (PAdES B-LTA). */
  type: 'signature' | 'certification' | 'document-timestamp';
  format: 'PAdES' | 'CAdES' | 'PDF-TS' | 'SES' | 'JWS';
  /** /SubFilter for PDF. */
  subFilter?: string;
  indication: Indication;
  subIndication?: SubIndication;
  signer?: SignerInfoReport;
  /** Claimed (signing-time attribute or /M): not proof. */
  signingTime?: string;
  /** Proven: the signature time-stamp (or, for a document time-stamp, the token itself). */
  timestamp?: TimestampReport;
  /** Highest level whose requirements are all met; undefined when not even B-B holds. */
  level?: SignatureLevel;
  /** SES: TBS_Sign.propertyInfo (what the signer says was signed). */
  propertyInfo?: string;
  /** SES: the embedded GB/T 38540 seal. */
  sesSeal?: { esID: string; name: string; version: number; vendor: string; validStart: string; validEnd: string; maker: string };
  /** PDF: the whole file, or a whole earlier revision. CAdES: WHOLE_DOCUMENT. */
  coverage: 'WHOLE_DOCUMENT' | 'REVISION' | 'PARTIAL';
  /** PDF: 1-based revision the signature closes. */
  revision?: number;
  byteRange?: number[];
  /** PDF: anything at all was appended after the signed revision. */
  modifiedAfterSigning: boolean;
  /** Changes after the signed revision, each classified. */
  changes: DocumentChange[];
  /** The time the signature was validated at: the proven time when a valid time-stamp exists, otherwise `validationTime`. */
  bestSignatureTime: string;
  checks: Check[];
}

export interface VerificationReport {
  indication: Indication;
  subIndication?: SubIndication;
  /** When the verification ran, ISO 8601. */
  validationTime: string;
  document: {
    kind: 'pdf' | 'cades-detached' | 'ses-detached' | 'licence-credential' | 'licence-token';
    size: number;
    sha256: string;
    /** PDF: number of revisions (incremental updates + 1). */
    revisions?: number;
  };
  signatures: SignatureReport[];
  /** Problems about the document as a whole (e.g. unreadable PDF, no signatures). */
  checks: Check[];
  /**
   * When the document is one of our e-licences (a sealed licence PDF, its credential JWS or its QR
   * token): the licence's current status beside the signature verdict. A valid signature on a
   * revoked licence is TOTAL_PASSED with `licence.status: "revoked"`.
   */
  licence?: LicenceReport;
  /** How the verifier was configured: a report can be reproduced from it. */
  policy: { revocation: 'online' | 'offline'; trustAnchors: string[] };
}

const RANK: Record<Indication, number> = { TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2 };

/** The worst of several indications (TOTAL_FAILED > INDETERMINATE > TOTAL_PASSED). */
export function worst<T extends { indication: Indication; subIndication?: SubIndication }>(items: readonly T[]): T | undefined {
  let w: T | undefined;
  for (const i of items) if (!w || RANK[i.indication] > RANK[w.indication]) w = i;
  return w;
}

/** The licence part of a report (see VerificationReport.licence). */
export interface LicenceReport {
  /** How the licence was presented. */
  source: 'pdf' | 'credential' | 'token';
  /** The credential's or token's JWS signature verified with one of our seal certificates (for a PDF: the PAdES verdict decides). */
  signatureValid: boolean;
  /** Now, as our records and status lists say. `unknown`: not a licence we issued. */
  status: 'valid' | 'suspended' | 'revoked' | 'expired' | 'unknown';
  /** Why the JWS did not verify: MALFORMED, UNKNOWN_SIGNER, SIGNATURE_INVALID. */
  problem?: string;
  identifier?: string;
  licenceName?: string;
  issuer?: { name: string; creditCode: string };
  /** Partly masked. */
  holderName?: string;
  validFrom?: string;
  validUntil?: string | null;
  revocationReason?: string;
  checkedAt: string;
}

/** What the engine asks the licence service (src/licences), kept structural so verify does not depend on it. */
export interface LicenceLookup {
  statusForSignedPdf(identifier: string, signerSerialHex: string): Promise<LicenceFacts | undefined>;
  verifyCredential(jws: string): Promise<LicenceFacts>;
  verifyToken(token: string): Promise<LicenceFacts>;
}

export interface LicenceFacts {
  signatureValid: boolean;
  problem?: string;
  status: LicenceReport['status'];
  licence?: {
    identifier: string;
    licenceName: string;
    issuer: { name: string; creditCode: string };
    holderName: string;
    validFrom: string;
    validUntil: string | null;
    revocationReason?: string;
  };
  checkedAt: string;
}
