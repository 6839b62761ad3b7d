/**
 * Public surface of the transparency log core (pure: no HTTP, database or clock).
 * RFC 9162 Merkle hashing and proofs, RFC 8785 canonical JSON for entries, and C2SP signed-note
 * checkpoints. See each file's header for the standard it follows.
 */
export { canonicalize, canonicalBytes, JCS_MAX_DEPTH } from './jcs';
export {
  HASH_SIZE,
  hashLeaf,
  hashChildren,
  emptyRoot,
  computeNewNodes,
  rootAt,
  inclusionProof,
  consistencyProof,
  MemoryTreeNodeStore,
  type NodeId,
  type TreeNode,
  type GetNode,
  type TreeNodeSource,
} from './merkle';
export { verifyInclusion, verifyConsistency, rootFromLeaves, type InclusionCheck, type ConsistencyCheck } from './verify';
export {
  NOTE_SIG_TYPE_ED25519,
  NOTE_SIG_TYPE_ECDSA,
  DEFAULT_NOTE_LIMITS,
  isValidKeyName,
  noteVerifier,
  formatVerifierKey,
  parseVerifierKey,
  signNote,
  parseNote,
  verifyNote,
  formatCheckpoint,
  parseCheckpoint,
  openCheckpoint,
  type NoteKeyType,
  type NoteSigner,
  type NoteKey,
  type NoteVerifier,
  type NoteSignature,
  type Note,
  type VerifiedNote,
  type NoteLimits,
  type Checkpoint,
} from './note';

export * from './service';
export * from './audit';
export * from './sources';
