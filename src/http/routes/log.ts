import { Type, type Static } from '@sinclair/typebox';
import type { CertificateAuthority } from '../../ca';
import { ValidationError } from '../../errors';
import { formatVerifierKey } from '../../log/note';
import type { LogService } from '../../log/service';
import { toPem } from '../../pki';
import { route, type RouteSpec } from '../route';
import { Problem } from '../schemas';

const MAX_ENTRIES_PAGE = 1000;
const Int = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description });

const CheckpointQuery = Type.Object({ size: Type.Optional(Int('A stored checkpoint of exactly this size')) }, { additionalProperties: false });
const CheckpointsQuery = Type.Object(
  { after: Type.Optional(Int('Only checkpoints with a larger size')), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);
const EntriesQuery = Type.Object({ start: Int('First index'), end: Int('End index (exclusive)') }, { additionalProperties: false });
const InclusionQuery = Type.Object({ index: Int('Leaf index'), treeSize: Int('Tree size of the root to prove against') }, { additionalProperties: false });
const ConsistencyQuery = Type.Object({ first: Int('Older tree size'), second: Int('Newer tree size') }, { additionalProperties: false });

function range(detail: string, pointer: string): ValidationError {
  return new ValidationError(detail, [{ pointer, detail }], 'LOG_INVALID_RANGE');
}

export function logRoutes(log: LogService, ca: CertificateAuthority): RouteSpec[] {
  const b64 = (bufs: Buffer[]) => bufs.map((b) => b.toString('base64'));
  return [
    route<unknown, Static<typeof CheckpointQuery>>({
      method: 'get',
      path: '/v1/log/checkpoint',
      operationId: 'getCheckpoint',
      summary: 'The latest signed checkpoint (C2SP signed note, text/plain); ?size=N for a stored one',
      tags: ['log'],
      access: 'public',
      query: CheckpointQuery,
      responses: { 200: { description: 'Signed note', contentType: 'text/plain' }, 404: { description: 'No checkpoint of that size', schema: Problem } },
      async handler({ query, res }) {
        let cp = query.size === undefined ? await log.latestCheckpoint() : await log.checkpointAt(query.size);
        if (!cp && query.size === undefined) cp = await log.checkpoint();
        if (!cp) throw range(`No checkpoint of size ${query.size} is stored`, '/size');
        res.type('text/plain; charset=utf-8').send(cp.note);
      },
    }),
    route({
      method: 'post',
      path: '/v1/log/checkpoint',
      operationId: 'createCheckpoint',
      summary: 'Sign a checkpoint of the current tree now (any API key)',
      tags: ['log'],
      access: 'any',
      responses: { 200: { description: 'Signed note', contentType: 'text/plain' } },
      async handler({ res }) {
        await log.flush();
        res.type('text/plain; charset=utf-8').send((await log.checkpoint()).note);
      },
    }),
    route<unknown, Static<typeof CheckpointsQuery>>({
      method: 'get',
      path: '/v1/log/checkpoints',
      operationId: 'listCheckpoints',
      summary: 'Stored checkpoints in size order (for auditors)',
      tags: ['log'],
      access: 'public',
      query: CheckpointsQuery,
      responses: { 200: { description: 'Checkpoints' } },
      async handler({ query }) {
        const list = await log.listCheckpoints(query.after ?? -1, query.limit ?? 100);
        return { checkpoints: list.map((c) => ({ size: c.size, rootHash: Buffer.from(c.rootHash, 'hex').toString('base64'), note: c.note })) };
      },
    }),
    route<unknown, Static<typeof EntriesQuery>>({
      method: 'get',
      path: '/v1/log/entries',
      operationId: 'getEntries',
      summary: `Entries start ≤ index < end (at most ${MAX_ENTRIES_PAGE}); leafInput is the base64 of the canonical entry bytes`,
      tags: ['log'],
      access: 'public',
      query: EntriesQuery,
      responses: { 200: { description: 'Entries' }, 400: { description: 'Invalid range', schema: Problem } },
      async handler({ query }) {
        const size = log.treeSize;
        if (query.start >= query.end) throw range('start must be less than end', '/end');
        if (query.start >= size) throw range(`start must be less than the tree size ${size}`, '/start');
        const end = Math.min(query.end, size, query.start + MAX_ENTRIES_PAGE);
        const entries = await log.entries(query.start, end);
        return {
          entries: entries.map((e) => ({ index: e.index, leafInput: e.leafInput, entry: JSON.parse(Buffer.from(e.leafInput, 'base64').toString('utf8')) })),
        };
      },
    }),
    route<unknown, Static<typeof InclusionQuery>>({
      method: 'get',
      path: '/v1/log/proofs/inclusion',
      operationId: 'getInclusionProof',
      summary: 'Inclusion proof of entry `index` in the tree of size `treeSize` (RFC 9162 §2.1.3)',
      tags: ['log'],
      access: 'public',
      query: InclusionQuery,
      responses: { 200: { description: 'Proof' }, 400: { description: 'Invalid range', schema: Problem } },
      async handler({ query }) {
        if (query.treeSize > log.treeSize) throw range(`treeSize is beyond the tree (${log.treeSize})`, '/treeSize');
        if (query.index >= query.treeSize) throw range('index must be less than treeSize', '/index');
        return { index: query.index, treeSize: query.treeSize, hashes: b64(await log.inclusionProof(query.index, query.treeSize)) };
      },
    }),
    route<unknown, Static<typeof ConsistencyQuery>>({
      method: 'get',
      path: '/v1/log/proofs/consistency',
      operationId: 'getConsistencyProof',
      summary: 'Consistency proof between tree sizes first < second (RFC 9162 §2.1.4)',
      tags: ['log'],
      access: 'public',
      query: ConsistencyQuery,
      responses: { 200: { description: 'Proof' }, 400: { description: 'Invalid range', schema: Problem } },
      async handler({ query }) {
        if (query.first === 0) throw range('first must be at least 1 (a proof from the empty tree is meaningless)', '/first');
        if (query.first > query.second) throw range('first must not exceed second', '/first');
        if (query.second > log.treeSize) throw range(`second is beyond the tree (${log.treeSize})`, '/second');
        return { first: query.first, second: query.second, hashes: b64(await log.consistencyProof(query.first, query.second)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/log/key',
      operationId: 'getLogKey',
      summary: "The log's public key (PEM, and as a note verifier key) and certificate, with earlier keys",
      tags: ['log'],
      access: 'public',
      responses: { 200: { description: 'Log keys' } },
      handler() {
        const describe = (h: (typeof ca.history.log)[number]) => ({
          publicKey: toPem(h.parsed.spki, 'PUBLIC KEY'),
          verifierKey: formatVerifierKey(log.origin, h.parsed.spki),
          certificate: toPem(h.der),
          notBefore: h.parsed.notBefore.toISOString(),
          notAfter: h.parsed.notAfter.toISOString(),
        });
        return {
          origin: log.origin,
          keyName: log.origin,
          signatureType: 'ECDSA P-256 / SHA-256 (C2SP signed-note type 0x02)',
          current: describe(ca.log),
          all: ca.history.log.map(describe),
          chain: ca.chain().map((c) => toPem(c)),
        };
      },
    }),
  ];
}
