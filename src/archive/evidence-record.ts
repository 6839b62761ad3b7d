import { ParseError } from '../errors';
import { DerError, DerReader, decodeDer, encodeOid, encodeTlv, isContext, readOid, readOctetString, readSequence, readSmallInt, TAG, type DerNode } from '../pki/der';
import { hashByOid, HASHES } from '../pki/hashes';
import type { TreeHash } from './hash-tree';

/*
 * RFC 4998 (Evidence Record Syntax), module ERS: DEFINITIONS IMPLICIT TAGS.
 *
 * EvidenceRecord ::= SEQUENCE {
 *   version                   INTEGER { v1(1) } ,
 *   digestAlgorithms          SEQUENCE OF AlgorithmIdentifier,
 *   cryptoInfos               [0] CryptoInfos OPTIONAL,
 *   encryptionInfo            [1] EncryptionInfo OPTIONAL,
 *   archiveTimeStampSequence  ArchiveTimeStampSequence
 * }
 * ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain
 * ArchiveTimeStampChain    ::= SEQUENCE OF ArchiveTimeStamp
 * ArchiveTimeStamp ::= SEQUENCE {
 *   digestAlgorithm [0] AlgorithmIdentifier OPTIONAL,
 *   attributes      [1] Attributes OPTIONAL,
 *   reducedHashtree [2] SEQUENCE OF PartialHashtree OPTIONAL,
 *   timeStamp       ContentInfo
 * }
 * PartialHashtree ::= SEQUENCE OF OCTET STRING
 *
 * We write version 1, one digest algorithm, no cryptoInfos/encryptionInfo/attributes. The parser
 * reads what we write and refuses the rest (cryptoInfos, encryptionInfo, attributes: the archive
 * never needs them and a verifier that skipped them would verify less than the record says).
 */

export interface ArchiveTimeStampValue {
  digestAlgorithm?: TreeHash;
  reducedHashtree?: Buffer[][];
  /** TimeStampToken (ContentInfo) DER, as received. */
  timeStamp: Buffer;
}

export interface EvidenceRecordValue {
  digestAlgorithms: TreeHash[];
  /** Chains, oldest first; each chain's timestamps oldest first. */
  chains: ArchiveTimeStampValue[][];
}

const seq = (...parts: Buffer[]) => encodeTlv(0x30, Buffer.concat(parts));
const algId = (alg: TreeHash) => seq(encodeOid(HASHES[alg].oid));

export function encodeArchiveTimeStamp(ats: ArchiveTimeStampValue): Buffer {
  const parts: Buffer[] = [];
  // [0] IMPLICIT AlgorithmIdentifier: the SEQUENCE's contents under a constructed context tag.
  if (ats.digestAlgorithm) parts.push(encodeTlv(0xa0, encodeOid(HASHES[ats.digestAlgorithm].oid)));
  if (ats.reducedHashtree && ats.reducedHashtree.length > 0) {
    const trees = ats.reducedHashtree.map((list) => seq(...list.map((h) => encodeTlv(TAG.OCTET_STRING, h))));
    parts.push(encodeTlv(0xa2, Buffer.concat(trees)));
  }
  parts.push(ats.timeStamp);
  return seq(...parts);
}

export function encodeEvidenceRecord(er: EvidenceRecordValue): Buffer {
  if (er.chains.length === 0 || er.chains.some((c) => c.length === 0)) throw new Error('an evidence record needs at least one archive timestamp');
  return seq(
    encodeTlv(TAG.INTEGER, Buffer.from([1])),
    seq(...er.digestAlgorithms.map(algId)),
    seq(...er.chains.map((chain) => seq(...chain.map(encodeArchiveTimeStamp)))),
  );
}

function hashFromAlgId(n: DerNode, what: string, implicit: boolean): TreeHash {
  const r = implicit ? new DerReader(n, what) : readSequence(n, what);
  const oid = readOid(r.next('algorithm'), what);
  // Parameters absent (RFC 5754) or NULL are both seen in the wild.
  const p = r.peek();
  if (p && p.tagClass === 'universal' && p.tagNumber === TAG.NULL && p.content.length === 0) r.next('parameters');
  r.end();
  const spec = hashByOid(oid);
  if (!spec || spec.name !== 'sha256') throw new DerError(`${what}: unsupported digest algorithm ${oid}`);
  return spec.name;
}

const MAX_ER_BYTES = 4 * 1024 * 1024;

/** Strict parser: DER only, no trailing bytes, depth-limited; refuses fields we do not verify. Throws ParseError ERS_MALFORMED. */
export function parseEvidenceRecord(der: Uint8Array): EvidenceRecordValue {
  try {
    const root = decodeDer(der, { maxBytes: MAX_ER_BYTES, maxDepth: 48 });
    const r = readSequence(root, 'EvidenceRecord');
    if (readSmallInt(r.next('version'), 'version') !== 1) throw new DerError('EvidenceRecord: version must be 1');
    const algs = readSequence(r.next('digestAlgorithms'), 'digestAlgorithms');
    const digestAlgorithms: TreeHash[] = [];
    while (algs.remaining > 0) digestAlgorithms.push(hashFromAlgId(algs.next('AlgorithmIdentifier'), 'digestAlgorithms', false));
    if (digestAlgorithms.length === 0) throw new DerError('EvidenceRecord: no digest algorithm');
    if (isContext(r.peek(), 0) || isContext(r.peek(), 1)) throw new DerError('EvidenceRecord: cryptoInfos/encryptionInfo are not supported');
    const seqNode = readSequence(r.next('archiveTimeStampSequence'), 'ArchiveTimeStampSequence');
    r.end();
    const chains: ArchiveTimeStampValue[][] = [];
    while (seqNode.remaining > 0) {
      const chainReader = readSequence(seqNode.next('ArchiveTimeStampChain'), 'ArchiveTimeStampChain');
      const chain: ArchiveTimeStampValue[] = [];
      while (chainReader.remaining > 0) chain.push(readArchiveTimeStamp(chainReader.next('ArchiveTimeStamp')));
      if (chain.length === 0) throw new DerError('ArchiveTimeStampChain: empty');
      chains.push(chain);
    }
    if (chains.length === 0) throw new DerError('ArchiveTimeStampSequence: empty');
    return { digestAlgorithms, chains };
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`evidence record is malformed: ${e.message}`, 'ERS_MALFORMED', { cause: e });
    throw e;
  }
}

function readArchiveTimeStamp(n: DerNode): ArchiveTimeStampValue {
  const r = readSequence(n, 'ArchiveTimeStamp');
  const out: ArchiveTimeStampValue = { timeStamp: Buffer.alloc(0) };
  const a0 = r.optionalContext(0);
  if (a0) {
    if (!a0.constructed) throw new DerError('ArchiveTimeStamp: digestAlgorithm must be constructed');
    out.digestAlgorithm = hashFromAlgId(a0, 'ArchiveTimeStamp.digestAlgorithm', true);
  }
  if (r.optionalContext(1)) throw new DerError('ArchiveTimeStamp: attributes are not supported');
  const a2 = r.optionalContext(2);
  if (a2) {
    if (!a2.constructed) throw new DerError('ArchiveTimeStamp: reducedHashtree must be constructed');
    out.reducedHashtree = a2.children.map((pht) => {
      const lr = readSequence(pht, 'PartialHashtree');
      const list: Buffer[] = [];
      while (lr.remaining > 0) {
        const h = readOctetString(lr.next('hash'), 'PartialHashtree');
        if (h.length !== 32) throw new DerError('PartialHashtree: hash has the wrong length');
        list.push(Buffer.from(h));
      }
      if (list.length === 0) throw new DerError('PartialHashtree: empty');
      return list;
    });
    if (out.reducedHashtree.length === 0) throw new DerError('ArchiveTimeStamp: empty reducedHashtree');
  }
  const ts = r.next('timeStamp');
  readSequence(ts, 'timeStamp');
  out.timeStamp = Buffer.from(ts.der);
  r.end();
  return out;
}
