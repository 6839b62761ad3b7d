import type { ListOptions, Page } from '../store/ports';

/**
 * E-archive storage port (Art. 33). Adapters: src/store/sqlite/archive-store.ts and
 * src/store/mongo/archive-store.ts, held to one contract (tests/contract/archive-store-contract.ts).
 */

/** DA/T 22 retention periods (保管期限): 永久, 定期30年, 定期10年. */
export const RETENTION_PERIODS = ['permanent', '30y', '10y'] as const;
export type RetentionPeriod = (typeof RETENTION_PERIODS)[number];

/** 密级 (security classification) of records this archive accepts: classified records stay out (see docs/archive.md). */
export const CLASSIFICATIONS = ['public', 'internal', 'restricted'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** DA/T 46 core metadata of one record, as filed. */
export interface ArchiveMetadata {
  /** 题名 */
  title: string;
  /** 责任者: the responsible agency's name. */
  responsibleAgency: string;
  /** 日期: YYYY-MM-DD, the document's date. */
  date: string;
  /** 文件编号, e.g. 浙政发〔2026〕1号. */
  documentNumber: string;
  /** 保管期限 */
  retention: RetentionPeriod;
  /** 密级 */
  classification: Classification;
  /** 全宗号 */
  fonds: string;
  /** 类别 / 分类号 (series) */
  series: string;
  /** 文种 (record type), e.g. notice, licence, reply. */
  recordType: string;
  /** 计算机文件名: the file's real name. */
  fileName: string;
  /** Optional: what the sender says the file's SHA-256 is (received package = sent package). */
  sha256?: string;
  /** Optional: the declared size in bytes. */
  size?: number;
}

export type CheckName = 'authenticity' | 'integrity' | 'usability' | 'security';
export interface PropertyCheck {
  name: CheckName;
  passed: boolean;
  /** One line per finding; for a pass, what was checked. */
  reasons: string[];
}
export interface FilingChecks {
  passed: boolean;
  checks: PropertyCheck[];
}

export type ArchiveRecordStatus = 'pending-evidence' | 'sealed' | 'disposed';

export interface ArchiveRecord {
  /** arc_<time><random> */
  id: string;
  agencyCode: string;
  /** 档号: unique per agency, from a store counter. */
  registrationNumber: string;
  fonds: string;
  year: number;
  title: string;
  metadata: ArchiveMetadata;
  mediaType: string;
  size: number;
  /** SHA-256 of the file, hex: the leaf of the archive hash tree. */
  sha256: string;
  /** The file, base64. */
  content: string;
  checks: FilingChecks;
  /** The verification engine's report at filing time (src/verify/report.ts). */
  report: unknown;
  /** Set when an admin forced the filing of a record that failed a check. */
  forced: { apiKeyId: string | null; reason: string } | null;
  status: ArchiveRecordStatus;
  /** The batch whose archive timestamp covers this record (null while pending). */
  batchId: string | null;
  /** Reduced hash tree (RFC 4998 §4.2), hex hashes per partial hash tree; null while pending or for a one-record batch. */
  evidencePath: string[][] | null;
  filedBy: string | null;
  logIndex: number | null;
  /** A legal hold forbids disposal until released. */
  legalHold: { reason: string; by: string | null; at: string } | null;
  /** Tombstone: set when the record was disposed of (its file erased, its metadata and digest kept). */
  disposal: { reason: string; approvedBy: string | null; at: string; logIndex: number | null } | null;
  createdAt: string;
  updatedAt: string;
}

/** One archive timestamp of a batch: the first covers the hash-tree root; each later one the previous token (RFC 4998 §5.2). */
export interface ArchiveTimestamp {
  /** TimeStampToken (ContentInfo) DER, base64. */
  token: string;
  genTime: string;
  /** What it covers, hex: the tree root, or the hash of the previous token. */
  imprint: string;
}

export interface ArchiveBatch {
  /** atb_<time><random> */
  id: string;
  hashAlgorithm: 'sha256';
  /** Hash-tree root, hex. */
  root: string;
  size: number;
  /** The archive timestamp chain, oldest first (never shrinks). */
  timestamps: ArchiveTimestamp[];
  createdAt: string;
  updatedAt: string;
}

export interface ReverificationRecord {
  id: string;
  recordId: string;
  report: unknown;
  by: string | null;
  at: string;
}

export interface ArchiveRecordQuery extends ListOptions {
  agencyCode?: string;
  fonds?: string;
  year?: number;
  /** Substring of the title (case-sensitive, literal). */
  title?: string;
  status?: ArchiveRecordStatus;
}

export interface ArchiveStore {
  /** DUPLICATE when the id or (agencyCode, registrationNumber) is taken. */
  createRecord(r: ArchiveRecord): Promise<ArchiveRecord>;
  getRecord(id: string): Promise<ArchiveRecord | null>;
  /** Pages by id ascending. */
  listRecords(q?: ArchiveRecordQuery): Promise<Page<ArchiveRecord>>;
  /** Records still waiting for their archive timestamp (start-up repair re-batches them). */
  listPending(limit: number): Promise<ArchiveRecord[]>;
  /** Compare-and-swap pending-evidence → sealed; STATE_CONFLICT if already sealed. */
  sealRecord(id: string, batchId: string, path: string[][] | null, at: string): Promise<void>;
  createBatch(b: ArchiveBatch): Promise<ArchiveBatch>;
  getBatch(id: string): Promise<ArchiveBatch | null>;
  listBatches(options?: ListOptions): Promise<Page<ArchiveBatch>>;
  /** Compare-and-swap on the chain length: appends when it has `expectedLength` timestamps, STATE_CONFLICT otherwise. */
  appendTimestamp(batchId: string, expectedLength: number, ts: ArchiveTimestamp, at: string): Promise<ArchiveBatch>;
  /** Sets (or with null releases) the legal hold. STATE_CONFLICT on a disposed record. */
  setLegalHold(id: string, hold: ArchiveRecord['legalHold'], at: string): Promise<ArchiveRecord>;
  /**
   * Compare-and-swap sealed ∧ no hold → disposed: erases the file and writes the tombstone.
   * STATE_CONFLICT when the record is held, pending or already disposed.
   */
  dispose(id: string, disposal: NonNullable<ArchiveRecord['disposal']>, at: string): Promise<ArchiveRecord>;
  addReverification(r: ReverificationRecord): Promise<ReverificationRecord>;
  listReverifications(recordId: string): Promise<ReverificationRecord[]>;
}
