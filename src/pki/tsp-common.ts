/**
 * RFC 3161 pieces shared by the TSA side (tsp.ts) and the reader side (tsp-token.ts).
 *
 *   MessageImprint ::= SEQUENCE  {
 *      hashAlgorithm                AlgorithmIdentifier,
 *      hashedMessage                OCTET STRING  }
 *
 *   PKIFailureInfo ::= BIT STRING {
 *      badAlg (0), badRequest (2), badDataFormat (5), timeNotAvailable (14),
 *      unacceptedPolicy (15), unacceptedExtension (16), addInfoNotAvailable (17),
 *      systemFailure (25) }
 */
import { DerError, readOctetString, readSequence, type DerNode } from './der';
import { hashByOid, type HashName } from './hashes';
import { readAlgorithmIdentifier, type AlgorithmIdentifierValue } from './signature';

/**
 * PKIFailureInfo named bits (RFC 3161 §2.4.2). Encoded here rather than with asn1-tsp's
 * PKIFailureInfoFlags, whose values put every bit after badAlg one position too low
 * (badRequest as bit 1 instead of 2, unacceptedPolicy as 14 instead of 15, ...).
 */
export const PKI_FAILURE_INFO_BITS = Object.freeze({
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
});

export type PKIFailureInfoName = keyof typeof PKI_FAILURE_INFO_BITS;

export interface MessageImprintValue {
  /** The MessageImprint as received; TSTInfo echoes these bytes. */
  der: Buffer;
  hashAlgorithm: AlgorithmIdentifierValue;
  /** Null when the algorithm is not one we know. */
  hashName: HashName | null;
  hashedMessage: Buffer;
}

export function readMessageImprint(n: DerNode): MessageImprintValue {
  const r = readSequence(n, 'MessageImprint');
  const hashAlgorithm = readAlgorithmIdentifier(r.next('hashAlgorithm'), 'hashAlgorithm');
  const hashedMessage = readOctetString(r.next('hashedMessage'), 'hashedMessage');
  r.end();
  if (hashedMessage.length === 0 || hashedMessage.length > 128) throw new DerError('hashedMessage length out of range');
  return { der: n.der, hashAlgorithm, hashName: hashByOid(hashAlgorithm.oid)?.name ?? null, hashedMessage };
}
