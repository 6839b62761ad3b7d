import type Database from 'better-sqlite3';
import { ConflictError, NotFoundError } from '../../errors';
import type { LicenceLookupRecord, LicenceRecord, LicenceStore } from '../../licences/ports';
import { clampLimit, decodeCursor, toPage } from '../paging';

type Row = Record<string, unknown>;

export const LICENCES_MIGRATION = `
  CREATE TABLE licences (
    id TEXT PRIMARY KEY NOT NULL,
    agency_code TEXT NOT NULL,
    type_id TEXT NOT NULL,
    type_code TEXT NOT NULL,
    identifier TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL,
    version INTEGER NOT NULL,
    seal_id TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    holder_code_type TEXT NOT NULL,
    holder_code TEXT NOT NULL,
    data TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    revocation_reason TEXT,
    revocation_list_id TEXT NOT NULL,
    suspension_list_id TEXT NOT NULL,
    status_index INTEGER NOT NULL,
    idempotency_key TEXT UNIQUE,
    previous_id TEXT,
    superseded_by TEXT,
    credential TEXT NOT NULL,
    qr_token TEXT NOT NULL,
    pdf TEXT,
    generation INTEGER NOT NULL,
    logged_generation INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (revocation_list_id, status_index)
  ) WITHOUT ROWID;
  CREATE INDEX licences_holder ON licences (holder_code, type_id, id);
  CREATE INDEX licences_agency ON licences (agency_code, id);
  CREATE INDEX licences_unlogged ON licences (logged_generation, generation);
  CREATE INDEX licences_rev_list ON licences (revocation_list_id, status);
  CREATE INDEX licences_susp_list ON licences (suspension_list_id, status);

  CREATE TABLE licence_lookups (
    id TEXT PRIMARY KEY NOT NULL,
    api_key_id TEXT NOT NULL,
    agency_code TEXT,
    purpose TEXT NOT NULL,
    holder_digest TEXT NOT NULL,
    type_id TEXT,
    returned TEXT NOT NULL,
    log_index INTEGER,
    at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX licence_lookups_agency ON licence_lookups (agency_code, id);
`;

const COLS: Record<keyof LicenceRecord, string> = {
  id: 'id',
  agencyCode: 'agency_code',
  typeId: 'type_id',
  typeCode: 'type_code',
  identifier: 'identifier',
  serial: 'serial',
  version: 'version',
  sealId: 'seal_id',
  holderName: 'holder_name',
  holderCodeType: 'holder_code_type',
  holderCode: 'holder_code',
  data: 'data',
  validFrom: 'valid_from',
  validUntil: 'valid_until',
  status: 'status',
  revocationReason: 'revocation_reason',
  revocationListId: 'revocation_list_id',
  suspensionListId: 'suspension_list_id',
  statusIndex: 'status_index',
  idempotencyKey: 'idempotency_key',
  previousId: 'previous_id',
  supersededBy: 'superseded_by',
  credential: 'credential',
  qrToken: 'qr_token',
  pdf: 'pdf',
  generation: 'generation',
  loggedGeneration: 'logged_generation',
  issuedAt: 'issued_at',
  updatedAt: 'updated_at',
};
const FIELDS = Object.keys(COLS) as (keyof LicenceRecord)[];

function toLicence(r: Row): LicenceRecord {
  const o: Record<string, unknown> = {};
  for (const f of FIELDS) o[f] = r[COLS[f]] ?? null;
  o.data = JSON.parse(r.data as string);
  return o as unknown as LicenceRecord;
}

function toLookup(r: Row): LicenceLookupRecord {
  return {
    id: r.id as string,
    apiKeyId: r.api_key_id as string,
    agencyCode: (r.agency_code as string | null) ?? null,
    purpose: r.purpose as string,
    holderDigest: r.holder_digest as string,
    typeId: (r.type_id as string | null) ?? null,
    returned: JSON.parse(r.returned as string),
    logIndex: (r.log_index as number | null) ?? null,
    at: r.at as string,
  };
}

const isUnique = (e: unknown) => {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
};

export function sqliteLicenceStore(db: Database.Database): LicenceStore {
  const insert = db.prepare(`INSERT INTO licences (${FIELDS.map((f) => COLS[f]).join(', ')}) VALUES (${FIELDS.map((f) => '@' + f).join(', ')})`);
  const byId = db.prepare('SELECT * FROM licences WHERE id = ?');
  const get = (id: string) => {
    const r = byId.get(id) as Row | undefined;
    return r ? toLicence(r) : null;
  };
  return {
    async create(l) {
      try {
        insert.run({ ...l, data: JSON.stringify(l.data) });
      } catch (e) {
        if (isUnique(e)) throw new ConflictError(`Licence ${l.id} (or its identifier, idempotency key or status index) already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return l;
    },
    async get(id) {
      return get(id);
    },
    async getByIdentifier(identifier) {
      const r = db.prepare('SELECT * FROM licences WHERE identifier = ?').get(identifier) as Row | undefined;
      return r ? toLicence(r) : null;
    },
    async getByIdempotencyKey(key) {
      const r = db.prepare('SELECT * FROM licences WHERE idempotency_key = ?').get(key) as Row | undefined;
      return r ? toLicence(r) : null;
    },
    async list(q) {
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
      eq('holder_code', q?.holderCode);
      eq('type_id', q?.typeId);
      eq('status', q?.status);
      if (after !== null) {
        where.push('id > ?');
        args.push(after);
      }
      const rows = db.prepare(`SELECT * FROM licences${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`).all(...args, limit + 1) as Row[];
      return toPage(rows.map(toLicence), limit, (l) => l.id);
    },
    async transition(id, expected, next, at, extra = {}) {
      const sets = ['status = @next', 'generation = generation + 1', 'updated_at = @at'];
      if (extra.revocationReason !== undefined) sets.push('revocation_reason = @revocationReason');
      if (extra.supersededBy !== undefined) sets.push('superseded_by = @supersededBy');
      const info = db
        .prepare(`UPDATE licences SET ${sets.join(', ')} WHERE id = @id AND status = @status AND generation = @generation`)
        .run({ next, at, id, status: expected.status, generation: expected.generation, revocationReason: extra.revocationReason ?? null, supersededBy: extra.supersededBy ?? null });
      const l = get(id);
      if (!l) throw new NotFoundError(`Licence ${id}`);
      if (info.changes !== 1) throw new ConflictError(`Licence ${id} is ${l.status}; the change was not applied`, 'STATE_CONFLICT');
      return l;
    },
    async markLogged(id, generation) {
      db.prepare('UPDATE licences SET logged_generation = MAX(logged_generation, ?) WHERE id = ?').run(generation, id);
    },
    async listUnlogged() {
      return (db.prepare('SELECT * FROM licences WHERE logged_generation < generation ORDER BY id').all() as Row[]).map(toLicence);
    },
    async statusIndexes(listId, purpose) {
      const sql =
        purpose === 'revocation'
          ? "SELECT status_index FROM licences WHERE revocation_list_id = ? AND status = 'revoked'"
          : "SELECT status_index FROM licences WHERE suspension_list_id = ? AND status = 'suspended'";
      return (db.prepare(sql).all(listId) as { status_index: number }[]).map((r) => r.status_index);
    },
    async recordLookup(r) {
      try {
        db.prepare(
          `INSERT INTO licence_lookups (id, api_key_id, agency_code, purpose, holder_digest, type_id, returned, log_index, at)
           VALUES (@id, @apiKeyId, @agencyCode, @purpose, @holderDigest, @typeId, @returned, @logIndex, @at)`,
        ).run({ ...r, returned: JSON.stringify(r.returned) });
      } catch (e) {
        if (isUnique(e)) throw new ConflictError(`Lookup ${r.id} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return r;
    },
    async listLookups(options) {
      const limit = clampLimit(options);
      const after = decodeCursor(options?.cursor);
      const where: string[] = [];
      const args: unknown[] = [];
      if (options?.agencyCode !== undefined) {
        where.push(options.agencyCode === null ? 'agency_code IS NULL' : 'agency_code = ?');
        if (options.agencyCode !== null) args.push(options.agencyCode);
      }
      if (after !== null) {
        where.push('id > ?');
        args.push(after);
      }
      const rows = db.prepare(`SELECT * FROM licence_lookups${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`).all(...args, limit + 1) as Row[];
      return toPage(rows.map(toLookup), limit, (x) => x.id);
    },
  };
}
