/** The independent verifiers on their own: policy edges and hostile input. */
import fc from 'fast-check';
import { hashLeaf, rootFromLeaves, verifyConsistency, verifyInclusion } from '../../../src/log';

const h = (s: string): Buffer => hashLeaf(Buffer.from(s));
const a = h('a');
const b = h('b');
const root1 = rootFromLeaves([a]);
const root2 = rootFromLeaves([a, b]);

describe('verifyInclusion', () => {
  it('accepts the trivial proof of a one-leaf tree and nothing else', () => {
    expect(verifyInclusion({ leafIndex: 0, treeSize: 1, leafHash: a, proof: [], rootHash: root1 })).toBe(true);
    expect(verifyInclusion({ leafIndex: 0, treeSize: 1, leafHash: b, proof: [], rootHash: root1 })).toBe(false);
    expect(verifyInclusion({ leafIndex: 0, treeSize: 1, leafHash: a, proof: [a], rootHash: root1 })).toBe(false);
  });

  it.each([
    ['index = size', { leafIndex: 2, treeSize: 2 }],
    ['index > size', { leafIndex: 3, treeSize: 2 }],
    ['size 0', { leafIndex: 0, treeSize: 0 }],
    ['negative index', { leafIndex: -1, treeSize: 2 }],
    ['fractional index', { leafIndex: 0.5, treeSize: 2 }],
    ['unsafe size', { leafIndex: 0, treeSize: 2 ** 53 }],
  ])('rejects %s', (_name, sizes) => {
    expect(verifyInclusion({ leafHash: a, proof: [b], rootHash: root2, ...sizes })).toBe(false);
  });

  it('rejects hashes of the wrong length anywhere', () => {
    const good = { leafIndex: 0, treeSize: 2, leafHash: a, proof: [b], rootHash: root2 };
    expect(verifyInclusion(good)).toBe(true);
    expect(verifyInclusion({ ...good, leafHash: a.subarray(1) })).toBe(false);
    expect(verifyInclusion({ ...good, rootHash: Buffer.concat([root2, Buffer.alloc(1)]) })).toBe(false);
    expect(verifyInclusion({ ...good, proof: [b.subarray(0, 31)] })).toBe(false);
    expect(verifyInclusion({ ...good, proof: [Buffer.alloc(0)] })).toBe(false);
  });
});

describe('verifyConsistency', () => {
  const good = { oldSize: 1, newSize: 2, oldRoot: root1, newRoot: root2, proof: [b] };

  it('accepts a genuine proof', () => {
    expect(verifyConsistency(good)).toBe(true);
  });

  it('rejects any proof from size 0, even an empty one', () => {
    const empty = rootFromLeaves([]);
    expect(verifyConsistency({ oldSize: 0, newSize: 2, oldRoot: empty, newRoot: root2, proof: [] })).toBe(false);
    expect(verifyConsistency({ oldSize: 0, newSize: 0, oldRoot: empty, newRoot: empty, proof: [] })).toBe(false);
  });

  it('between equal sizes accepts only the empty proof with equal roots', () => {
    expect(verifyConsistency({ oldSize: 2, newSize: 2, oldRoot: root2, newRoot: root2, proof: [] })).toBe(true);
    expect(verifyConsistency({ oldSize: 2, newSize: 2, oldRoot: root2, newRoot: root2, proof: [b] })).toBe(false);
    expect(verifyConsistency({ oldSize: 2, newSize: 2, oldRoot: root1, newRoot: root2, proof: [] })).toBe(false);
  });

  it('rejects going backwards, empty proofs and wrong hash lengths', () => {
    expect(verifyConsistency({ ...good, oldSize: 2, newSize: 1 })).toBe(false);
    expect(verifyConsistency({ ...good, proof: [] })).toBe(false);
    expect(verifyConsistency({ ...good, proof: [b.subarray(1)] })).toBe(false);
    expect(verifyConsistency({ ...good, oldRoot: root1.subarray(1) })).toBe(false);
    expect(verifyConsistency({ ...good, proof: Array.from({ length: 65 }, () => b) })).toBe(false);
  });
});

describe('hostile input', () => {
  const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 60));
  const anyBytes = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
  const anyHash = fc.oneof(anyBytes, fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u)));

  it('verifiers never throw and never accept random data', () => {
    fc.assert(
      fc.property(anyNumber, anyNumber, anyHash, anyHash, fc.array(anyHash, { maxLength: 70 }), (x, y, h1, h2, proof) => {
        // The only acceptable random inputs: a one-leaf tree whose root is the leaf, or equal trees.
        const same = proof.length === 0 && h1.length === 32 && h1.equals(h2);
        expect(verifyInclusion({ leafIndex: x, treeSize: y, leafHash: h1, rootHash: h2, proof })).toBe(same && x === 0 && y === 1);
        const sameRootsAllowed = same && x === y;
        expect(verifyConsistency({ oldSize: x, newSize: y, oldRoot: h1, newRoot: h2, proof })).toBe(
          sameRootsAllowed && Number.isSafeInteger(x) && x > 0,
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('rootFromLeaves refuses non-hashes', () => {
    expect(() => rootFromLeaves([Buffer.alloc(31)])).toThrow(TypeError);
  });
});
