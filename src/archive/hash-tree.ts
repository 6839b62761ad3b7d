import { createHash } from 'node:crypto';

/**
 * The archive hash tree of RFC 4998 §4.2: a node's hash is the hash of its children's hashes
 * sorted in binary ascending order and concatenated — no 0x00/0x01 domain prefixes (unlike the
 * RFC 9162 transparency log), because ERS verification (§4.3) only ever sees sorted lists.
 *
 * Shape: a binary tree over the leaves in the order given; a node left without a sibling on a
 * level moves up unchanged (it is not re-hashed alone), so every hashed node has two children.
 * A one-leaf tree's root is the leaf itself (the archive timestamp then covers the data hash
 * directly and the record has no reduced hash tree).
 */

export type TreeHash = 'sha256';

export function hashOf(alg: TreeHash, data: Uint8Array): Buffer {
  return createHash(alg).update(data).digest();
}

/** Hash of a list of hashes: sorted ascending (byte order), concatenated, hashed (RFC 4998 §4.2 step 4). */
export function hashSortedConcat(alg: TreeHash, hashes: readonly Buffer[]): Buffer {
  const sorted = [...hashes].sort(Buffer.compare);
  return hashOf(alg, Buffer.concat(sorted));
}

export interface HashTree {
  root: Buffer;
  /** Per leaf: the reduced hash tree (RFC 4998 PartialHashtree list), or null for a one-leaf tree. */
  reduced: (Buffer[][] | null)[];
}

/** Builds the tree over `leaves` (at least one) and the reduced hash tree of every leaf. */
export function buildHashTree(alg: TreeHash, leaves: readonly Buffer[]): HashTree {
  if (leaves.length === 0) throw new Error('a hash tree needs at least one leaf');
  if (leaves.length === 1) return { root: leaves[0]!, reduced: [null] };
  // For each leaf: the sibling found at each level where its node was paired.
  const siblings: Buffer[][] = leaves.map(() => []);
  // members[i] = the leaves under node i of the current level.
  let level: Buffer[] = [...leaves];
  let members: number[][] = leaves.map((_, i) => [i]);
  while (level.length > 1) {
    const next: Buffer[] = [];
    const nextMembers: number[][] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) {
        next.push(level[i]!);
        nextMembers.push(members[i]!);
        continue;
      }
      const a = level[i]!;
      const b = level[i + 1]!;
      for (const leaf of members[i]!) siblings[leaf]!.push(b);
      for (const leaf of members[i + 1]!) siblings[leaf]!.push(a);
      next.push(hashSortedConcat(alg, [a, b]));
      nextMembers.push([...members[i]!, ...members[i + 1]!]);
    }
    level = next;
    members = nextMembers;
  }
  // First partial hash tree: the leaf and its first sibling; then one sibling per level.
  const reduced = leaves.map((leaf, i) => {
    const s = siblings[i]!;
    return [[leaf, s[0]!], ...s.slice(1).map((x) => [x])];
  });
  return { root: level[0]!, reduced };
}

/**
 * RFC 4998 §4.3 steps 2–4: the data hash must be in the first list; each list (with the value
 * computed from the previous list added) is hashed sorted-concatenated. Returns the root the
 * path leads to, or null when the data hash is not in the first list. No reduced tree: the
 * root is the data hash itself.
 */
export function rootFromPath(alg: TreeHash, dataHash: Buffer, reduced: readonly (readonly Buffer[])[] | null): Buffer | null {
  if (!reduced || reduced.length === 0) return dataHash;
  if (!reduced[0]!.some((h) => h.equals(dataHash))) return null;
  let h = hashSortedConcat(alg, reduced[0]!);
  for (const list of reduced.slice(1)) h = hashSortedConcat(alg, [...list, h]);
  return h;
}
