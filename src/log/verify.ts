/**
 * Independent verifiers for RFC 9162 proofs, written from the RFC's verification algorithms
 * (§2.1.3.2 inclusion, §2.1.4.2 consistency) and sharing no code with the prover in merkle.ts,
 * so that a bug in one is caught by the other.
 *
 * The verifiers never throw: any malformed input (sizes that are not safe integers, hashes that
 * are not 32 bytes, a proof of the wrong length) is a failed verification.
 *
 * Local policy beyond the RFC (project standards notes, "Transparency log"):
 *  - a consistency proof from size 0 is rejected (every tree extends the empty tree, so such a
 *    proof proves nothing and is most likely a client bug);
 *  - between equal sizes only the empty proof is accepted, and only with equal roots.
 */
import { createHash } from 'node:crypto';

const SHA256_SIZE = 32;
/** No valid proof for a tree of at most 2^53 leaves has more entries than this. */
const MAX_PROOF_LENGTH = 64;

export interface InclusionCheck {
  leafIndex: number;
  treeSize: number;
  leafHash: Uint8Array;
  proof: readonly Uint8Array[];
  rootHash: Uint8Array;
}

export interface ConsistencyCheck {
  oldSize: number;
  newSize: number;
  oldRoot: Uint8Array;
  newRoot: Uint8Array;
  proof: readonly Uint8Array[];
}

/** RFC 9162 §2.1.3.2: true iff `proof` shows `leafHash` at `leafIndex` in the tree `rootHash`. */
export function verifyInclusion(check: InclusionCheck): boolean {
  const { leafIndex, treeSize, leafHash, proof, rootHash } = check;
  if (!isCount(leafIndex) || !isCount(treeSize)) return false;
  if (!isHash(leafHash) || !isHash(rootHash) || !isHashList(proof)) return false;
  // 1. leaf_index ≥ tree_size: fail.
  if (leafIndex >= treeSize) return false;
  // 2. fn = leaf_index, sn = tree_size − 1.
  let fn = leafIndex;
  let sn = treeSize - 1;
  // 3. r = hash.
  let r: Buffer = Buffer.from(leafHash);
  // 4. For each p in inclusion_path:
  for (const p of proof) {
    // a. sn = 0: fail.
    if (sn === 0) return false;
    // b. LSB(fn) set, or fn = sn:
    if (isOdd(fn) || fn === sn) {
      // i. r = HASH(0x01 || p || r)
      r = node(p, r);
      // ii. If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      // Otherwise r = HASH(0x01 || r || p)
      r = node(r, p);
    }
    // c. Right-shift fn and sn once.
    fn = half(fn);
    sn = half(sn);
  }
  // 5. sn = 0 and r = root_hash.
  return sn === 0 && r.equals(Buffer.from(rootHash));
}

/** RFC 9162 §2.1.4.2: true iff `proof` shows the tree `newRoot` extends the tree `oldRoot`. */
export function verifyConsistency(check: ConsistencyCheck): boolean {
  const { oldSize, newSize, oldRoot, newRoot, proof } = check;
  if (!isCount(oldSize) || !isCount(newSize)) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !isHashList(proof)) return false;
  if (oldSize === 0 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && Buffer.from(oldRoot).equals(Buffer.from(newRoot));
  // 1. Empty consistency_path: fail.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, prepend first_hash to the path.
  const path: Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  // 3. fn = first − 1, sn = second − 1.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  // 4. If LSB(fn) is set, right-shift fn and sn until LSB(fn) is not set.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. fr = sr = first value of the path.
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = fr;
  // 6. For each subsequent value c:
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    // a. sn = 0: fail.
    if (sn === 0) return false;
    // b. LSB(fn) set, or fn = sn:
    if (isOdd(fn) || fn === sn) {
      fr = node(c, fr); // i.
      sr = node(c, sr); // ii.
      // iii. If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = node(sr, c); // Otherwise sr = HASH(0x01 || sr || c)
    }
    // c. Right-shift fn and sn once.
    fn = half(fn);
    sn = half(sn);
  }
  // 7. fr = first_hash, sr = second_hash, sn = 0.
  return sn === 0 && fr.equals(Buffer.from(oldRoot)) && sr.equals(Buffer.from(newRoot));
}

/**
 * MTH over already-hashed leaves, straight from the recursive definition (RFC 9162 §2.1.1).
 * O(n) hashes; meant for tests and for auditing a whole log, not for serving proofs.
 */
export function rootFromLeaves(leafHashes: readonly Uint8Array[]): Buffer {
  for (const h of leafHashes) {
    if (!isHash(h)) throw new TypeError('every leaf hash must be 32 bytes');
  }
  if (leafHashes.length === 0) return createHash('sha256').digest();
  const mth = (lo: number, hi: number): Buffer => {
    const n = hi - lo;
    if (n === 1) return Buffer.from(leafHashes[lo] as Uint8Array);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return node(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}

function node(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([0x01])).update(left).update(right).digest();
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === SHA256_SIZE;
}

function isHashList(list: unknown): list is readonly Uint8Array[] {
  return Array.isArray(list) && list.length <= MAX_PROOF_LENGTH && list.every(isHash);
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

function half(x: number): number {
  return Math.floor(x / 2);
}

function isPowerOfTwo(x: number): boolean {
  let p = 1;
  while (p < x) p *= 2;
  return p === x;
}
