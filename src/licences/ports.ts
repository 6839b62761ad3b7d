import type { ListOptions, Page } from '../store/ports';
import type { LicenceStatus } from './types';

/** One issued e-licence (one version: a renewal is a new record linked to this one). */
export interface LicenceRecord {
  /** lic_ + time-ordered hex (newId). */
  id: string;
  /** Issuing agency (credit code). */
  agencyCode: string;
  typeId: string;
  typeCode: string;
  /** GB/T 36904 identifier, unique. */
  identifier: string;
  serial: string;
  /** 1-based version (identifier segment '001'…). */
  version: number;
  sealId: string;
  holderName: string;
  holderCodeType: string;
  holderCode: string;
  /** Face data, as validated against the type's schema. */
  data: Record<string, unknown>;
  validFrom: string;
  validUntil: string | null;
  status: LicenceStatus;
  revocationReason: string | null;
  /** Status list entries (W3C Bitstring Status List): same index in both lists. */
  revocationListId: string;
  suspensionListId: string;
  statusIndex: number;
  /** Batch/retry key, unique per agency ("<agencyCode>:<key>"); null when none was given. */
  idempotencyKey: string | null;
  previousId: string | null;
  supersededBy: string | null;
  /** The credential (VC JWS, compact) and QR token (compact JWS). */
  credential: string;
  qrToken: string;
  /** Sealed PDF rendition, base64; null for credential-only issuance. */
  pdf: string | null;
  /** Compare-and-swap token, as for seals. */
  generation: number;
  loggedGeneration: number;
  issuedAt: string;
  updatedAt: string;
}

export interface LicenceQuery extends ListOptions {
  agencyCode?: string;
  holderCode?: string;
  typeId?: string;
  status?: LicenceStatus;
}

/** A recorded Art. 32 confirmation lookup: who asked, why, what they got. */
export interface LicenceLookupRecord {
  id: string;
  apiKeyId: string;
  agencyCode: string | null;
  purpose: string;
  /** Digest of the holder code asked for (salted, see LogService.personalDigest). */
  holderDigest: string;
  typeId: string | null;
  /** Licence ids returned. */
  returned: string[];
  logIndex: number | null;
  at: string;
}

export interface LicenceStore {
  /** DUPLICATE when the id, identifier, idempotency key or (status list, index) is taken. */
  create(l: LicenceRecord): Promise<LicenceRecord>;
  get(id: string): Promise<LicenceRecord | null>;
  getByIdentifier(identifier: string): Promise<LicenceRecord | null>;
  getByIdempotencyKey(key: string): Promise<LicenceRecord | null>;
  list(query?: LicenceQuery): Promise<Page<LicenceRecord>>;
  /**
   * Compare-and-swap: from (status, generation) to `next` with generation + 1, setting the
   * extra fields. STATE_CONFLICT when the licence is no longer in the expected state.
   */
  transition(
    id: string,
    expected: { status: LicenceStatus; generation: number },
    next: LicenceStatus,
    at: string,
    extra?: { revocationReason?: string | null; supersededBy?: string | null },
  ): Promise<LicenceRecord>;
  markLogged(id: string, generation: number): Promise<void>;
  listUnlogged(): Promise<LicenceRecord[]>;
  /** Status indexes in a list whose licences are in `status` (revoked for revocation lists, suspended for suspension lists). */
  statusIndexes(listId: string, purpose: 'revocation' | 'suspension'): Promise<number[]>;
  recordLookup(r: LicenceLookupRecord): Promise<LicenceLookupRecord>;
  listLookups(options?: ListOptions & { agencyCode?: string | null }): Promise<Page<LicenceLookupRecord>>;
}
