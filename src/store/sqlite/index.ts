import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConflictError, NotFoundError, StoreUnavailableError } from '../../errors';
import { clampLimit, decodeCursor, toPage } from '../paging';
import type {
  Agency,
  AgencyStore,
  ApiKeyRecord,
  ApiKeyStore,
  CertificateRecord,
  CertificateStore,
  CounterStore,
  KeyRecord,
  KeyRecordStore,
  KeyUseRecord,
  KeyUseStore,
  ListOptions,
  Page,
  RevocationReason,
  SettingStore,
  Stores,
  TrustAnchorRecord,
  TrustAnchorStore,
} from '../ports';
import { INSERT_KEY_USE_SQL, SqliteKeyUseWriter } from './key-use-writer';
import { sqliteLogStore } from './log-store';
import { sqliteSealStore } from './seal-store';
import { sqliteLicenceStore } from './licence-store';
import { sqliteArchiveStore } from './archive-store';
import { MIGRATIONS } from './schema';

type Db = Database.Database;
type Row = Record<string, unknown>;

/** SQLite reports unique and primary-key violations with these extended codes. */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function insertOrConflict(db: Db, sql: string, params: Row, what: string): void {
  try {
    db.prepare(sql).run(params);
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError(`${what} already exists`, 'DUPLICATE', { cause: e });
    throw e;
  }
}

/** Keyset pagination over one key column: WHERE key > cursor ORDER BY key LIMIT n+1. */
function listBy<T>(
  db: Db,
  table: string,
  keyCol: string,
  where: string[],
  params: unknown[],
  options: ListOptions | undefined,
  map: (r: Row) => T,
  keyOf: (t: T) => string,
): Page<T> {
  const limit = clampLimit(options);
  const after = decodeCursor(options?.cursor);
  const conds = [...where];
  const args = [...params];
  if (after !== null) {
    conds.push(`${keyCol} > ?`);
    args.push(after);
  }
  const sql = `SELECT * FROM ${table}${conds.length ? ' WHERE ' + conds.join(' AND ') : ''} ORDER BY ${keyCol} LIMIT ?`;
  const rows = db.prepare(sql).all(...args, limit + 1) as Row[];
  return toPage(rows.map(map), limit, keyOf);
}

const s = (v: unknown): string => v as string;
const sn = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

function toAgency(r: Row): Agency {
  return { code: s(r.code), name: s(r.name), region: sn(r.region), createdAt: s(r.created_at) };
}
function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: s(r.id),
    agencyCode: sn(r.agency_code),
    roles: JSON.parse(s(r.roles)),
    label: s(r.label),
    keyHash: s(r.key_hash),
    prefix: s(r.prefix),
    createdAt: s(r.created_at),
    revokedAt: sn(r.revoked_at),
  };
}
function toCert(r: Row): CertificateRecord {
  return {
    serial: s(r.serial),
    issuer: s(r.issuer),
    profile: s(r.profile),
    subject: s(r.subject),
    agencyCode: sn(r.agency_code),
    keyId: sn(r.key_id),
    notBefore: s(r.not_before),
    notAfter: s(r.not_after),
    der: s(r.der),
    status: s(r.status) as CertificateRecord['status'],
    revokedAt: sn(r.revoked_at),
    revocationReason: sn(r.revocation_reason) as RevocationReason | null,
    createdAt: s(r.created_at),
  };
}
function toKey(r: Row): KeyRecord {
  return {
    id: s(r.id),
    algorithm: s(r.algorithm),
    keyStore: s(r.key_store) as KeyRecord['keyStore'],
    label: s(r.label),
    agencyCode: sn(r.agency_code),
    publicKey: s(r.public_key),
    wrappedKey: sn(r.wrapped_key),
    tokenKeyId: sn(r.token_key_id),
    createdAt: s(r.created_at),
  };
}
function toKeyUse(r: Row): KeyUseRecord {
  return {
    id: s(r.id),
    keyId: s(r.key_id),
    apiKeyId: sn(r.api_key_id),
    agencyCode: sn(r.agency_code),
    purpose: s(r.purpose),
    digest: s(r.digest),
    at: s(r.at),
  };
}

function toAnchor(r: Row): TrustAnchorRecord {
  return {
    fingerprint: s(r.fingerprint),
    subject: s(r.subject),
    notBefore: s(r.not_before),
    notAfter: s(r.not_after),
    der: s(r.der),
    label: s(r.label),
    addedAt: s(r.added_at),
    addedBy: sn(r.added_by),
  };
}

/** `agencyCode: null` filters platform-owned rows; undefined does not filter. */
function agencyFilter(agencyCode: string | null | undefined, where: string[], params: unknown[]): void {
  if (agencyCode === null) where.push('agency_code IS NULL');
  else if (agencyCode !== undefined) {
    where.push('agency_code = ?');
    params.push(agencyCode);
  }
}

export interface SqliteOptions {
  /** Path of the database file; ':memory:' for a private in-memory database. */
  file: string;
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so each
 * statement is atomic with respect to this process; busy_timeout lets two processes (two
 * connections) write the same file without SQLITE_BUSY failures.
 */
export function openSqliteStores(options: SqliteOptions): Stores {
  if (options.file !== ':memory:') fs.mkdirSync(path.dirname(options.file), { recursive: true });
  let db: Db;
  try {
    db = new Database(options.file);
  } catch (e) {
    throw new StoreUnavailableError(`cannot open SQLite database ${options.file}`, { cause: e });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const agencies: AgencyStore = {
    async create(a) {
      insertOrConflict(
        db,
        'INSERT INTO agencies (code, name, region, created_at) VALUES (@code, @name, @region, @createdAt)',
        { ...a },
        `Agency ${a.code}`,
      );
      return a;
    },
    async get(code) {
      const r = db.prepare('SELECT * FROM agencies WHERE code = ?').get(code) as Row | undefined;
      return r ? toAgency(r) : null;
    },
    async list(options) {
      return listBy(db, 'agencies', 'code', [], [], options, toAgency, (a) => a.code);
    },
  };

  const apiKeys: ApiKeyStore = {
    async create(k) {
      insertOrConflict(
        db,
        `INSERT INTO api_keys (id, agency_code, roles, label, key_hash, prefix, created_at, revoked_at)
         VALUES (@id, @agencyCode, @roles, @label, @keyHash, @prefix, @createdAt, @revokedAt)`,
        { ...k, roles: JSON.stringify(k.roles) },
        `API key ${k.id}`,
      );
      return k;
    },
    async get(id) {
      const r = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
      return r ? toApiKey(r) : null;
    },
    async findByHash(keyHash) {
      const r = db.prepare('SELECT * FROM api_keys WHERE key_hash = ?').get(keyHash) as Row | undefined;
      return r ? toApiKey(r) : null;
    },
    async list(options) {
      const where: string[] = [];
      const params: unknown[] = [];
      agencyFilter(options?.agencyCode, where, params);
      return listBy(db, 'api_keys', 'id', where, params, options, toApiKey, (k) => k.id);
    },
    async revoke(id, at) {
      const info = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
      const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
      if (!row) throw new NotFoundError(`API key ${id}`);
      if (info.changes !== 1) throw new ConflictError(`API key ${id} is already revoked`, 'ALREADY_REVOKED');
      return toApiKey(row);
    },
  };

  const certificates: CertificateStore = {
    async create(c) {
      insertOrConflict(
        db,
        `INSERT INTO certificates (serial, issuer, profile, subject, agency_code, key_id, not_before, not_after, der,
           status, revoked_at, revocation_reason, created_at)
         VALUES (@serial, @issuer, @profile, @subject, @agencyCode, @keyId, @notBefore, @notAfter, @der,
           @status, @revokedAt, @revocationReason, @createdAt)`,
        { ...c },
        `Certificate with serial ${c.serial}`,
      );
      return c;
    },
    async get(serial) {
      const r = db.prepare('SELECT * FROM certificates WHERE serial = ?').get(serial) as Row | undefined;
      return r ? toCert(r) : null;
    },
    async list(options) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (options?.issuer !== undefined) {
        where.push('issuer = ?');
        params.push(options.issuer);
      }
      agencyFilter(options?.agencyCode, where, params);
      return listBy(db, 'certificates', 'serial', where, params, options, toCert, (c) => c.serial);
    },
    async revoke(serial, at, reason) {
      const info = db
        .prepare(
          `UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ?
           WHERE serial = ? AND status = 'good'`,
        )
        .run(at, reason, serial);
      const row = db.prepare('SELECT * FROM certificates WHERE serial = ?').get(serial) as Row | undefined;
      if (!row) throw new NotFoundError(`Certificate ${serial}`);
      if (info.changes !== 1) throw new ConflictError(`Certificate ${serial} is already revoked`, 'ALREADY_REVOKED');
      return toCert(row);
    },
    async listRevoked(issuer) {
      const rows = db
        .prepare(`SELECT * FROM certificates WHERE issuer = ? AND status = 'revoked' ORDER BY serial`)
        .all(issuer) as Row[];
      return rows.map(toCert);
    },
  };

  const keys: KeyRecordStore = {
    async create(k) {
      insertOrConflict(
        db,
        `INSERT INTO keys (id, algorithm, key_store, label, agency_code, public_key, wrapped_key, token_key_id, created_at)
         VALUES (@id, @algorithm, @keyStore, @label, @agencyCode, @publicKey, @wrappedKey, @tokenKeyId, @createdAt)`,
        { ...k },
        `Key ${k.id}`,
      );
      return k;
    },
    async get(id) {
      const r = db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as Row | undefined;
      return r ? toKey(r) : null;
    },
    async list(options) {
      const where: string[] = [];
      const params: unknown[] = [];
      agencyFilter(options?.agencyCode, where, params);
      return listBy(db, 'keys', 'id', where, params, options, toKey, (k) => k.id);
    },
  };

  const insertKeyUse = db.prepare(INSERT_KEY_USE_SQL);
  // One transaction, so one fsync (synchronous=FULL) for the whole batch; for a file, committed
  // on a worker thread so that signing goes on meanwhile (see key-use-writer.ts).
  const insertKeyUses = db.transaction((uses: KeyUseRecord[]) => {
    for (const u of uses) insertKeyUse.run(u);
  });
  const keyUseWriter = options.file === ':memory:' ? null : new SqliteKeyUseWriter(options.file);
  const keyUses: KeyUseStore = {
    async append(u) {
      try {
        insertKeyUse.run({ ...u });
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError(`Key use ${u.id} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return u;
    },
    async appendMany(uses) {
      if (uses.length === 0) return;
      try {
        if (keyUseWriter) await keyUseWriter.write(uses);
        else insertKeyUses(uses);
      } catch (e) {
        if (isUniqueViolation(e)) throw new ConflictError('A key use in the batch already exists', 'DUPLICATE', { cause: e });
        throw e;
      }
    },
    async list(options) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (options?.keyId !== undefined) {
        where.push('key_id = ?');
        params.push(options.keyId);
      }
      return listBy(db, 'key_uses', 'id', where, params, options, toKeyUse, (u) => u.id);
    },
  };

  // One statement: the upsert and the read of the new value are atomic, also across processes
  // (SQLite takes the write lock for the whole statement).
  const nextStmt = db.prepare(
    `INSERT INTO counters (name, value) VALUES (?, 1)
     ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`,
  );
  const counters: CounterStore = {
    async next(name) {
      const r = nextStmt.get(name) as { value: number };
      return r.value;
    },
    async current(name) {
      const r = db.prepare('SELECT value FROM counters WHERE name = ?').get(name) as { value: number } | undefined;
      return r ? r.value : 0;
    },
  };

  const settings: SettingStore = {
    async get<T>(key: string) {
      const r = db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
      return r ? (JSON.parse(r.value) as T) : null;
    },
    async putIfAbsent<T>(key: string, value: T) {
      db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(key, JSON.stringify(value));
      const r = db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string };
      return JSON.parse(r.value) as T;
    },
  };

  const trustAnchors: TrustAnchorStore = {
    async add(a) {
      insertOrConflict(
        db,
        `INSERT INTO trust_anchors (fingerprint, subject, not_before, not_after, der, label, added_at, added_by)
         VALUES (@fingerprint, @subject, @notBefore, @notAfter, @der, @label, @addedAt, @addedBy)`,
        { ...a },
        `Trust anchor ${a.fingerprint}`,
      );
      return a;
    },
    async get(fingerprint) {
      const r = db.prepare('SELECT * FROM trust_anchors WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
      return r ? toAnchor(r) : null;
    },
    async list(options) {
      return listBy(db, 'trust_anchors', 'fingerprint', [], [], options, toAnchor, (a) => a.fingerprint);
    },
  };

  return {
    kind: 'sqlite',
    agencies,
    apiKeys,
    certificates,
    keys,
    keyUses,
    counters,
    settings,
    trustAnchors,
    log: sqliteLogStore(db),
    seals: sqliteSealStore(db),
    licences: sqliteLicenceStore(db),
    archive: sqliteArchiveStore(db),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      await keyUseWriter?.close();
      if (db.open) db.close();
    },
  };
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
