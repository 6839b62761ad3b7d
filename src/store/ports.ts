/**
 * Storage port: small per-aggregate stores. Two adapters implement every interface here —
 * `sqlite/` (embedded default) and `mongo/` (mongoose) — and one contract suite
 * (tests/contract/) holds both to the same behaviour:
 *
 * - list() pages in a stable order (by the aggregate's key, ascending) with an opaque cursor;
 * - a unique-constraint violation throws ConflictError with code DUPLICATE;
 * - state changes are compare-and-swap (revoke succeeds once, then ALREADY_REVOKED);
 * - counters never hand out a value twice, across connections and processes.
 *
 * No operation relies on a multi-document transaction (see docs/consistency.md).
 */

export type Role = 'admin' | 'counter' | 'signer' | 'verifier' | 'archivist';
export const ROLES: readonly Role[] = ['admin', 'counter', 'signer', 'verifier', 'archivist'];

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

export interface ListOptions {
  /** 1..500; adapters clamp. */
  limit?: number;
  cursor?: string | null;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

export interface Agency {
  /** Unified social credit code (GB 32100), check digit validated before it reaches the store. */
  code: string;
  name: string;
  region: string | null;
  createdAt: string;
}

export interface AgencyStore {
  create(agency: Agency): Promise<Agency>;
  get(code: string): Promise<Agency | null>;
  list(options?: ListOptions): Promise<Page<Agency>>;
}

export interface ApiKeyRecord {
  /** Public identifier, time-ordered (see newId). Never the secret. */
  id: string;
  /** Null for platform keys. */
  agencyCode: string | null;
  roles: Role[];
  label: string;
  /** SHA-256 of the secret key, hex. The secret itself is never stored. */
  keyHash: string;
  /** The first characters of the key, to help a person tell keys apart. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface ApiKeyStore {
  create(key: ApiKeyRecord): Promise<ApiKeyRecord>;
  get(id: string): Promise<ApiKeyRecord | null>;
  findByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  /** `agencyCode: null` lists platform keys only; undefined lists all. */
  list(options?: ListOptions & { agencyCode?: string | null }): Promise<Page<ApiKeyRecord>>;
  /** Compare-and-swap: revokes a key that is not revoked; ALREADY_REVOKED otherwise. */
  revoke(id: string, at: string): Promise<ApiKeyRecord>;
}

/** RFC 5280 §5.3.1 CRLReason names (value 7 is unused). */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface CertificateRecord {
  /** Serial number, lower-case hex without leading zeros stripped (as encoded). Unique. */
  serial: string;
  /** Which of our CAs issued it (e.g. 'root', 'issuing'). */
  issuer: string;
  profile: string;
  subject: string;
  agencyCode: string | null;
  keyId: string | null;
  notBefore: string;
  notAfter: string;
  /** DER, base64. */
  der: string;
  status: 'good' | 'revoked';
  revokedAt: string | null;
  revocationReason: RevocationReason | null;
  createdAt: string;
}

export interface CertificateStore {
  create(cert: CertificateRecord): Promise<CertificateRecord>;
  get(serial: string): Promise<CertificateRecord | null>;
  list(options?: ListOptions & { issuer?: string; agencyCode?: string | null }): Promise<Page<CertificateRecord>>;
  /** Compare-and-swap: revokes a good certificate; ALREADY_REVOKED otherwise. */
  revoke(serial: string, at: string, reason: RevocationReason): Promise<CertificateRecord>;
  /** All revoked certificates of one issuer, for CRL generation. */
  listRevoked(issuer: string): Promise<CertificateRecord[]>;
}

export interface KeyRecord {
  id: string;
  /** Algorithm name from the algorithm table (src/crypto/algorithms.ts). */
  algorithm: string;
  /** Which key store holds the private key. */
  keyStore: 'software' | 'pkcs11';
  label: string;
  agencyCode: string | null;
  /** SubjectPublicKeyInfo, DER base64. */
  publicKey: string;
  /**
   * Software store: the private key sealed with AES-256-GCM under the master key (base64 of
   * iv ‖ tag ‖ ciphertext). PKCS#11 store: null — the key never leaves the token.
   */
  wrappedKey: string | null;
  /** PKCS#11 store: the CKA_ID of the key pair in the token (hex). */
  tokenKeyId: string | null;
  createdAt: string;
}

export interface KeyRecordStore {
  create(key: KeyRecord): Promise<KeyRecord>;
  get(id: string): Promise<KeyRecord | null>;
  list(options?: ListOptions & { agencyCode?: string | null }): Promise<Page<KeyRecord>>;
}

/** One use of a private key: who asked, which key, what was signed. */
export interface KeyUseRecord {
  id: string;
  keyId: string;
  apiKeyId: string | null;
  agencyCode: string | null;
  purpose: string;
  /** SHA-256 of the signed bytes, hex. */
  digest: string;
  at: string;
}

export interface KeyUseStore {
  append(use: KeyUseRecord): Promise<KeyUseRecord>;
  /**
   * Group commit of uses (unique by id: DUPLICATE when any id is taken or repeated). Resolves
   * once all are durable. SQLite: one transaction, all or nothing. MongoDB: one ordered
   * insertMany, which keeps the uses before a failing one — over-recording, which is harmless:
   * the caller of every use in a failed batch gets the error and returns no signature.
   */
  appendMany(uses: KeyUseRecord[]): Promise<void>;
  list(options?: ListOptions & { keyId?: string }): Promise<Page<KeyUseRecord>>;
}

export interface CounterStore {
  /** Returns the next value of the named counter, starting at 1; never the same value twice. */
  next(name: string): Promise<number>;
  /** The last value handed out, 0 if none. */
  current(name: string): Promise<number>;
}

/** Small singleton documents (CA hierarchy ids, deployment salt …). */
export interface SettingStore {
  get<T = unknown>(key: string): Promise<T | null>;
  /** Writes the value if the key is absent; returns whichever value is stored afterwards. */
  putIfAbsent<T>(key: string, value: T): Promise<T>;
}

/** A foreign CA certificate imported as a trust anchor for verification. */
export interface TrustAnchorRecord {
  /** SHA-256 of the certificate DER, lower-case hex. Unique. */
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** DER, base64. */
  der: string;
  label: string;
  addedAt: string;
  /** API key id of the admin who imported it (null when imported from the command line). */
  addedBy: string | null;
}

export interface TrustAnchorStore {
  add(anchor: TrustAnchorRecord): Promise<TrustAnchorRecord>;
  get(fingerprint: string): Promise<TrustAnchorRecord | null>;
  list(options?: ListOptions): Promise<Page<TrustAnchorRecord>>;
}

/** One transparency-log entry (src/log): the canonical entry bytes are what the leaf hashes. */
export interface LogEntryRecord {
  /** 0-based, gap-free, unique. */
  index: number;
  /** RFC 8785 canonical JSON of the entry, base64. */
  leafInput: string;
  /** Event identity (e.g. certificate.revoked:<serial>), for idempotent repair. */
  eventId: string;
  type: string;
  createdAt: string;
}

/** Hash of the complete subtree at (level, index): leaves [index·2^level, (index+1)·2^level). */
export interface LogNodeRecord {
  level: number;
  index: number;
  hash: Buffer;
}

export interface LogCheckpointRecord {
  size: number;
  /** SHA-256 root, hex. */
  rootHash: string;
  /** The signed note (C2SP checkpoint) as served. */
  note: string;
  createdAt: string;
}

/**
 * Storage of the Merkle log. appendBatch writes entries (unique by index: DUPLICATE when any
 * index is taken) and then the tree nodes they complete; on SQLite both in one transaction, on
 * MongoDB in two ordered writes (LogService repairs a crash between them at start).
 */
export interface LogStore {
  appendBatch(entries: LogEntryRecord[], nodes: LogNodeRecord[]): Promise<void>;
  /** Idempotent: writing an existing node again is a no-op. */
  putNodes(nodes: LogNodeRecord[]): Promise<void>;
  /** Nodes in the order asked; null where absent. */
  getNodes(ids: readonly { level: number; index: number }[]): Promise<(Buffer | null)[]>;
  /** Entries with start ≤ index < end, in order. */
  getEntries(start: number, end: number): Promise<LogEntryRecord[]>;
  findByEventId(eventId: string): Promise<LogEntryRecord | null>;
  /** Number of entries (highest index + 1). */
  size(): Promise<number>;
  /** Idempotent by size: an existing checkpoint of that size is kept. */
  putCheckpoint(c: LogCheckpointRecord): Promise<LogCheckpointRecord>;
  getCheckpoint(size: number): Promise<LogCheckpointRecord | null>;
  latestCheckpoint(): Promise<LogCheckpointRecord | null>;
  /** Checkpoints in size order, size > after. */
  listCheckpoints(after: number, limit: number): Promise<LogCheckpointRecord[]>;
}

import type { SealStore } from '../seals/ports';
import type { LicenceStore } from '../licences/ports';
import type { ArchiveStore } from '../archive/ports';

export interface Stores {
  readonly kind: 'sqlite' | 'mongo';
  agencies: AgencyStore;
  apiKeys: ApiKeyStore;
  certificates: CertificateStore;
  keys: KeyRecordStore;
  keyUses: KeyUseStore;
  counters: CounterStore;
  settings: SettingStore;
  trustAnchors: TrustAnchorStore;
  log: LogStore;
  seals: SealStore;
  licences: LicenceStore;
  archive: ArchiveStore;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
