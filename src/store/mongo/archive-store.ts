import { Schema, type Model } from 'mongoose';
import { ConflictError, NotFoundError } from '../../errors';
import type { ArchiveBatch, ArchiveRecord, ArchiveStore, ReverificationRecord } from '../../archive/ports';
import { createOrConflict, fromDoc, listBy, toDoc, transition } from './index';
import type { Models } from './models';

const opts = { versionKey: false as const, strict: 'throw' as const, id: false as const, minimize: false };

const archiveRecordSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^arc_[0-9a-f]{28}$/ },
    agencyCode: { type: String, required: true },
    registrationNumber: { type: String, required: true, maxlength: 128 },
    fonds: { type: String, required: true },
    year: { type: Number, required: true },
    title: { type: String, required: true },
    metadata: { type: Schema.Types.Mixed, required: true },
    mediaType: { type: String, required: true },
    size: { type: Number, required: true, min: 0 },
    sha256: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    content: { type: String, default: '' },
    // JSON text: FerretDB stores no nested arrays, and these are only ever read whole.
    checks: { type: String, required: true },
    report: { type: String, required: true },
    forced: { type: Schema.Types.Mixed, default: null },
    status: { type: String, required: true, enum: ['pending-evidence', 'sealed', 'disposed'] },
    batchId: { type: String, default: null },
    evidencePath: { type: String, default: null },
    filedBy: { type: String, default: null },
    logIndex: { type: Number, default: null },
    legalHold: { type: Schema.Types.Mixed, default: null },
    disposal: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: String, required: true },
    updatedAt: { type: String, required: true },
  },
  { ...opts, collection: 'archive_records' },
);
archiveRecordSchema.index({ agencyCode: 1, registrationNumber: 1 }, { unique: true, name: 'agency_registration_unique' });
archiveRecordSchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_id' });
archiveRecordSchema.index({ fonds: 1, year: 1, _id: 1 }, { name: 'fonds_year_id' });
archiveRecordSchema.index({ status: 1, _id: 1 }, { name: 'status_id' });

const archiveBatchSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^atb_[0-9a-f]{28}$/ },
    hashAlgorithm: { type: String, required: true, enum: ['sha256'] },
    root: { type: String, required: true },
    size: { type: Number, required: true, min: 1 },
    timestamps: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: String, required: true },
    updatedAt: { type: String, required: true },
  },
  { ...opts, collection: 'archive_batches' },
);

const reverificationSchema = new Schema(
  {
    _id: { type: String, required: true },
    recordId: { type: String, required: true },
    report: { type: String, required: true },
    by: { type: String, default: null },
    at: { type: String, required: true },
  },
  { ...opts, collection: 'archive_reverifications' },
);
reverificationSchema.index({ recordId: 1, _id: 1 }, { name: 'record_id' });

interface ArchiveModels {
  Record: Model<any>;
  Batch: Model<any>;
  Reverification: Model<any>;
}

/** Record ↔ document: the JSON members that may hold nested arrays travel as text. */
function recordToDoc(r: ArchiveRecord) {
  return toDoc(
    { ...r, checks: JSON.stringify(r.checks), report: JSON.stringify(r.report ?? null), evidencePath: r.evidencePath ? JSON.stringify(r.evidencePath) : null },
    'id',
  );
}
function recordFromDoc(d: unknown): ArchiveRecord {
  const r = fromDoc<Record<string, unknown>>(d, 'id');
  return {
    ...r,
    checks: JSON.parse(r.checks as string),
    report: JSON.parse(r.report as string),
    evidencePath: r.evidencePath ? JSON.parse(r.evidencePath as string) : null,
  } as unknown as ArchiveRecord;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The archive on MongoDB. Its models live here (registered on the connection the other models
 * use) so that the archive is one file; indexes are created before the first operation.
 * Sealing and renewal are claimed transitions (see transition() and docs/consistency.md).
 */
export function mongoArchiveStore(m: Models): ArchiveStore {
  const conn = m.Claim.db;
  const a: ArchiveModels = {
    Record: conn.models.ArchiveRecord ?? conn.model('ArchiveRecord', archiveRecordSchema),
    Batch: conn.models.ArchiveBatch ?? conn.model('ArchiveBatch', archiveBatchSchema),
    Reverification: conn.models.ArchiveReverification ?? conn.model('ArchiveReverification', reverificationSchema),
  };
  // transition() finds the model a claim names among the models it is given: ours included.
  const withOurs = { ...m, ArchiveRecord: a.Record, ArchiveBatch: a.Batch } as unknown as Models;
  let ready: Promise<void> | undefined;
  const indexes = () =>
    (ready ??= (async () => {
      await Promise.all(Object.values(a).map((x) => x.createIndexes()));
      // Start-up repair for our collections (openMongoStores' repair knows only the shared models):
      // a claim written but not applied before a crash is applied now, as its winner would have.
      const names = [a.Record.collection.collectionName, a.Batch.collection.collectionName];
      const pending = (await m.Claim.find({ applied: false, collectionName: { $in: names } }).lean().exec()) as unknown as { _id: string; collectionName: string; target: string; set: string }[];
      for (const c of pending) {
        const model = c.collectionName === names[0] ? a.Record : a.Batch;
        await model.updateOne({ _id: { $eq: c.target } }, { $set: JSON.parse(c.set) }).exec();
        await m.Claim.updateOne({ _id: { $eq: c._id } }, { $set: { applied: true } }).exec();
      }
    })());

  return {
    async createRecord(r) {
      await indexes();
      return createOrConflict(a.Record, recordToDoc(r), `Archive record ${r.id} or registration number ${r.registrationNumber}`, r);
    },
    async getRecord(id) {
      await indexes();
      const d = await a.Record.findById(id).lean().exec();
      return d ? recordFromDoc(d) : null;
    },
    async listRecords(q) {
      await indexes();
      const f: Record<string, unknown> = {};
      if (q?.agencyCode !== undefined) f.agencyCode = { $eq: q.agencyCode };
      if (q?.fonds !== undefined) f.fonds = { $eq: q.fonds };
      if (q?.year !== undefined) f.year = { $eq: q.year };
      if (q?.status !== undefined) f.status = { $eq: q.status };
      if (q?.title !== undefined) f.title = { $regex: escapeRegex(q.title) };
      const page = await listBy<unknown>(a.Record, f, q, 'id');
      return { items: page.items.map((d) => recordFromDoc({ ...(d as object), _id: (d as { id: string }).id })), nextCursor: page.nextCursor };
    },
    async listPending(limit) {
      await indexes();
      const docs = await a.Record.find({ status: { $eq: 'pending-evidence' } }).sort({ _id: 1 }).limit(limit).lean().exec();
      return docs.map(recordFromDoc);
    },
    async sealRecord(id, batchId, path, at) {
      await indexes();
      const r = await transition(withOurs, a.Record, id, 'sealed', { status: 'pending-evidence' }, { status: 'sealed', batchId, evidencePath: path ? JSON.stringify(path) : null, updatedAt: at });
      if (r === 'missing') throw new NotFoundError(`Archive record ${id}`);
      if (r === 'lost') throw new ConflictError(`Archive record ${id} is already sealed`, 'STATE_CONFLICT');
    },
    async createBatch(b) {
      await indexes();
      return createOrConflict(a.Batch, toDoc(b, 'id'), `Archive batch ${b.id}`, b);
    },
    async getBatch(id) {
      await indexes();
      const d = await a.Batch.findById(id).lean().exec();
      return d ? fromDoc<ArchiveBatch>(d, 'id') : null;
    },
    listBatches(options) {
      return listBy<ArchiveBatch>(a.Batch, {}, options, 'id');
    },
    async appendTimestamp(batchId, expectedLength, ts, at) {
      await indexes();
      const current = await a.Batch.findById(batchId).lean().exec();
      if (!current) throw new NotFoundError(`Archive batch ${batchId}`);
      const chain = (current as unknown as { timestamps: unknown[] }).timestamps;
      if (chain.length !== expectedLength) throw new ConflictError(`Archive batch ${batchId} was renewed meanwhile`, 'STATE_CONFLICT');
      // The claim `ts<n>` makes the n-th timestamp unique even where conditional updates are not atomic.
      const r = await transition(withOurs, a.Batch, batchId, `ts${expectedLength + 1}`, {}, { timestamps: [...chain, ts], updatedAt: at });
      if (r === 'missing') throw new NotFoundError(`Archive batch ${batchId}`);
      if (r === 'lost') throw new ConflictError(`Archive batch ${batchId} was renewed meanwhile`, 'STATE_CONFLICT');
      return fromDoc<ArchiveBatch>(r, 'id');
    },
    async setLegalHold(id, hold, at) {
      await indexes();
      const current = await a.Record.findById(id).lean().exec();
      if (!current) throw new NotFoundError(`Archive record ${id}`);
      if ((current as unknown as { status: string }).status === 'disposed') throw new ConflictError(`Archive record ${id} is disposed`, 'STATE_CONFLICT');
      // Holds are set and released repeatedly: a plain conditional update (no claim), last writer wins.
      await a.Record.updateOne({ _id: { $eq: id }, status: { $ne: 'disposed' } }, { $set: { legalHold: hold, updatedAt: at } }).exec();
      return recordFromDoc(await a.Record.findById(id).lean().exec());
    },
    async dispose(id, disposal, at) {
      await indexes();
      const current = await a.Record.findById(id).lean().exec();
      if (!current) throw new NotFoundError(`Archive record ${id}`);
      const c = current as unknown as { status: string; legalHold: unknown };
      if (c.status !== 'sealed' || c.legalHold) {
        throw new ConflictError(`Archive record ${id} is ${c.legalHold ? 'under a legal hold' : c.status}; it was not disposed of`, 'STATE_CONFLICT');
      }
      const r = await transition(withOurs, a.Record, id, 'disposed', { status: 'sealed', legalHold: null }, { status: 'disposed', content: '', disposal, updatedAt: at });
      if (r === 'missing') throw new NotFoundError(`Archive record ${id}`);
      if (r === 'lost') throw new ConflictError(`Archive record ${id} changed meanwhile; it was not disposed of`, 'STATE_CONFLICT');
      return recordFromDoc(r);
    },
    async addReverification(r) {
      await indexes();
      return createOrConflict(a.Reverification, toDoc({ ...r, report: JSON.stringify(r.report) }, 'id'), `Reverification ${r.id}`, r);
    },
    async listReverifications(recordId) {
      const docs = await a.Reverification.find({ recordId: { $eq: recordId } }).sort({ at: 1, _id: 1 }).lean().exec();
      return docs.map((d) => {
        const r = fromDoc<ReverificationRecord>(d, 'id');
        return { ...r, report: JSON.parse(r.report as string) };
      });
    },
  };
}
