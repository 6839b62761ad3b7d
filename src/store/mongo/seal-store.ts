import { ConflictError, NotFoundError } from '../../errors';
import type { SealRecord, SealStore } from '../../seals/ports';
import { createOrConflict, fromDoc, listBy, toDoc, transition } from './index';
import type { Models } from './models';

/** Seals on MongoDB. Status changes are claimed per generation (`seals:<id>:g<n>`), see transition(). */
export function mongoSealStore(m: Models): SealStore {
  return {
    create: (s) => createOrConflict(m.Seal, toDoc(s, 'id'), `Seal ${s.id}`, s),
    async get(id) {
      const d = await m.Seal.findById(id).lean().exec();
      return d ? fromDoc<SealRecord>(d, 'id') : null;
    },
    list(options) {
      const f: Record<string, unknown> = {};
      if (options?.agencyCode !== undefined) f.agencyCode = { $eq: options.agencyCode };
      return listBy<SealRecord>(m.Seal, f, options, 'id');
    },
    async transition(id, expected, next, at) {
      const r = await transition(m, m.Seal, id, `g${expected.generation + 1}`, { status: expected.status, generation: expected.generation }, {
        status: next,
        generation: expected.generation + 1,
        updatedAt: at,
      });
      if (r === 'missing') throw new NotFoundError(`Seal ${id}`);
      if (r === 'lost') throw new ConflictError(`Seal ${id} changed meanwhile; the change was not applied`, 'STATE_CONFLICT');
      return fromDoc<SealRecord>(r, 'id');
    },
    async markLogged(id, generation) {
      await m.Seal.updateOne({ _id: { $eq: id }, loggedGeneration: { $lt: generation } }, { $set: { loggedGeneration: generation } }).exec();
    },
    async listUnlogged() {
      // FerretDB 1.x has no $expr: compare the two fields here (a start-up scan of seals only).
      const docs = await m.Seal.find({}).sort({ _id: 1 }).lean().exec();
      return docs.map((d) => fromDoc<SealRecord>(d, 'id')).filter((s) => s.loggedGeneration < s.generation);
    },
  };
}
