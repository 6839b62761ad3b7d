import { ConflictError } from '../../errors';
import type { LogCheckpointRecord, LogEntryRecord, LogStore } from '../ports';
import type { Models } from './models';

function isDuplicateKey(e: unknown): boolean {
  const err = e as { code?: number; writeErrors?: { code?: number }[]; cause?: { code?: number } };
  return err?.code === 11000 || err?.cause?.code === 11000 || (err?.writeErrors ?? []).some((w) => w.code === 11000);
}

const nodeKey = (level: number, index: number) => `${level}/${index}`;
type EntryDoc = { _id: number; leafInput: string; eventId: string; type: string; createdAt: string };
type CheckpointDoc = { _id: number; rootHash: string; note: string; createdAt: string };
const toEntry = (d: EntryDoc): LogEntryRecord => ({ index: d._id, leafInput: d.leafInput, eventId: d.eventId, type: d.type, createdAt: d.createdAt });
const toCheckpoint = (d: CheckpointDoc): LogCheckpointRecord => ({ size: d._id, rootHash: d.rootHash, note: d.note, createdAt: d.createdAt });

function asBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  const b = v as { buffer?: Uint8Array; value?: (asRaw?: boolean) => Uint8Array };
  if (b && typeof b.value === 'function') return Buffer.from(b.value(true));
  if (b?.buffer) return Buffer.from(b.buffer);
  throw new Error('unexpected binary value');
}

/**
 * The log on MongoDB: entries are inserted first (ordered; the `_id` is the index, so a taken
 * index is E11000 → DUPLICATE), then the nodes. A crash between the two leaves entries whose
 * nodes are missing; LogService recomputes them at start (nodes are a pure function of entries).
 */
export function mongoLogStore(m: Models): LogStore {
  const putNodes = async (nodes: { level: number; index: number; hash: Buffer }[]) => {
    if (nodes.length === 0) return;
    try {
      await m.LogNode.insertMany(
        nodes.map((n) => ({ _id: nodeKey(n.level, n.index), hash: n.hash })),
        { ordered: false },
      );
    } catch (e) {
      // An existing node has the same hash by construction: a duplicate is a no-op.
      if (!isDuplicateKey(e)) throw e;
    }
  };
  return {
    async appendBatch(entries, nodes) {
      try {
        await m.LogEntry.insertMany(
          entries.map((e) => ({ _id: e.index, leafInput: e.leafInput, eventId: e.eventId, type: e.type, createdAt: e.createdAt })),
          { ordered: true },
        );
      } catch (e) {
        if (isDuplicateKey(e)) throw new ConflictError('A log index in the batch is already taken', 'DUPLICATE', { cause: e });
        throw e;
      }
      await putNodes(nodes);
    },
    putNodes,
    async getNodes(ids) {
      // One point read per node: _id equality is an index lookup everywhere, while FerretDB 1.x
      // answers `_id: {$in: …}` by scanning the collection (measured: 240 ms per proof at 10k).
      return Promise.all(
        ids.map(async (i) => {
          const d = (await m.LogNode.findById(nodeKey(i.level, i.index)).lean().exec()) as unknown as { hash: unknown } | null;
          return d ? asBuffer(d.hash) : null;
        }),
      );
    },
    async getEntries(start, end) {
      const docs = await m.LogEntry.find({ _id: { $gte: start, $lt: end } }).sort({ _id: 1 }).lean().exec();
      return (docs as unknown as EntryDoc[]).map(toEntry);
    },
    async findByEventId(eventId) {
      const d = await m.LogEntry.findOne({ eventId: { $eq: eventId } }).sort({ _id: 1 }).lean().exec();
      return d ? toEntry(d as unknown as EntryDoc) : null;
    },
    async size() {
      const d = await m.LogEntry.findOne({}, { _id: 1 }).sort({ _id: -1 }).lean().exec();
      return d ? (d as unknown as EntryDoc)._id + 1 : 0;
    },
    async putCheckpoint(c) {
      try {
        await m.LogCheckpoint.create({ _id: c.size, rootHash: c.rootHash, note: c.note, createdAt: c.createdAt });
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
      }
      return toCheckpoint((await m.LogCheckpoint.findById(c.size).lean().exec()) as unknown as CheckpointDoc);
    },
    async getCheckpoint(size) {
      const d = await m.LogCheckpoint.findById(size).lean().exec();
      return d ? toCheckpoint(d as unknown as CheckpointDoc) : null;
    },
    async latestCheckpoint() {
      const d = await m.LogCheckpoint.findOne().sort({ _id: -1 }).lean().exec();
      return d ? toCheckpoint(d as unknown as CheckpointDoc) : null;
    },
    async listCheckpoints(after, limit) {
      const docs = await m.LogCheckpoint.find({ _id: { $gt: after } }).sort({ _id: 1 }).limit(limit).lean().exec();
      return (docs as unknown as CheckpointDoc[]).map(toCheckpoint);
    },
  };
}
