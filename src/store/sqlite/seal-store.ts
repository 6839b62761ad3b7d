import type Database from 'better-sqlite3';
import { ConflictError, NotFoundError } from '../../errors';
import type { SealRecord, SealStore } from '../../seals/ports';
import { clampLimit, decodeCursor, toPage } from '../paging';

type Row = Record<string, unknown>;

export const SEALS_MIGRATION = `
  CREATE TABLE seals (
    id TEXT PRIMARY KEY NOT NULL,
    agency_code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_store TEXT NOT NULL,
    key_id TEXT NOT NULL,
    certificate_serial TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    generation INTEGER NOT NULL,
    logged_generation INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX seals_agency ON seals (agency_code, id);
  CREATE INDEX seals_unlogged ON seals (logged_generation, generation);
`;

const toSeal = (r: Row): SealRecord => ({
  id: r.id as string,
  agencyCode: r.agency_code as string,
  name: r.name as string,
  kind: r.kind as SealRecord['kind'],
  algorithm: r.algorithm as SealRecord['algorithm'],
  keyStore: r.key_store as SealRecord['keyStore'],
  keyId: r.key_id as string,
  certificateSerial: r.certificate_serial as string,
  status: r.status as SealRecord['status'],
  generation: r.generation as number,
  loggedGeneration: r.logged_generation as number,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

export function sqliteSealStore(db: Database.Database): SealStore {
  const get = (id: string) => {
    const r = db.prepare('SELECT * FROM seals WHERE id = ?').get(id) as Row | undefined;
    return r ? toSeal(r) : null;
  };
  return {
    async create(s) {
      try {
        db.prepare(
          `INSERT INTO seals (id, agency_code, name, kind, algorithm, key_store, key_id, certificate_serial, status, generation,
             logged_generation, created_at, updated_at)
           VALUES (@id, @agencyCode, @name, @kind, @algorithm, @keyStore, @keyId, @certificateSerial, @status, @generation,
             @loggedGeneration, @createdAt, @updatedAt)`,
        ).run(s);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(`Seal ${s.id} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return s;
    },
    async get(id) {
      return get(id);
    },
    async list(options) {
      const limit = clampLimit(options);
      const after = decodeCursor(options?.cursor);
      const where: string[] = [];
      const args: unknown[] = [];
      if (options?.agencyCode !== undefined) {
        where.push('agency_code = ?');
        args.push(options.agencyCode);
      }
      if (after !== null) {
        where.push('id > ?');
        args.push(after);
      }
      const rows = db
        .prepare(`SELECT * FROM seals${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`)
        .all(...args, limit + 1) as Row[];
      return toPage(rows.map(toSeal), limit, (s) => s.id);
    },
    async transition(id, expected, next, at) {
      const info = db
        .prepare('UPDATE seals SET status = ?, generation = generation + 1, updated_at = ? WHERE id = ? AND status = ? AND generation = ?')
        .run(next, at, id, expected.status, expected.generation);
      const s = get(id);
      if (!s) throw new NotFoundError(`Seal ${id}`);
      if (info.changes !== 1) throw new ConflictError(`Seal ${id} is ${s.status}; the change was not applied`, 'STATE_CONFLICT');
      return s;
    },
    async markLogged(id, generation) {
      db.prepare('UPDATE seals SET logged_generation = MAX(logged_generation, ?) WHERE id = ?').run(generation, id);
    },
    async listUnlogged() {
      return (db.prepare('SELECT * FROM seals WHERE logged_generation < generation ORDER BY id').all() as Row[]).map(toSeal);
    },
  };
}
