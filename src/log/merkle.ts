/**
 * RFC 9162 Merkle tree hashing and proof construction over a store of complete-subtree nodes.
 *
 * Hashing (RFC 9162 §2.1.1):
 *   MTH({})       = SHA-256()
 *   MTH({d(0)})   = SHA-256(0x00 || d(0))
 *   MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])),  k = largest power of two < n
 *
 * Storage model: node(level, i) is the hash of the COMPLETE subtree covering leaves
 * [i·2^level, (i+1)·2^level). Appending leaf n creates exactly the nodes listed by
 * `computeNewNodes` (the leaf plus one node per trailing one-bit of n), so the store only ever
 * writes immutable nodes and never rewrites an incomplete one.
 *
 * Every subtree D[a:b] that the RFC recursion visits has `a` aligned to a power of two ≥ b−a, so
 * it is either one stored node or the right-fold of the complete subtrees given by the binary
 * decomposition of b−a (largest first). The PATH and SUBPROOF recursions enter an incomplete range
 * at most once each (after a step to the left everything is complete), so the root and any proof
 * need O(log n) node reads. All reads of one operation are planned first and fetched in one batch.
 *
 * Sizes and indices are JavaScript numbers limited to safe integers (2^53 − 1): no 32-bit bit
 * operators are used on them.
 */
import { createHash } from 'node:crypto';
import { AppError, NotFoundError, ValidationError } from '../errors';

export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** Address of a complete subtree: leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

export interface TreeNode extends NodeId {
  hash: Buffer;
}

/** Reads one stored node; must throw (not return garbage) when the node does not exist. */
export type GetNode = (level: number, index: number) => Promise<Buffer>;

/** Read port of the node store. `getNodes` lets an adapter answer a whole plan in one query. */
export interface TreeNodeSource {
  getNode(level: number, index: number): Promise<Buffer>;
  /** Optional batch read; results in the order of `ids`. */
  getNodes?(ids: readonly NodeId[]): Promise<Buffer[]>;
}

/** RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || entry). */
export function hashLeaf(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/** RFC 9162 §2.1.1: interior node = SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  assertHash(left, 'left');
  assertHash(right, 'right');
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** RFC 9162 §2.1.1: the hash of the empty tree, SHA-256 of the empty string. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/**
 * The complete-subtree nodes created by appending `leafHash` as leaf number `size` (0-based), i.e.
 * when the tree grows from `size` to `size + 1` leaves: the leaf node itself, then each parent the
 * new leaf completes. Reads at most log2(size) existing nodes (the left siblings) via `getNode`.
 * The store persists the returned nodes together with the leaf.
 */
export async function computeNewNodes(size: number, leafHash: Uint8Array, getNode: GetNode): Promise<TreeNode[]> {
  assertCount(size, 'size');
  assertHash(leafHash, 'leafHash');
  let hash: Buffer = Buffer.from(leafHash);
  let level = 0;
  let index = size;
  const created: TreeNode[] = [{ level, index, hash }];
  // A right child (odd index) completes its parent; a left child does not.
  while (index % 2 === 1) {
    const left = checkNode(await getNode(level, index - 1), { level, index: index - 1 });
    hash = hashChildren(left, hash);
    index = (index - 1) / 2;
    level += 1;
    created.push({ level, index, hash });
  }
  return created;
}

/** MTH(D[0:size]) from stored nodes: popcount(size) reads. */
export async function rootAt(size: number, src: TreeNodeSource): Promise<Buffer> {
  assertCount(size, 'size');
  if (size === 0) return emptyRoot();
  const [root] = await hashRanges([{ start: 0, end: size }], src);
  return root as Buffer;
}

/**
 * RFC 9162 §2.1.3.1 PATH(index, D[0:size]): the audit path for leaf `index`, nearest sibling first.
 * Requires 0 ≤ index < size.
 */
export async function inclusionProof(index: number, size: number, src: TreeNodeSource): Promise<Buffer[]> {
  assertCount(index, 'index');
  assertCount(size, 'size');
  if (index >= size) {
    throw rangeError(`leaf index ${index} is not below tree size ${size}`, { index, size });
  }
  return hashRanges(inclusionRanges(index, size), src);
}

/**
 * RFC 9162 §2.1.4.1 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). Requires 1 ≤ m ≤ n; for m = n
 * the proof is empty (SUBPROOF with b = true). A proof from the empty tree is refused: every tree
 * is trivially consistent with it, so asking for one is a client error.
 */
export async function consistencyProof(m: number, n: number, src: TreeNodeSource): Promise<Buffer[]> {
  assertCount(m, 'oldSize');
  assertCount(n, 'newSize');
  if (m === 0) throw rangeError('a consistency proof from the empty tree is not defined', { oldSize: m, newSize: n });
  if (m > n) throw rangeError(`old size ${m} is larger than new size ${n}`, { oldSize: m, newSize: n });
  if (m === n) return [];
  return hashRanges(consistencyRanges(m, n), src);
}

// ---------------------------------------------------------------------------------------------
// Planning: which subtree ranges make up a proof (pure, no reads).

interface Range {
  start: number;
  end: number;
}

/** PATH(m, D[n]) unrolled: walk from the root towards the leaf, then list siblings bottom-up. */
function inclusionRanges(index: number, size: number): Range[] {
  const topDown: Range[] = [];
  let start = 0;
  let end = size;
  let m = index; // relative to `start`
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      // PATH(m, D[0:k]) : MTH(D[k:n])
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      // PATH(m − k, D[k:n]) : MTH(D[0:k])
      topDown.push({ start, end: start + k });
      start += k;
      m -= k;
    }
  }
  return topDown.reverse();
}

/** SUBPROOF(m, D[n], b) unrolled; the recursive part comes first in the output, so reverse. */
function consistencyRanges(oldSize: number, newSize: number): Range[] {
  const topDown: Range[] = [];
  let start = 0;
  let end = newSize;
  let m = oldSize; // relative to `start`
  let b = true;
  for (;;) {
    const len = end - start;
    if (m === len) {
      // SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}
      if (!b) topDown.push({ start, end });
      break;
    }
    const k = largestPowerOfTwoBelow(len);
    if (m <= k) {
      // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      // SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k])
      topDown.push({ start, end: start + k });
      start += k;
      m -= k;
      b = false;
    }
  }
  return topDown.reverse();
}

/** Largest power of two strictly below n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Complete subtrees covering [start, end), left to right. For the ranges the RFC recursion
 * produces (start aligned to a power of two ≥ end − start) they have decreasing sizes and the
 * range's MTH is their right fold.
 */
function completeSubtrees(start: number, end: number): NodeId[] {
  const ids: NodeId[] = [];
  let a = start;
  while (a < end) {
    let level = 0;
    let width = 1;
    while (a % (width * 2) === 0 && a + width * 2 <= end) {
      width *= 2;
      level += 1;
    }
    ids.push({ level, index: a / width });
    a += width;
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Fetching and folding.

async function hashRanges(ranges: readonly Range[], src: TreeNodeSource): Promise<Buffer[]> {
  const plans = ranges.map((r) => completeSubtrees(r.start, r.end));
  const wanted = new Map<string, NodeId>();
  for (const plan of plans) for (const id of plan) wanted.set(nodeKey(id), id);
  const ids = [...wanted.values()];
  if (ids.length === 0) return []; // no ranges: the proof for a one-leaf tree, say
  const hashes = src.getNodes ? await src.getNodes(ids) : await Promise.all(ids.map((id) => src.getNode(id.level, id.index)));
  if (!Array.isArray(hashes) || hashes.length !== ids.length) {
    throw new AppError('LOG_NODE_INVALID', 'the node store answered a batch read with the wrong number of nodes');
  }
  const fetched = new Map<string, Buffer>();
  ids.forEach((id, i) => fetched.set(nodeKey(id), checkNode(hashes[i], id)));
  return plans.map((plan) => {
    let acc: Buffer = Buffer.from(fetched.get(nodeKey(plan[plan.length - 1] as NodeId)) as Buffer);
    for (let i = plan.length - 2; i >= 0; i--) {
      acc = hashChildren(fetched.get(nodeKey(plan[i] as NodeId)) as Buffer, acc);
    }
    return acc;
  });
}

function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

function checkNode(hash: unknown, id: NodeId): Buffer {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new AppError('LOG_NODE_INVALID', `the node store returned an invalid hash for node ${nodeKey(id)}`, {
      details: { level: id.level, index: id.index },
    });
  }
  return Buffer.from(hash);
}

// ---------------------------------------------------------------------------------------------
// Validation.

function assertCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw rangeError(`${name} must be a non-negative safe integer`, { [name]: String(value) });
  }
}

function assertHash(hash: Uint8Array, name: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new ValidationError(`${name} must be a ${HASH_SIZE}-byte SHA-256 hash`, [], 'LOG_INVALID_HASH', { status: 400 });
  }
}

function rangeError(message: string, details: Record<string, unknown>): ValidationError {
  return new ValidationError(message, [], 'LOG_INVALID_RANGE', { status: 400, details });
}

// ---------------------------------------------------------------------------------------------
// In-memory store for tests and tools.

/**
 * Node store kept in a Map. Appends are serialised; reads are counted (`reads`) so tests can check
 * the O(log n) bound. Returned buffers are copies, so callers cannot corrupt the store.
 */
export class MemoryTreeNodeStore implements TreeNodeSource {
  private readonly nodes = new Map<string, Buffer>();
  private treeSize = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** Number of nodes read since construction (a batch read counts each node). */
  reads = 0;

  get size(): number {
    return this.treeSize;
  }

  async getNode(level: number, index: number): Promise<Buffer> {
    this.reads += 1;
    const hash = this.nodes.get(nodeKey({ level, index }));
    if (!hash) throw new NotFoundError(`Merkle tree node ${level}/${index}`);
    return Buffer.from(hash);
  }

  async getNodes(ids: readonly NodeId[]): Promise<Buffer[]> {
    return Promise.all(ids.map((id) => this.getNode(id.level, id.index)));
  }

  /** Appends one leaf hash; resolves to the nodes it created. */
  append(leafHash: Uint8Array): Promise<TreeNode[]> {
    const run = this.tail.then(async () => {
      const created = await computeNewNodes(this.treeSize, leafHash, (l, i) => this.getNode(l, i));
      for (const node of created) this.nodes.set(nodeKey(node), Buffer.from(node.hash));
      this.treeSize += 1;
      return created;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
