/**
 * Prover (merkle.ts) against the independent verifier and the naive MTH (verify.ts), exhaustively
 * for every size 1..300, plus read bounds and argument errors.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  MemoryTreeNodeStore,
  computeNewNodes,
  consistencyProof,
  hashLeaf,
  inclusionProof,
  rootAt,
  rootFromLeaves,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
  type TreeNodeSource,
} from '../../../src/log';
import { codeOf } from './helpers';

const N = 300;
/** Sizes up to which every proof is also checked against every corruption. */
const CORRUPT_ALL_UP_TO = 48;

const leaves: Buffer[] = Array.from({ length: N }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
const store = new MemoryTreeNodeStore();
/** roots[n] = naive MTH of the first n leaves. */
const roots: Buffer[] = [];

beforeAll(async () => {
  for (let n = 0; n <= N; n++) roots.push(rootFromLeaves(leaves.slice(0, n)));
  for (const h of leaves) await store.append(h); // built once, incrementally
});

function flip(proof: readonly Buffer[], i: number): Buffer[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const q = Buffer.from(p);
    q[31] = (q[31] as number) ^ 0x01;
    return q;
  });
}

describe('every size 1..300', () => {
  it('rootAt equals the naive MTH', async () => {
    for (let n = 0; n <= N; n++) {
      expect((await rootAt(n, store)).equals(roots[n]!)).toBe(true);
    }
  });

  it('every inclusion proof verifies, and corrupted ones do not', async () => {
    let checked = 0;
    for (let n = 1; n <= N; n++) {
      for (let i = 0; i < n; i++) {
        const proof = await inclusionProof(i, n, store);
        const check = { leafIndex: i, treeSize: n, leafHash: leaves[i]!, proof, rootHash: roots[n]! };
        if (!verifyInclusion(check)) throw new Error(`inclusion ${i}/${n} did not verify`);
        checked += 1;
        if (n > CORRUPT_ALL_UP_TO) continue;
        const probes = [
          ...proof.map((_, k) => ({ ...check, proof: flip(proof, k) })),
          ...(proof.length > 0 ? [{ ...check, proof: proof.slice(0, -1) }, { ...check, proof: proof.slice(1) }] : []),
          { ...check, proof: [...proof, roots[n]!] },
          { ...check, proof: [leaves[0]!, ...proof] },
          { ...check, leafIndex: i + 1 },
          { ...check, leafIndex: i - 1 },
          { ...check, leafIndex: i ^ 2 },
          { ...check, leafIndex: n },
          // Changing the size only changes the outcome when it changes the path shape; doubling
          // always adds a level. (Size n+1 can legitimately share the shape, e.g. 0/3 and 0/4.)
          { ...check, treeSize: n * 2 },
          { ...check, treeSize: 0 },
          { ...check, leafHash: leaves[(i + 1) % N]! },
          { ...check, rootHash: roots[n - 1]! },
        ];
        probes.forEach((p, k) => {
          if (verifyInclusion(p)) throw new Error(`corrupted inclusion probe ${k} for ${i}/${n} verified`);
        });
      }
    }
    expect(checked).toBe((N * (N + 1)) / 2);
  });

  it('every consistency proof 1 ≤ M < N ≤ 300 verifies, and corrupted ones do not', async () => {
    let checked = 0;
    for (let n = 2; n <= N; n++) {
      for (let m = 1; m < n; m++) {
        const proof = await consistencyProof(m, n, store);
        const check = { oldSize: m, newSize: n, oldRoot: roots[m]!, newRoot: roots[n]!, proof };
        if (!verifyConsistency(check)) throw new Error(`consistency ${m}→${n} did not verify`);
        checked += 1;
        if (n > CORRUPT_ALL_UP_TO) continue;
        const probes = [
          ...proof.map((_, k) => ({ ...check, proof: flip(proof, k) })),
          { ...check, proof: proof.slice(0, -1) },
          { ...check, proof: proof.slice(1) },
          { ...check, proof: [...proof, roots[n]!] },
          { ...check, proof: [roots[m]!, ...proof] },
          { ...check, proof: [] },
          { ...check, oldSize: m + 1 },
          { ...check, oldSize: m - 1 },
          { ...check, oldSize: m ^ 2 },
          { ...check, newSize: n * 2 },
          { ...check, oldRoot: roots[m - 1]! },
          { ...check, newRoot: roots[n - 1]! },
          { ...check, oldRoot: roots[n]!, newRoot: roots[m]! },
        ];
        probes.forEach((p, k) => {
          if (verifyConsistency(p)) throw new Error(`corrupted consistency probe ${k} for ${m}→${n} verified`);
        });
      }
    }
    expect(checked).toBe((N * (N - 1)) / 2);
  });

  it('equal sizes: the empty proof, accepted only with equal roots and without extra hashes', async () => {
    for (let n = 1; n <= N; n += 37) {
      expect(await consistencyProof(n, n, store)).toEqual([]);
      expect(verifyConsistency({ oldSize: n, newSize: n, oldRoot: roots[n]!, newRoot: roots[n]!, proof: [] })).toBe(true);
      expect(verifyConsistency({ oldSize: n, newSize: n, oldRoot: roots[n]!, newRoot: roots[n]!, proof: [roots[n]!] })).toBe(false);
      expect(verifyConsistency({ oldSize: n, newSize: n, oldRoot: roots[n]!, newRoot: roots[n - 1]!, proof: [] })).toBe(false);
    }
  });

  it('random corruptions of random proofs up to 300 are rejected (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }))),
        async ([n, m, at, bit]) => {
          const proof = await consistencyProof(m, n, store);
          const k = at % proof.length;
          const bad = proof.map((p, j) => {
            if (j !== k) return p;
            const q = Buffer.from(p);
            q[bit >> 3] = (q[bit >> 3] as number) ^ (1 << (bit & 7));
            return q;
          });
          expect(verifyConsistency({ oldSize: m, newSize: n, oldRoot: roots[m]!, newRoot: roots[n]!, proof: bad })).toBe(false);
          const inc = await inclusionProof(m, n, store);
          if (inc.length > 0) {
            const badInc = inc.map((p, j) => (j === at % inc.length ? Buffer.alloc(32, bit) : p));
            expect(verifyInclusion({ leafIndex: m, treeSize: n, leafHash: leaves[m]!, proof: badInc, rootHash: roots[n]! })).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('node store appends', () => {
  it('creates the leaf plus one node per trailing one-bit of the old size', async () => {
    const s = new MemoryTreeNodeStore();
    for (let size = 0; size < 64; size++) {
      const created = await s.append(leaves[size]!);
      let ones = 0;
      for (let x = size; x % 2 === 1; x = (x - 1) / 2) ones += 1;
      expect(created).toHaveLength(1 + ones);
      expect(created[0]).toMatchObject({ level: 0, index: size });
      const top = created[created.length - 1]!;
      // The topmost new node is the MTH of the subtree it covers.
      const width = 2 ** top.level;
      expect(top.hash.equals(rootFromLeaves(leaves.slice(top.index * width, (top.index + 1) * width)))).toBe(true);
    }
  });

  it('serialises concurrent appends', async () => {
    const s = new MemoryTreeNodeStore();
    await Promise.all(leaves.slice(0, 33).map((h) => s.append(h)));
    expect(s.size).toBe(33);
    expect((await rootAt(33, s)).equals(roots[33]!)).toBe(true);
  });

  it('computeNewNodes reads only left siblings', async () => {
    const reads: string[] = [];
    const getNode = async (level: number, index: number): Promise<Buffer> => {
      reads.push(`${level}/${index}`);
      return Buffer.alloc(32, level);
    };
    await computeNewNodes(0b1011, leaves[0]!, getNode);
    expect(reads).toEqual(['0/10', '1/4']);
    reads.length = 0;
    await computeNewNodes(2 ** 40 - 1, leaves[0]!, getNode);
    expect(reads).toHaveLength(40);
  });
});

describe('O(log n) reads', () => {
  /** A huge synthetic tree: node hashes are arbitrary, only the number of reads matters. */
  class CountingSource implements TreeNodeSource {
    reads = 0;
    batches = 0;
    async getNode(level: number, index: number): Promise<Buffer> {
      this.reads += 1;
      return createHash('sha256').update(`${level}/${index}`).digest();
    }
    async getNodes(ids: readonly NodeId[]): Promise<Buffer[]> {
      this.batches += 1;
      return Promise.all(ids.map((id) => this.getNode(id.level, id.index)));
    }
  }

  it('root, inclusion and consistency proofs read at most ~2·log2(n) nodes in one batch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }), fc.double({ min: 0, max: 1, noNaN: true }), async (n, frac) => {
        const log = Math.ceil(Math.log2(n));
        const i = Math.min(n - 1, Math.floor(frac * n));
        const m = Math.max(1, i);
        for (const op of [
          (s: TreeNodeSource) => rootAt(n, s),
          (s: TreeNodeSource) => inclusionProof(i, n, s),
          (s: TreeNodeSource) => consistencyProof(m, n, s),
        ]) {
          const src = new CountingSource();
          await op(src);
          expect(src.reads).toBeLessThanOrEqual(2 * log + 2);
          expect(src.batches).toBeLessThanOrEqual(1);
        }
        const proof = await inclusionProof(i, n, new CountingSource());
        expect(proof.length).toBeLessThanOrEqual(log);
      }),
      { numRuns: 500 },
    );
  });

  it('the in-memory tree of 300 leaves answers with few reads', async () => {
    store.reads = 0;
    await inclusionProof(137, 300, store);
    expect(store.reads).toBeLessThanOrEqual(2 * 9 + 2);
    store.reads = 0;
    await consistencyProof(129, 300, store);
    expect(store.reads).toBeLessThanOrEqual(2 * 9 + 2);
  });
});

describe('argument errors', () => {
  it.each([
    ['inclusion index = size', 'LOG_INVALID_RANGE', () => inclusionProof(5, 5, store)],
    ['inclusion index > size', 'LOG_INVALID_RANGE', () => inclusionProof(9, 5, store)],
    ['inclusion in the empty tree', 'LOG_INVALID_RANGE', () => inclusionProof(0, 0, store)],
    ['negative index', 'LOG_INVALID_RANGE', () => inclusionProof(-1, 5, store)],
    ['fractional size', 'LOG_INVALID_RANGE', () => rootAt(2.5, store)],
    ['unsafe size', 'LOG_INVALID_RANGE', () => rootAt(2 ** 53, store)],
    ['NaN size', 'LOG_INVALID_RANGE', () => rootAt(Number.NaN, store)],
    ['consistency from 0', 'LOG_INVALID_RANGE', () => consistencyProof(0, 5, store)],
    ['consistency backwards', 'LOG_INVALID_RANGE', () => consistencyProof(6, 5, store)],
    ['consistency 0 → 0', 'LOG_INVALID_RANGE', () => consistencyProof(0, 0, store)],
    ['append at a bad size', 'LOG_INVALID_RANGE', () => computeNewNodes(-1, leaves[0]!, store.getNode.bind(store))],
    ['append a short hash', 'LOG_INVALID_HASH', () => computeNewNodes(0, Buffer.alloc(31), store.getNode.bind(store))],
    ['proof beyond the stored tree', 'NOT_FOUND', () => inclusionProof(0, N + 5, store)],
  ] as const)('%s → %s', async (_name, code, fn) => {
    expect(await codeOf(fn)).toBe(code);
  });

  it('argument errors are 400 ValidationErrors with details', async () => {
    await expect(inclusionProof(5, 5, store)).rejects.toMatchObject({
      name: 'ValidationError',
      status: 400,
      details: { index: 5, size: 5 },
    });
  });

  it('a store returning a malformed node is an internal error, not a wrong proof', async () => {
    const broken: TreeNodeSource = { getNode: async () => Buffer.alloc(31) };
    expect(await codeOf(() => rootAt(3, broken))).toBe('LOG_NODE_INVALID');
    const shortBatch: TreeNodeSource = { getNode: async () => Buffer.alloc(32), getNodes: async () => [] };
    expect(await codeOf(() => rootAt(3, shortBatch))).toBe('LOG_NODE_INVALID');
  });

  it('proofs returned to callers cannot corrupt the store', async () => {
    const proof = await inclusionProof(0, 8, store);
    proof[0]!.fill(0);
    expect((await rootAt(8, store)).equals(roots[8]!)).toBe(true);
  });
});
