import { canonicalize } from './jcs';
import { emptyRoot, hashChildren, hashLeaf } from './merkle';
import { openCheckpoint, type NoteVerifier } from './note';
import { verifyConsistency } from './verify';

/** What the auditor reads: the local store or a remote service, behind one interface. */
export interface AuditSource {
  size(): Promise<number>;
  /** leafInput bytes of entries [start, end). */
  entries(start: number, end: number): Promise<{ index: number; leafInput: Buffer }[]>;
  /** Signed checkpoints in size order. */
  checkpoints(): AsyncIterable<{ size: number; note: string }>;
  /** Stored complete-subtree hashes, when the source has them (local store): compared as we go. */
  storedNodes?(ids: { level: number; index: number }[]): Promise<(Buffer | null)[]>;
}

export interface AuditProblem {
  /** The first entry index the problem concerns (or the checkpoint size). */
  index: number;
  kind: 'leaf-hash' | 'subtree-hash' | 'not-canonical' | 'checkpoint-signature' | 'checkpoint-root' | 'checkpoint-beyond-log' | 'inconsistent-checkpoint' | 'gap';
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  treeSize: number;
  checkpointsVerified: number;
  root: string;
  problems: AuditProblem[];
  /** The first index at which anything diverges, or null. */
  firstDivergence: number | null;
}

/**
 * Recomputes the whole tree from the entries (RFC 9162 hashing, streaming: O(n) time, O(log n)
 * memory), and checks:
 * - every entry is canonical JSON (RFC 8785) — the bytes that were hashed are the entry;
 * - every complete subtree equals the stored node (names the first tampered entry exactly);
 * - every signed checkpoint verifies with a log key and its root equals the recomputed root at
 *   its size — so consecutive checkpoints are consistent with each other and with the entries;
 * - optionally, a checkpoint the auditor saved earlier is consistent with the log now.
 */
export async function auditLog(
  source: AuditSource,
  options: { verifiers: NoteVerifier[]; origin: string; pageSize?: number; savedCheckpoint?: string; consistencyProof?: (m: number, n: number) => Promise<Buffer[]> },
): Promise<AuditReport> {
  const size = await source.size();
  const problems: AuditProblem[] = [];
  const page = options.pageSize ?? 1000;
  // Frontier: complete subtrees (level, index, hash) covering the leaves so far, left to right.
  const frontier: { level: number; index: number; hash: Buffer }[] = [];
  const roots = new Map<number, Buffer>();

  const checkpoints: { size: number; note: string }[] = [];
  for await (const c of source.checkpoints()) checkpoints.push(c);
  const wanted = new Set(checkpoints.map((c) => c.size));
  if (options.savedCheckpoint) {
    try {
      wanted.add(openCheckpoint(options.savedCheckpoint, options.verifiers, { origin: options.origin }).checkpoint.size);
    } catch {
      /* reported below */
    }
  }
  const rootOfFrontier = (): Buffer => {
    let h = frontier[frontier.length - 1].hash;
    for (let i = frontier.length - 2; i >= 0; i--) h = hashChildren(frontier[i].hash, h);
    return h;
  };
  if (wanted.has(0)) roots.set(0, emptyRootBuffer());

  for (let start = 0; start < size; start += page) {
    const end = Math.min(size, start + page);
    const batch = await source.entries(start, end);
    const completed: { level: number; index: number; hash: Buffer }[] = [];
    for (let k = 0; k < end - start; k++) {
      const i = start + k;
      const e = batch[k];
      if (!e || e.index !== i) {
        problems.push({ index: i, kind: 'gap', detail: `entry ${i} is missing` });
        return finish();
      }
      try {
        if (canonicalize(JSON.parse(e.leafInput.toString('utf8'))) !== e.leafInput.toString('utf8')) {
          problems.push({ index: i, kind: 'not-canonical', detail: `entry ${i} is not RFC 8785 canonical JSON` });
        }
      } catch {
        problems.push({ index: i, kind: 'not-canonical', detail: `entry ${i} is not JSON` });
      }
      let node = { level: 0, index: i, hash: hashLeaf(e.leafInput) };
      completed.push(node);
      while (frontier.length > 0 && frontier[frontier.length - 1].level === node.level) {
        const left = frontier.pop()!;
        node = { level: node.level + 1, index: left.index / 2, hash: hashChildren(left.hash, node.hash) };
        completed.push(node);
      }
      frontier.push(node);
      if (wanted.has(i + 1)) roots.set(i + 1, rootOfFrontier());
    }
    if (source.storedNodes) {
      const stored = await source.storedNodes(completed);
      for (let j = 0; j < completed.length; j++) {
        const c = completed[j];
        if (!stored[j] || !stored[j]!.equals(c.hash)) {
          const first = c.index * 2 ** c.level;
          problems.push({
            index: first,
            kind: c.level === 0 ? 'leaf-hash' : 'subtree-hash',
            detail:
              c.level === 0
                ? `entry ${first}: its hash does not match the stored tree (the entry was changed)`
                : `subtree of entries ${first}..${first + 2 ** c.level - 1} does not match the stored tree`,
          });
        }
      }
    }
  }

  let verified = 0;
  for (const c of checkpoints) {
    let cp;
    try {
      cp = openCheckpoint(c.note, options.verifiers, { origin: options.origin }).checkpoint;
    } catch (e) {
      problems.push({ index: c.size, kind: 'checkpoint-signature', detail: `checkpoint of size ${c.size}: ${(e as Error).message}` });
      continue;
    }
    if (cp.size > size) {
      problems.push({ index: size, kind: 'checkpoint-beyond-log', detail: `checkpoint of size ${cp.size} is beyond the log's ${size} entries (entries were removed)` });
      continue;
    }
    const root = roots.get(cp.size);
    if (!root || !root.equals(cp.rootHash)) {
      problems.push({ index: cp.size, kind: 'checkpoint-root', detail: `signed checkpoint of size ${cp.size} does not match the entries (the log was changed below index ${cp.size})` });
      continue;
    }
    verified++;
  }

  if (options.savedCheckpoint) {
    try {
      const saved = openCheckpoint(options.savedCheckpoint, options.verifiers, { origin: options.origin }).checkpoint;
      const root = roots.get(saved.size);
      if (saved.size > size || !root || !root.equals(saved.rootHash)) {
        problems.push({ index: Math.min(saved.size, size), kind: 'inconsistent-checkpoint', detail: `the saved checkpoint (size ${saved.size}) is not a prefix of this log` });
      } else if (options.consistencyProof && saved.size > 0 && saved.size < size) {
        const proof = await options.consistencyProof(saved.size, size);
        if (!verifyConsistency({ oldSize: saved.size, newSize: size, oldRoot: saved.rootHash, newRoot: size ? rootOfFrontier() : emptyRootBuffer(), proof })) {
          problems.push({ index: saved.size, kind: 'inconsistent-checkpoint', detail: 'the served consistency proof from the saved checkpoint does not verify' });
        }
      }
    } catch (e) {
      problems.push({ index: 0, kind: 'checkpoint-signature', detail: `saved checkpoint: ${(e as Error).message}` });
    }
  }
  return finish(verified);

  function finish(checkpointsVerified = 0): AuditReport {
    // Entry-level findings name an index exactly; subtree and checkpoint findings name a range
    // that contains it. The first divergence is the most precise finding available.
    const precise = (p: AuditProblem) => (p.kind === 'leaf-hash' || p.kind === 'not-canonical' || p.kind === 'gap' ? 0 : 1);
    problems.sort((a, b) => precise(a) - precise(b) || a.index - b.index);
    return {
      ok: problems.length === 0,
      treeSize: size,
      checkpointsVerified,
      root: (frontier.length ? rootOfFrontier() : emptyRootBuffer()).toString('hex'),
      problems,
      firstDivergence: problems.length ? problems[0].index : null,
    };
  }
}

const emptyRootBuffer = emptyRoot;
