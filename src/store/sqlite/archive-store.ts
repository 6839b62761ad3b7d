import type Database from 'better-sqlite3';
import { ConflictError, NotFoundError } from '../../errors';
import type { ArchiveBatch, ArchiveRecord, ArchiveStore, ReverificationRecord } from '../../archive/ports';
import { clampLimit, decodeCursor, toPage } from '../paging';

type Row = Record<string, unknown>;

export const ARCHIVE_MIGRATION = `
  CREATE TABLE archive_records (
    id TEXT PRIMARY KEY NOT NULL,
    agency_code TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    fonds TEXT NOT NULL,
    year INTEGER NOT NULL,
    title TEXT NOT NULL,
    metadata TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content TEXT NOT NULL,
    checks TEXT NOT NULL,
    report TEXT NOT NULL,
    forced TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending-evidence', 'sealed', 'disposed')),
    batch_id TEXT,
    evidence_path TEXT,
    filed_by TEXT,
    log_index INTEGER,
    legal_hold TEXT,
    disposal TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (agency_code, registration_number)
  ) WITHOUT ROWID;
  CREATE INDEX archive_records_agency ON archive_records (agency_code, id);
  CREATE INDEX archive_records_fonds ON archive_records (fonds, year, id);
  CREATE INDEX archive_records_pending ON archive_records (status, id);

  CREATE TABLE archive_batches (
    id TEXT PRIMARY KEY NOT NULL,
    hash_algorithm TEXT NOT NULL,
    root TEXT NOT NULL,
    size INTEGER NOT NULL,
    timestamps TEXT NOT NULL,
    ts_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE archive_reverifications (
    id TEXT PRIMARY KEY NOT NULL,
    record_id TEXT NOT NULL,
    report TEXT NOT NULL,
    by_key TEXT,
    at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX archive_reverifications_record ON archive_reverifications (record_id, id);
`;

const json = (v: unknown): unknown => (v === null || v === undefined ? null : JSON.parse(v as string));

const toRecord = (r: Row): ArchiveRecord => ({
  id: r.id as string,
  agencyCode: r.agency_code as string,
  registrationNumber: r.registration_number as string,
  fonds: r.fonds as string,
  year: r.year as number,
  title: r.title as string,
  metadata: json(r.metadata) as ArchiveRecord['metadata'],
  mediaType: r.media_type as string,
  size: r.size as number,
  sha256: r.sha256 as string,
  content: r.content as string,
  checks: json(r.checks) as ArchiveRecord['checks'],
  report: json(r.report),
  forced: json(r.forced) as ArchiveRecord['forced'],
  status: r.status as ArchiveRecord['status'],
  batchId: (r.batch_id as string | null) ?? null,
  evidencePath: json(r.evidence_path) as ArchiveRecord['evidencePath'],
  filedBy: (r.filed_by as string | null) ?? null,
  logIndex: (r.log_index as number | null) ?? null,
  legalHold: json(r.legal_hold) as ArchiveRecord['legalHold'],
  disposal: json(r.disposal) as ArchiveRecord['disposal'],
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

const toBatch = (r: Row): ArchiveBatch => ({
  id: r.id as string,
  hashAlgorithm: r.hash_algorithm as 'sha256',
  root: r.root as string,
  size: r.size as number,
  timestamps: JSON.parse(r.timestamps as string),
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

function isUnique(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** LIKE with the pattern's own wildcards escaped: a title search is a literal substring. */
function likeLiteral(s: string): string {
  return '%' + s.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

export function sqliteArchiveStore(db: Database.Database): ArchiveStore {
  const getRecord = (id: string) => {
    const r = db.prepare('SELECT * FROM archive_records WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  };
  const getBatch = (id: string) => {
    const r = db.prepare('SELECT * FROM archive_batches WHERE id = ?').get(id) as Row | undefined;
    return r ? toBatch(r) : null;
  };
  return {
    async createRecord(rec) {
      try {
        db.prepare(
          `INSERT INTO archive_records (id, agency_code, registration_number, fonds, year, title, metadata, media_type, size, sha256,
             content, checks, report, forced, status, batch_id, evidence_path, filed_by, log_index, legal_hold, disposal, created_at, updated_at)
           VALUES (@id, @agencyCode, @registrationNumber, @fonds, @year, @title, @metadata, @mediaType, @size, @sha256,
             @content, @checks, @report, @forced, @status, @batchId, @evidencePath, @filedBy, @logIndex, @legalHold, @disposal, @createdAt, @updatedAt)`,
        ).run({
          ...rec,
          metadata: JSON.stringify(rec.metadata),
          checks: JSON.stringify(rec.checks),
          report: JSON.stringify(rec.report ?? null),
          forced: rec.forced ? JSON.stringify(rec.forced) : null,
          evidencePath: rec.evidencePath ? JSON.stringify(rec.evidencePath) : null,
          legalHold: rec.legalHold ? JSON.stringify(rec.legalHold) : null,
          disposal: rec.disposal ? JSON.stringify(rec.disposal) : null,
        });
      } catch (e) {
        if (isUnique(e)) throw new ConflictError(`Archive record ${rec.id} or registration number ${rec.registrationNumber} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return rec;
    },
    async getRecord(id) {
      return getRecord(id);
    },
    async listRecords(q) {
      const limit = clampLimit(q);
      const after = decodeCursor(q?.cursor);
      const where: string[] = [];
      const args: unknown[] = [];
      const eq = (col: string, v: unknown) => {
        if (v !== undefined) {
          where.push(`${col} = ?`);
          args.push(v);
        }
      };
      eq('agency_code', q?.agencyCode);
      eq('fonds', q?.fonds);
      eq('year', q?.year);
      eq('status', q?.status);
      if (q?.title !== undefined) {
        where.push(`title LIKE ? ESCAPE '\\'`);
        args.push(likeLiteral(q.title));
      }
      if (after !== null) {
        where.push('id > ?');
        args.push(after);
      }
      const rows = db
        .prepare(`SELECT * FROM archive_records${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`)
        .all(...args, limit + 1) as Row[];
      return toPage(rows.map(toRecord), limit, (r) => r.id);
    },
    async listPending(limit) {
      return (db.prepare(`SELECT * FROM archive_records WHERE status = 'pending-evidence' ORDER BY id LIMIT ?`).all(limit) as Row[]).map(toRecord);
    },
    async sealRecord(id, batchId, path, at) {
      const info = db
        .prepare(`UPDATE archive_records SET status = 'sealed', batch_id = ?, evidence_path = ?, updated_at = ? WHERE id = ? AND status = 'pending-evidence'`)
        .run(batchId, path ? JSON.stringify(path) : null, at, id);
      if (info.changes !== 1) {
        if (!getRecord(id)) throw new NotFoundError(`Archive record ${id}`);
        throw new ConflictError(`Archive record ${id} is already sealed`, 'STATE_CONFLICT');
      }
    },
    async createBatch(b) {
      try {
        db.prepare(
          `INSERT INTO archive_batches (id, hash_algorithm, root, size, timestamps, ts_count, created_at, updated_at)
           VALUES (@id, @hashAlgorithm, @root, @size, @timestamps, @tsCount, @createdAt, @updatedAt)`,
        ).run({ ...b, timestamps: JSON.stringify(b.timestamps), tsCount: b.timestamps.length });
      } catch (e) {
        if (isUnique(e)) throw new ConflictError(`Archive batch ${b.id} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return b;
    },
    async getBatch(id) {
      return getBatch(id);
    },
    async listBatches(options) {
      const limit = clampLimit(options);
      const after = decodeCursor(options?.cursor);
      const rows = (
        after === null
          ? db.prepare('SELECT * FROM archive_batches ORDER BY id LIMIT ?').all(limit + 1)
          : db.prepare('SELECT * FROM archive_batches WHERE id > ? ORDER BY id LIMIT ?').all(after, limit + 1)
      ) as Row[];
      return toPage(rows.map(toBatch), limit, (b) => b.id);
    },
    async appendTimestamp(batchId, expectedLength, ts, at) {
      // One statement: the chain grows only from the length the caller saw (compare-and-swap).
      const info = db
        .prepare(
          `UPDATE archive_batches SET timestamps = json_insert(timestamps, '$[#]', json(?)), ts_count = ts_count + 1, updated_at = ?
           WHERE id = ? AND ts_count = ?`,
        )
        .run(JSON.stringify(ts), at, batchId, expectedLength);
      const b = getBatch(batchId);
      if (!b) throw new NotFoundError(`Archive batch ${batchId}`);
      if (info.changes !== 1) throw new ConflictError(`Archive batch ${batchId} was renewed meanwhile`, 'STATE_CONFLICT');
      return b;
    },
    async setLegalHold(id, hold, at) {
      const info = db
        .prepare(`UPDATE archive_records SET legal_hold = ?, updated_at = ? WHERE id = ? AND status != 'disposed'`)
        .run(hold ? JSON.stringify(hold) : null, at, id);
      const r = getRecord(id);
      if (!r) throw new NotFoundError(`Archive record ${id}`);
      if (info.changes !== 1) throw new ConflictError(`Archive record ${id} is disposed`, 'STATE_CONFLICT');
      return r;
    },
    async dispose(id, disposal, at) {
      const info = db
        .prepare(
          `UPDATE archive_records SET status = 'disposed', content = '', disposal = ?, updated_at = ?
           WHERE id = ? AND status = 'sealed' AND legal_hold IS NULL`,
        )
        .run(JSON.stringify(disposal), at, id);
      const r = getRecord(id);
      if (!r) throw new NotFoundError(`Archive record ${id}`);
      if (info.changes !== 1) throw new ConflictError(`Archive record ${id} is ${r.legalHold ? 'under a legal hold' : r.status}; it was not disposed of`, 'STATE_CONFLICT');
      return r;
    },
    async addReverification(r) {
      try {
        db.prepare('INSERT INTO archive_reverifications (id, record_id, report, by_key, at) VALUES (?, ?, ?, ?, ?)').run(
          r.id,
          r.recordId,
          JSON.stringify(r.report),
          r.by,
          r.at,
        );
      } catch (e) {
        if (isUnique(e)) throw new ConflictError(`Reverification ${r.id} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return r;
    },
    async listReverifications(recordId) {
      const rows = db.prepare('SELECT * FROM archive_reverifications WHERE record_id = ? ORDER BY at, id').all(recordId) as Row[];
      return rows.map(
        (r): ReverificationRecord => ({ id: r.id as string, recordId: r.record_id as string, report: JSON.parse(r.report as string), by: (r.by_key as string | null) ?? null, at: r.at as string }),
      );
    },
  };
}
