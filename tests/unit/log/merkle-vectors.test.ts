/**
 * The RFC 6962 / Certificate Transparency reference tree (tests/vectors/log/merkle, see README):
 * our hashing, node store, prover and verifier against values computed by others.
 */
import {
  MemoryTreeNodeStore,
  consistencyProof,
  emptyRoot,
  hashChildren,
  hashLeaf,
  inclusionProof,
  rootAt,
  rootFromLeaves,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/log';
import { hex, readVector } from './helpers';

interface ReferenceTree {
  leaves: string[];
  nodeHashes: string[][];
  rootsBySize: string[];
  inclusionProofs: { leafIndex: number; treeSize: number; proof: string[] }[];
  consistencyProofs: { oldSize: number; newSize: number; proof: string[] }[];
}

const v = readVector<ReferenceTree>('merkle', 'rfc6962-reference-tree.json');
const leafHashes = v.leaves.map((l) => hashLeaf(hex(l)));
const roots = v.rootsBySize.map(hex);

async function buildStore(): Promise<MemoryTreeNodeStore> {
  const store = new MemoryTreeNodeStore();
  for (const h of leafHashes) await store.append(h);
  return store;
}

describe('RFC 6962 reference tree', () => {
  it('hashes the empty tree, leaves and children as RFC 9162 §2.1.1 says', () => {
    expect(emptyRoot().toString('hex')).toBe(v.rootsBySize[0]);
    expect(leafHashes.map((h) => h.toString('hex'))).toEqual(v.nodeHashes[0]);
    expect(hashChildren(leafHashes[0]!, leafHashes[1]!).toString('hex')).toBe(v.nodeHashes[1]![0]);
  });

  it('stores exactly the published complete-subtree nodes', async () => {
    const store = await buildStore();
    for (let level = 0; level < v.nodeHashes.length; level++) {
      const row = v.nodeHashes[level]!;
      for (let index = 0; index < row.length; index++) {
        expect((await store.getNode(level, index)).toString('hex')).toBe(row[index]);
      }
    }
    await expect(store.getNode(1, 4)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('computes the published root for every size 0..8 (prover and naive MTH)', async () => {
    const store = await buildStore();
    for (let size = 0; size <= 8; size++) {
      expect((await rootAt(size, store)).toString('hex')).toBe(v.rootsBySize[size]);
      expect(rootFromLeaves(leafHashes.slice(0, size)).toString('hex')).toBe(v.rootsBySize[size]);
    }
  });

  it.each(v.inclusionProofs)('inclusion proof for leaf $leafIndex in size $treeSize', async ({ leafIndex, treeSize, proof }) => {
    const store = await buildStore();
    const got = await inclusionProof(leafIndex, treeSize, store);
    expect(got.map((h) => h.toString('hex'))).toEqual(proof);
    const check = { leafIndex, treeSize, leafHash: leafHashes[leafIndex]!, proof: proof.map(hex), rootHash: roots[treeSize]! };
    expect(verifyInclusion(check)).toBe(true);
    // The corruptions of transparency-dev/merkle proof/verify_test.go corruptInclusionProof.
    const some = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
    const probes = [
      { ...check, leafIndex: leafIndex - 1 },
      { ...check, leafIndex: leafIndex + 1 },
      { ...check, leafIndex: leafIndex ^ 2 },
      { ...check, treeSize: treeSize * 2 },
      { ...check, treeSize: Math.floor(treeSize / 2) },
      { ...check, leafHash: hashLeaf(Buffer.from('WrongLeaf')) },
      { ...check, rootHash: emptyRoot() },
      { ...check, rootHash: some },
      { ...check, proof: [...check.proof, roots[treeSize]!] },
      { ...check, proof: [roots[treeSize]!, ...check.proof] },
      ...check.proof.map((_, i) => ({ ...check, proof: check.proof.map((p, j) => (j === i ? flipBit(p, 3) : p)) })),
      ...(check.proof.length > 0 ? [{ ...check, proof: check.proof.slice(0, -1) }] : []),
      ...(check.proof.length > 1 ? [{ ...check, proof: [check.proof[0]!, some, ...check.proof.slice(1)] }] : []),
    ];
    for (const probe of probes) expect(verifyInclusion(probe)).toBe(false);
  });

  it.each(v.consistencyProofs)('consistency proof $oldSize → $newSize', async ({ oldSize, newSize, proof }) => {
    const store = await buildStore();
    const got = await consistencyProof(oldSize, newSize, store);
    expect(got.map((h) => h.toString('hex'))).toEqual(proof);
    const check = { oldSize, newSize, oldRoot: roots[oldSize]!, newRoot: roots[newSize]!, proof: proof.map(hex) };
    expect(verifyConsistency(check)).toBe(true);
    if (check.proof.length === 0) return;
    // The corruptions of transparency-dev/merkle proof/verify_test.go corruptConsistencyProof.
    const wrong = hashLeaf(Buffer.from('WrongRoot'));
    const probes = [
      { ...check, oldSize: oldSize - 1 },
      { ...check, oldSize: oldSize + 1 },
      { ...check, oldSize: oldSize ^ 2 },
      { ...check, newSize: newSize * 2 },
      { ...check, newSize: Math.floor(newSize / 2) },
      { ...check, oldRoot: wrong },
      { ...check, newRoot: wrong },
      { ...check, oldRoot: check.newRoot, newRoot: check.oldRoot },
      { ...check, proof: [] },
      { ...check, proof: [...check.proof, check.oldRoot] },
      { ...check, proof: [...check.proof, check.newRoot] },
      { ...check, proof: [check.oldRoot, ...check.proof] },
      { ...check, proof: [check.newRoot, ...check.proof] },
      { ...check, proof: [check.proof[0]!, ...check.proof] },
      { ...check, proof: check.proof.slice(0, -1) },
      ...check.proof.map((_, i) => ({ ...check, proof: check.proof.map((p, j) => (j === i ? flipBit(p, 4) : p)) })),
    ];
    for (const probe of probes) expect(verifyConsistency(probe)).toBe(false);
  });
});

function flipBit(h: Buffer, bit: number): Buffer {
  const out = Buffer.from(h);
  out[0] = (out[0] as number) ^ (1 << bit);
  return out;
}
