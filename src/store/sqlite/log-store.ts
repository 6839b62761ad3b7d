import type Database from 'better-sqlite3';
import { ConflictError } from '../../errors';
import type { LogCheckpointRecord, LogEntryRecord, LogNodeRecord, LogStore } from '../ports';

type Row = Record<string, unknown>;

const toEntry = (r: Row): LogEntryRecord => ({
  index: r.idx as number,
  leafInput: r.leaf_input as string,
  eventId: r.event_id as string,
  type: r.type as string,
  createdAt: r.created_at as string,
});
const toCheckpoint = (r: Row): LogCheckpointRecord => ({
  size: r.size as number,
  rootHash: r.root_hash as string,
  note: r.note as string,
  createdAt: r.created_at as string,
});

/** The log on SQLite: an append batch (entries and the nodes they complete) is one transaction. */
export function sqliteLogStore(db: Database.Database): LogStore {
  const insertEntry = db.prepare(
    'INSERT INTO log_entries (idx, leaf_input, event_id, type, created_at) VALUES (@index, @leafInput, @eventId, @type, @createdAt)',
  );
  const insertNode = db.prepare('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const getNode = db.prepare('SELECT hash FROM log_nodes WHERE level = ? AND idx = ?').pluck();
  const appendTx = db.transaction((entries: LogEntryRecord[], nodes: LogNodeRecord[]) => {
    for (const e of entries) insertEntry.run(e);
    for (const n of nodes) insertNode.run(n.level, n.index, n.hash);
  });
  const putNodesTx = db.transaction((nodes: LogNodeRecord[]) => {
    for (const n of nodes) insertNode.run(n.level, n.index, n.hash);
  });

  return {
    async appendBatch(entries, nodes) {
      try {
        appendTx(entries, nodes);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError('A log index in the batch is already taken', 'DUPLICATE', { cause: e });
        }
        throw e;
      }
    },
    async putNodes(nodes) {
      putNodesTx(nodes);
    },
    async getNodes(ids) {
      return ids.map((id) => (getNode.get(id.level, id.index) as Buffer | undefined) ?? null);
    },
    async getEntries(start, end) {
      return (db.prepare('SELECT * FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx').all(start, end) as Row[]).map(toEntry);
    },
    async findByEventId(eventId) {
      const r = db.prepare('SELECT * FROM log_entries WHERE event_id = ? ORDER BY idx LIMIT 1').get(eventId) as Row | undefined;
      return r ? toEntry(r) : null;
    },
    async size() {
      const r = db.prepare('SELECT MAX(idx) AS m FROM log_entries').get() as { m: number | null };
      return r.m === null ? 0 : r.m + 1;
    },
    async putCheckpoint(c) {
      db.prepare('INSERT INTO log_checkpoints (size, root_hash, note, created_at) VALUES (@size, @rootHash, @note, @createdAt) ON CONFLICT DO NOTHING').run(c);
      return toCheckpoint(db.prepare('SELECT * FROM log_checkpoints WHERE size = ?').get(c.size) as Row);
    },
    async getCheckpoint(size) {
      const r = db.prepare('SELECT * FROM log_checkpoints WHERE size = ?').get(size) as Row | undefined;
      return r ? toCheckpoint(r) : null;
    },
    async latestCheckpoint() {
      const r = db.prepare('SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1').get() as Row | undefined;
      return r ? toCheckpoint(r) : null;
    },
    async listCheckpoints(after, limit) {
      return (db.prepare('SELECT * FROM log_checkpoints WHERE size > ? ORDER BY size LIMIT ?').all(after, limit) as Row[]).map(toCheckpoint);
    },
  };
}
