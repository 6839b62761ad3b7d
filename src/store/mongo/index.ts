import mongoose, { type Connection, type Model } from 'mongoose';
import { ConflictError, NotFoundError, StoreUnavailableError } from '../../errors';
import { clampLimit, decodeCursor, toPage } from '../paging';
import type {
  Agency,
  ApiKeyRecord,
  CertificateRecord,
  KeyRecord,
  KeyUseRecord,
  ListOptions,
  Page,
  Stores,
  TrustAnchorRecord,
} from '../ports';
import { mongoLogStore } from './log-store';
import { mongoSealStore } from './seal-store';
import { mongoLicenceStore } from './licence-store';
import { mongoArchiveStore } from './archive-store';
import { registerModels, type Models } from './models';

export type Doc = Record<string, unknown> & { _id: string };

/** MongoDB (and FerretDB) report unique-index violations as E11000 (per write for insertMany). */
export function isDuplicateKey(e: unknown): boolean {
  const err = e as { code?: number; codeName?: string; cause?: { code?: number }; writeErrors?: { code?: number }[] };
  return (
    err?.code === 11000 ||
    err?.codeName === 'DuplicateKey' ||
    err?.cause?.code === 11000 ||
    (Array.isArray(err?.writeErrors) && err.writeErrors.some((w) => w?.code === 11000))
  );
}

export async function createOrConflict<T>(model: Model<any>, doc: Doc, what: string, back: T): Promise<T> {
  try {
    await model.create(doc);
    return back;
  } catch (e) {
    if (isDuplicateKey(e)) throw new ConflictError(`${what} already exists`, 'DUPLICATE', { cause: e });
    throw e;
  }
}

/** Renames `_id` to the aggregate's key field. */
export function fromDoc<T>(doc: unknown, keyField: string): T {
  const { _id, ...rest } = doc as Doc;
  return { [keyField]: _id, ...rest } as T;
}
export function toDoc(record: object, keyField: string): Doc {
  const { [keyField]: key, ...rest } = record as Record<string, unknown>;
  return { _id: key as string, ...rest };
}

/** Keyset pagination on `_id`, the aggregate key: stable order, opaque cursor. */
export async function listBy<T>(
  model: Model<any>,
  filter: Record<string, unknown>,
  options: ListOptions | undefined,
  keyField: string,
): Promise<Page<T>> {
  const limit = clampLimit(options);
  const after = decodeCursor(options?.cursor);
  const f: Record<string, unknown> = { ...filter };
  if (after !== null) f._id = { $gt: after };
  const docs = await model.find(f).sort({ _id: 1 }).limit(limit + 1).lean().exec();
  return toPage(
    docs.map((d) => fromDoc<T>(d, keyField)),
    limit,
    (t) => (t as Record<string, string>)[keyField],
  );
}

function agencyFilter(agencyCode: string | null | undefined, f: Record<string, unknown>): void {
  if (agencyCode !== undefined) f.agencyCode = agencyCode;
}

export interface MongoOptions {
  uri: string;
  /** Overrides the database named in the URI (tests use one database per run). */
  dbName?: string;
  serverSelectionTimeoutMS?: number;
}

/**
 * The MongoDB adapter. No multi-document transactions (standalone MongoDB and FerretDB lack
 * them): every state change is one single-document operation with a filter that states the
 * expected prior state, which is what makes it compare-and-swap.
 */
export async function openMongoStores(options: MongoOptions): Promise<Stores> {
  let conn: Connection;
  try {
    conn = await mongoose
      .createConnection(options.uri, {
        dbName: options.dbName,
        serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 10000,
        autoIndex: false,
      })
      .asPromise();
  } catch (e) {
    throw new StoreUnavailableError('cannot connect to MongoDB', { cause: e });
  }
  const m = registerModels(conn);
  // Indexes are created explicitly and awaited: a unique index that is not there yet would let
  // duplicates through.
  for (const model of Object.values(m)) await model.createIndexes();
  await completePendingTransitions(m);
  /** Per connection: the last value this process drew per counter, where the next probe starts. */
  const lastSeen = new Map<string, number>();

  const stores: Stores = {
    kind: 'mongo',
    agencies: {
      create: (a) => createOrConflict(m.Agency, toDoc(a, 'code'), `Agency ${a.code}`, a),
      async get(code) {
        const d = await m.Agency.findById(code).lean().exec();
        return d ? fromDoc<Agency>(d, 'code') : null;
      },
      list: (options) => listBy<Agency>(m.Agency, {}, options, 'code'),
    },
    apiKeys: {
      create: (k) => createOrConflict(m.ApiKey, toDoc(k, 'id'), `API key ${k.id}`, k),
      async get(id) {
        const d = await m.ApiKey.findById(id).lean().exec();
        return d ? fromDoc<ApiKeyRecord>(d, 'id') : null;
      },
      async findByHash(keyHash) {
        const d = await m.ApiKey.findOne({ keyHash: { $eq: keyHash } }).lean().exec();
        return d ? fromDoc<ApiKeyRecord>(d, 'id') : null;
      },
      list(options) {
        const f: Record<string, unknown> = {};
        agencyFilter(options?.agencyCode, f);
        return listBy<ApiKeyRecord>(m.ApiKey, f, options, 'id');
      },
      async revoke(id, at) {
        const d = await transition(m, m.ApiKey, id, 'revoked', { revokedAt: null }, { revokedAt: at });
        if (d === 'missing') throw new NotFoundError(`API key ${id}`);
        if (d === 'lost') throw new ConflictError(`API key ${id} is already revoked`, 'ALREADY_REVOKED');
        return fromDoc<ApiKeyRecord>(d, 'id');
      },
    },
    certificates: {
      create: (c) => createOrConflict(m.Certificate, toDoc(c, 'serial'), `Certificate with serial ${c.serial}`, c),
      async get(serial) {
        const d = await m.Certificate.findById(serial).lean().exec();
        return d ? fromDoc<CertificateRecord>(d, 'serial') : null;
      },
      list(options) {
        const f: Record<string, unknown> = {};
        if (options?.issuer !== undefined) f.issuer = { $eq: options.issuer };
        agencyFilter(options?.agencyCode, f);
        return listBy<CertificateRecord>(m.Certificate, f, options, 'serial');
      },
      async revoke(serial, at, reason) {
        const d = await transition(m, m.Certificate, serial, 'revoked', { status: 'good' }, {
          status: 'revoked',
          revokedAt: at,
          revocationReason: reason,
        });
        if (d === 'missing') throw new NotFoundError(`Certificate ${serial}`);
        if (d === 'lost') throw new ConflictError(`Certificate ${serial} is already revoked`, 'ALREADY_REVOKED');
        return fromDoc<CertificateRecord>(d, 'serial');
      },
      async listRevoked(issuer) {
        const docs = await m.Certificate.find({ issuer: { $eq: issuer }, status: 'revoked' }).sort({ _id: 1 }).lean().exec();
        return docs.map((d) => fromDoc<CertificateRecord>(d, 'serial'));
      },
    },
    keys: {
      create: (k) => createOrConflict(m.Key, toDoc(k, 'id'), `Key ${k.id}`, k),
      async get(id) {
        const d = await m.Key.findById(id).lean().exec();
        return d ? fromDoc<KeyRecord>(d, 'id') : null;
      },
      list(options) {
        const f: Record<string, unknown> = {};
        agencyFilter(options?.agencyCode, f);
        return listBy<KeyRecord>(m.Key, f, options, 'id');
      },
    },
    keyUses: {
      append: (u) => createOrConflict(m.KeyUse, toDoc(u, 'id'), `Key use ${u.id}`, u),
      async appendMany(uses) {
        if (uses.length === 0) return;
        try {
          // One round trip; ordered, so it stops at the first failing use.
          await m.KeyUse.insertMany(uses.map((u) => toDoc(u, 'id')), { ordered: true });
        } catch (e) {
          if (isDuplicateKey(e)) throw new ConflictError('A key use in the batch already exists', 'DUPLICATE', { cause: e });
          throw e;
        }
      },
      list(options) {
        const f: Record<string, unknown> = {};
        if (options?.keyId !== undefined) f.keyId = { $eq: options.keyId };
        return listBy<KeyUseRecord>(m.KeyUse, f, options, 'id');
      },
    },
    counters: {
      next: (name) => nextCounterValue(m, name, lastSeen),
      current: (name) => highestClaimed(m, name),
    },
    settings: {
      async get<T>(key: string) {
        const d = await m.Setting.findById(key).lean().exec();
        return d ? (JSON.parse((d as unknown as { json: string }).json) as T) : null;
      },
      async putIfAbsent<T>(key: string, value: T) {
        try {
          await m.Setting.create({ _id: key, json: JSON.stringify(value) });
        } catch (e) {
          if (!isDuplicateKey(e)) throw e; // someone else's value was first; read it below
        }
        const d = await m.Setting.findById(key).lean().exec();
        return JSON.parse((d as unknown as { json: string }).json) as T;
      },
    },
    log: mongoLogStore(m),
    seals: mongoSealStore(m),
    licences: mongoLicenceStore(m),
    archive: mongoArchiveStore(m),
    trustAnchors: {
      add: (a) => createOrConflict(m.TrustAnchor, toDoc(a, 'fingerprint'), `Trust anchor ${a.fingerprint}`, a),
      async get(fingerprint) {
        const d = await m.TrustAnchor.findById(fingerprint).lean().exec();
        return d ? fromDoc<TrustAnchorRecord>(d, 'fingerprint') : null;
      },
      list: (options) => listBy<TrustAnchorRecord>(m.TrustAnchor, {}, options, 'fingerprint'),
    },
    async ping() {
      try {
        await conn.db!.admin().command({ ping: 1 });
      } catch (e) {
        throw new StoreUnavailableError('MongoDB did not answer', { cause: e });
      }
    },
    async close() {
      await conn.close();
    },
  };
  return stores;
}

/**
 * A compare-and-swap state transition that holds on any MongoDB-compatible server:
 * 1. the document must match `expected` (read);
 * 2. the caller inserts the claim `<collection>:<id>:<name>` — unique, so exactly one caller
 *    wins, whatever the server's update isolation;
 * 3. the winner applies `set` and marks the claim applied.
 * A crash between 2 and 3 leaves an unapplied claim, which completePendingTransitions() applies
 * at the next start (and any later caller helps apply, see below): the transition happened once
 * the claim was written.
 */
export async function transition(
  m: Models,
  model: Model<any>,
  id: string,
  name: string,
  expected: Record<string, unknown>,
  set: Record<string, unknown>,
): Promise<Doc | 'missing' | 'lost'> {
  const current = await model.findById(id).lean().exec();
  if (!current) return 'missing';
  const claimId = `${model.collection.collectionName}:${id}:${name}`;
  const matches = Object.entries(expected).every(([k, v]) => (current as Record<string, unknown>)[k] === v);
  if (!matches) return 'lost';
  try {
    await m.Claim.create({
      _id: claimId,
      collectionName: model.collection.collectionName,
      target: id,
      set: JSON.stringify(set),
      applied: false,
      at: new Date().toISOString(),
    });
  } catch (e) {
    if (!isDuplicateKey(e)) throw e;
    // Lost the race. If the winner has not applied its change yet, help: applying the claimed
    // $set is idempotent and is what the winner would do.
    await applyClaim(m, claimId);
    return 'lost';
  }
  await applyClaim(m, claimId);
  const after = await model.findById(id).lean().exec();
  return after as Doc;
}

async function applyClaim(m: Models, claimId: string): Promise<void> {
  const claim = (await m.Claim.findById(claimId).lean().exec()) as
    | { collectionName: string; target: string; set: string; applied: boolean }
    | null;
  if (!claim || claim.applied) return;
  const model = Object.values(m).find((x) => x.collection.collectionName === claim.collectionName);
  if (!model) return;
  await model.updateOne({ _id: { $eq: claim.target } }, { $set: JSON.parse(claim.set) }).exec();
  await m.Claim.updateOne({ _id: { $eq: claimId } }, { $set: { applied: true } }).exec();
}

/** Start-up repair: finishes transitions whose claim was written but not applied. */
async function completePendingTransitions(m: Models): Promise<number> {
  const pending = (await m.Claim.find({ applied: false, target: { $ne: null } }).lean().exec()) as Array<{ _id: string }>;
  for (const c of pending) await applyClaim(m, c._id);
  return pending.length;
}

const COUNTER_DIGITS = 15;
const claimKey = (name: string, n: number) => `counter:${name}#${String(n).padStart(COUNTER_DIGITS, '0')}`;

/**
 * Counter values are claims: value n of counter c is owned by whoever inserted
 * `counter:c#<n padded>`. The unique _id makes a value impossible to hand out twice; probing
 * upwards from the highest value seen keeps the sequence gap-free. Callers in one process are
 * serialised per counter (no self-collisions); other connections cost a retry on collision.
 */
const counterQueues = new WeakMap<Map<string, number>, Map<string, Promise<unknown>>>();

async function nextCounterValue(m: Models, name: string, lastSeen: Map<string, number>): Promise<number> {
  let queues = counterQueues.get(lastSeen);
  if (!queues) counterQueues.set(lastSeen, (queues = new Map()));
  const prev = queues.get(name) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(async () => {
    let n = (lastSeen.get(name) ?? (await highestClaimed(m, name))) + 1;
    for (let attempt = 0; attempt < 10_000; attempt++) {
      try {
        await m.Claim.create({ _id: claimKey(name, n), applied: true, at: new Date().toISOString() });
        lastSeen.set(name, n);
        return n;
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        // Another connection took n: jump to the highest value claimed so far.
        n = Math.max(n, await highestClaimed(m, name)) + 1;
      }
    }
    throw new Error(`counter ${name}: too much contention`);
  });
  queues.set(name, run);
  try {
    return await run;
  } finally {
    if (queues.get(name) === run) queues.delete(name);
  }
}

async function highestClaimed(m: Models, name: string): Promise<number> {
  const prefix = `counter:${name}#`;
  const top = (await m.Claim.findOne({ _id: { $gte: prefix, $lt: prefix + '~' } })
    .sort({ _id: -1 })
    .lean()
    .exec()) as { _id: string } | null;
  return top ? Number(top._id.slice(prefix.length)) : 0;
}
