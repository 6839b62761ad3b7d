import { Schema, type Connection, type Model } from 'mongoose';
import { ConflictError, NotFoundError } from '../../errors';
import type { LicenceLookupRecord, LicenceRecord, LicenceStore } from '../../licences/ports';
import { createOrConflict, fromDoc, isDuplicateKey, listBy, toDoc, transition } from './index';
import type { Models } from './models';

const opts = { versionKey: false as const, strict: 'throw' as const, id: false as const };
const str = (required = true) => ({ type: String, required, default: required ? undefined : null });

export const licenceSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^lic_[0-9a-f]{28}$/ },
    agencyCode: str(),
    typeId: str(),
    typeCode: str(),
    identifier: str(),
    serial: str(),
    version: { type: Number, required: true, min: 1 },
    sealId: str(),
    holderName: str(),
    holderCodeType: str(),
    holderCode: str(),
    /** JSON text: face data keys are free (a type's schema), so they are not stored as fields. */
    data: str(),
    validFrom: str(),
    validUntil: str(false),
    status: { type: String, required: true, enum: ['valid', 'suspended', 'revoked'] },
    revocationReason: str(false),
    revocationListId: str(),
    suspensionListId: str(),
    statusIndex: { type: Number, required: true, min: 0 },
    idempotencyKey: str(),
    previousId: str(false),
    supersededBy: str(false),
    credential: str(),
    qrToken: str(),
    pdf: str(false),
    generation: { type: Number, required: true, min: 0 },
    loggedGeneration: { type: Number, required: true, min: 0 },
    issuedAt: str(),
    updatedAt: str(),
  },
  { ...opts, collection: 'licences' },
);
licenceSchema.index({ identifier: 1 }, { unique: true, name: 'identifier_unique' });
licenceSchema.index({ revocationListId: 1, statusIndex: 1 }, { unique: true, name: 'status_index_unique' });
// Unique; a licence without a key stores '#<id>' (partial and sparse indexes are not portable to
// FerretDB, and null would collide). Real keys are '<agencyCode>:<key>', never starting with '#'.
licenceSchema.index({ idempotencyKey: 1 }, { unique: true, name: 'idempotency_unique' });
licenceSchema.index({ holderCode: 1, typeId: 1, _id: 1 }, { name: 'holder' });
licenceSchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_id' });

export const licenceLookupSchema = new Schema(
  {
    _id: { type: String, required: true },
    apiKeyId: str(),
    agencyCode: str(false),
    purpose: str(),
    holderDigest: str(),
    typeId: str(false),
    returned: { type: [String], default: [] },
    logIndex: { type: Number, default: null },
    at: str(),
  },
  { ...opts, collection: 'licence_lookups' },
);
licenceLookupSchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_id' });

export interface LicenceModels {
  Licence: Model<any>;
  LicenceLookup: Model<any>;
}

export function registerLicenceModels(conn: Connection): LicenceModels {
  return { Licence: conn.model('Licence', licenceSchema), LicenceLookup: conn.model('LicenceLookup', licenceLookupSchema) };
}

const normalise = (l: Record<string, unknown>): LicenceRecord => {
  const key = l.idempotencyKey as string | null;
  return { ...l, data: JSON.parse(l.data as string), idempotencyKey: key === null || key.startsWith('#') ? null : key } as LicenceRecord;
};
const fromLicenceDoc = (d: unknown): LicenceRecord => normalise(fromDoc<Record<string, unknown>>(d, 'id'));

/** Licences on MongoDB; status changes use the shared claim-based transition (see index.ts). */
export function mongoLicenceStore(m: Models): LicenceStore {
  return {
    async create(l) {
      return createOrConflict(m.Licence, toDoc({ ...l, data: JSON.stringify(l.data), idempotencyKey: l.idempotencyKey ?? `#${l.id}` }, 'id'), `Licence ${l.id} (or its identifier, idempotency key or status index)`, l);
    },
    async get(id) {
      const d = await m.Licence.findById(id).lean().exec();
      return d ? fromLicenceDoc(d) : null;
    },
    async getByIdentifier(identifier) {
      const d = await m.Licence.findOne({ identifier: { $eq: identifier } }).lean().exec();
      return d ? fromLicenceDoc(d) : null;
    },
    async getByIdempotencyKey(key) {
      const d = await m.Licence.findOne({ idempotencyKey: { $eq: key } }).lean().exec();
      return d ? fromLicenceDoc(d) : null;
    },
    async list(q) {
      const f: Record<string, unknown> = {};
      if (q?.agencyCode !== undefined) f.agencyCode = { $eq: q.agencyCode };
      if (q?.holderCode !== undefined) f.holderCode = { $eq: q.holderCode };
      if (q?.typeId !== undefined) f.typeId = { $eq: q.typeId };
      if (q?.status !== undefined) f.status = { $eq: q.status };
      const page = await listBy<Record<string, unknown>>(m.Licence, f, q, 'id');
      return { items: page.items.map(normalise), nextCursor: page.nextCursor };
    },
    async transition(id, expected, next, at, extra = {}) {
      const set: Record<string, unknown> = { status: next, generation: expected.generation + 1, updatedAt: at };
      if (extra.revocationReason !== undefined) set.revocationReason = extra.revocationReason;
      if (extra.supersededBy !== undefined) set.supersededBy = extra.supersededBy;
      const r = await transition(m, m.Licence, id, `g${expected.generation + 1}`, { status: expected.status, generation: expected.generation }, set);
      if (r === 'missing') throw new NotFoundError(`Licence ${id}`);
      if (r === 'lost') throw new ConflictError(`Licence ${id} changed meanwhile; the change was not applied`, 'STATE_CONFLICT');
      return fromLicenceDoc(r);
    },
    async markLogged(id, generation) {
      await m.Licence.updateOne({ _id: { $eq: id }, loggedGeneration: { $lt: generation } }, { $set: { loggedGeneration: generation } }).exec();
    },
    async listUnlogged() {
      // No $expr on FerretDB 1.x: licences whose generation moved past 0 are few; compare here.
      const docs = await m.Licence.find({ generation: { $gt: 0 } }).sort({ _id: 1 }).lean().exec();
      return docs.map(fromLicenceDoc).filter((l) => l.loggedGeneration < l.generation);
    },
    async statusIndexes(listId, purpose) {
      const f = purpose === 'revocation' ? { revocationListId: { $eq: listId }, status: 'revoked' } : { suspensionListId: { $eq: listId }, status: 'suspended' };
      const docs = (await m.Licence.find(f, { statusIndex: 1 }).lean().exec()) as unknown as { statusIndex: number }[];
      return docs.map((d) => d.statusIndex);
    },
    async recordLookup(r) {
      try {
        await m.LicenceLookup.create(toDoc(r, 'id'));
      } catch (e) {
        if (isDuplicateKey(e)) throw new ConflictError(`Lookup ${r.id} already exists`, 'DUPLICATE', { cause: e });
        throw e;
      }
      return r;
    },
    async listLookups(options) {
      const f: Record<string, unknown> = {};
      if (options?.agencyCode !== undefined) f.agencyCode = options.agencyCode === null ? null : { $eq: options.agencyCode };
      return listBy<LicenceLookupRecord>(m.LicenceLookup, f, options, 'id');
    },
  };
}
