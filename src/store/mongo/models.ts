import { Schema, type Connection, type Model } from 'mongoose';
import { REVOCATION_REASONS, ROLES } from '../ports';
import { registerLicenceModels } from './licence-store';

/**
 * Mongoose models: one collection per aggregate, the aggregate's key as `_id` (unique by
 * construction), validation and secondary indexes declared here and nowhere else.
 * `versionKey` is off: state changes are compare-and-swap filters, not document versions.
 */
const opts = { versionKey: false as const, strict: 'throw' as const, id: false as const };


export const agencySchema = new Schema(
  {
    _id: { type: String, required: true, match: /^[0-9A-HJ-NPQRTUWXY]{18}$/ },
    name: { type: String, required: true, maxlength: 200 },
    region: { type: String, default: null },
    createdAt: { type: String, required: true },
  },
  { ...opts, collection: 'agencies' },
);

export const apiKeySchema = new Schema(
  {
    _id: { type: String, required: true },
    agencyCode: { type: String, default: null },
    roles: { type: [{ type: String, enum: ROLES }], required: true },
    label: { type: String, required: true },
    keyHash: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    prefix: { type: String, required: true },
    createdAt: { type: String, required: true },
    revokedAt: { type: String, default: null },
  },
  { ...opts, collection: 'api_keys' },
);
apiKeySchema.index({ keyHash: 1 }, { unique: true, name: 'keyHash_unique' });
apiKeySchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_id' });

export const certificateSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^[0-9a-f]+$/ },
    issuer: { type: String, required: true },
    profile: { type: String, required: true },
    subject: { type: String, required: true },
    agencyCode: { type: String, default: null },
    keyId: { type: String, default: null },
    notBefore: { type: String, required: true },
    notAfter: { type: String, required: true },
    der: { type: String, required: true },
    status: { type: String, required: true, enum: ['good', 'revoked'] },
    revokedAt: { type: String, default: null },
    revocationReason: { type: String, default: null, enum: [...REVOCATION_REASONS, null] },
    createdAt: { type: String, required: true },
  },
  { ...opts, collection: 'certificates' },
);
certificateSchema.index({ issuer: 1, status: 1 }, { name: 'issuer_status' });
certificateSchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_serial' });

export const keySchema = new Schema(
  {
    _id: { type: String, required: true },
    algorithm: { type: String, required: true },
    keyStore: { type: String, required: true, enum: ['software', 'pkcs11'] },
    label: { type: String, required: true },
    agencyCode: { type: String, default: null },
    publicKey: { type: String, required: true },
    wrappedKey: { type: String, default: null },
    tokenKeyId: { type: String, default: null },
    createdAt: { type: String, required: true },
  },
  { ...opts, collection: 'keys' },
);
keySchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_id' });

export const keyUseSchema = new Schema(
  {
    _id: { type: String, required: true },
    keyId: { type: String, required: true },
    apiKeyId: { type: String, default: null },
    agencyCode: { type: String, default: null },
    purpose: { type: String, required: true },
    digest: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    at: { type: String, required: true },
  },
  { ...opts, collection: 'key_uses' },
);
keyUseSchema.index({ keyId: 1, _id: 1 }, { name: 'key_id' });

export const counterSchema = new Schema(
  {
    _id: { type: String, required: true },
    value: { type: Number, required: true, min: 0 },
  },
  { ...opts, collection: 'counters' },
);

/** Values are kept as JSON text so that compare-and-swap compares exactly what SQLite compares. */
export const settingSchema = new Schema(
  {
    _id: { type: String, required: true },
    json: { type: String, required: true },
  },
  { ...opts, collection: 'settings' },
);

export const trustAnchorSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    subject: { type: String, required: true },
    notBefore: { type: String, required: true },
    notAfter: { type: String, required: true },
    der: { type: String, required: true },
    label: { type: String, required: true },
    addedAt: { type: String, required: true },
    addedBy: { type: String, default: null },
  },
  { ...opts, collection: 'trust_anchors' },
);

export const sealSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^seal_[0-9a-f]{28}$/ },
    agencyCode: { type: String, required: true },
    name: { type: String, required: true, maxlength: 64 },
    kind: { type: String, required: true },
    algorithm: { type: String, required: true },
    keyStore: { type: String, required: true, enum: ['software', 'pkcs11'] },
    keyId: { type: String, required: true },
    certificateSerial: { type: String, required: true },
    status: { type: String, required: true, enum: ['active', 'suspended', 'revoked'] },
    generation: { type: Number, required: true, min: 0 },
    loggedGeneration: { type: Number, required: true, min: 0 },
    createdAt: { type: String, required: true },
    updatedAt: { type: String, required: true },
  },
  { ...opts, collection: 'seals' },
);
sealSchema.index({ certificateSerial: 1 }, { unique: true, name: 'certificateSerial_unique' });
sealSchema.index({ agencyCode: 1, _id: 1 }, { name: 'agency_id' });

/** Transparency log: entry `_id` is the log index, so uniqueness of indexes is the primary key. */
export const logEntrySchema = new Schema(
  {
    _id: { type: Number, required: true, min: 0 },
    leafInput: { type: String, required: true },
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    createdAt: { type: String, required: true },
  },
  { ...opts, collection: 'log_entries' },
);
logEntrySchema.index({ eventId: 1 }, { name: 'eventId' });

/** `_id` = "<level>/<index>" of a complete subtree. */
export const logNodeSchema = new Schema(
  {
    _id: { type: String, required: true, match: /^\d+\/\d+$/ },
    hash: { type: Buffer, required: true },
  },
  { ...opts, collection: 'log_nodes' },
);

export const logCheckpointSchema = new Schema(
  {
    _id: { type: Number, required: true, min: 0 },
    rootHash: { type: String, required: true, match: /^[0-9a-f]{64}$/ },
    note: { type: String, required: true },
    createdAt: { type: String, required: true },
  },
  { ...opts, collection: 'log_checkpoints' },
);

/**
 * Claims make compare-and-swap and counters safe on servers whose conditional updates are not
 * atomic across connections (FerretDB 1.x with its SQLite backend reads, then writes). The one
 * operation every MongoDB-compatible server makes atomic is an insert against a unique index:
 * whoever inserts the claim `_id` first owns the transition (or the counter value). See
 * docs/consistency.md.
 */
export const claimSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** For a state transition: the collection and document it changes, and the $set to apply. */
    collectionName: { type: String, default: null },
    target: { type: String, default: null },
    set: { type: String, default: null },
    applied: { type: Boolean, required: true },
    at: { type: String, required: true },
  },
  { ...opts, collection: 'claims' },
);
claimSchema.index({ applied: 1 }, { name: 'applied' });

export interface Models {
  Agency: Model<any>;
  ApiKey: Model<any>;
  Certificate: Model<any>;
  Key: Model<any>;
  KeyUse: Model<any>;
  Counter: Model<any>;
  Setting: Model<any>;
  Claim: Model<any>;
  TrustAnchor: Model<any>;
  LogEntry: Model<any>;
  LogNode: Model<any>;
  LogCheckpoint: Model<any>;
  Seal: Model<any>;
  Licence: Model<any>;
  LicenceLookup: Model<any>;
}

export function registerModels(conn: Connection): Models {
  return {
    Agency: conn.model('Agency', agencySchema),
    ApiKey: conn.model('ApiKey', apiKeySchema),
    Certificate: conn.model('Certificate', certificateSchema),
    Key: conn.model('Key', keySchema),
    KeyUse: conn.model('KeyUse', keyUseSchema),
    Counter: conn.model('Counter', counterSchema),
    Setting: conn.model('Setting', settingSchema),
    Claim: conn.model('Claim', claimSchema),
    TrustAnchor: conn.model('TrustAnchor', trustAnchorSchema),
    LogEntry: conn.model('LogEntry', logEntrySchema),
    LogNode: conn.model('LogNode', logNodeSchema),
    LogCheckpoint: conn.model('LogCheckpoint', logCheckpointSchema),
    Seal: conn.model('Seal', sealSchema),
    ...registerLicenceModels(conn),
  };
}
