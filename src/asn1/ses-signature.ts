/**
 * The electronic signature (签章): GB/T 38540-2020 §8 ("version 4") and the GM/T 0031-2014 form
 * ("version 2"), read for verification. Original DER kept everywhere; encode reproduces DER input.
 *
 * GB/T 38540-2020 (version 4):
 *
 *   SES_Signature ::= SEQUENCE {
 *     toSign          TBS_Sign,
 *     cert            OCTET STRING,               -- the signer's certificate (DER)
 *     signatureAlgID  OBJECT IDENTIFIER,          -- SM2-with-SM3
 *     signature       BIT STRING,                 -- over DER(toSign)
 *     timeStamp       [0] EXPLICIT BIT STRING OPTIONAL }  -- RFC 3161 token over `signature`
 *
 *   TBS_Sign ::= SEQUENCE {
 *     version       INTEGER (4),
 *     eseal         SESeal,
 *     timeInfo      GeneralizedTime,
 *     dataHash      BIT STRING,                   -- SM3 of the signed data
 *     propertyInfo  IA5String,                    -- what was signed (e.g. a path in an OFD)
 *     extDatas      [0] EXPLICIT ExtensionDatas OPTIONAL }
 *
 * GM/T 0031-2014 (version 2):
 *
 *   SES_Signature ::= SEQUENCE { toSign TBS_Sign, signature BIT STRING }
 *   TBS_Sign ::= SEQUENCE {
 *     version             INTEGER,
 *     eseal               SESeal,                 -- version-2 seal
 *     timeInfo            BIT STRING,             -- a time as text, or a timestamp
 *     dataHash            BIT STRING,
 *     propertyInfo        IA5String,
 *     cert                OCTET STRING,
 *     signatureAlgorithm  OBJECT IDENTIFIER }
 */
import { ParseError } from '../errors';
import { decodeDer, isContext, readExplicit } from '../pki/der';
import { DerError, bits, encodeOid, explicit, ia5, int, octets, readIA5, readOctetAlignedBits, readOctetString, readOid, readSequence, readSesTime, readSmallInt, seq, time, type DerNode, type SesTime } from './ses-der';
import { encodeExtensionDatas, encodeSESeal, readExtensionDatas, readSESeal, type ExtData, type SESeal, type SesVersion } from './ses-seal';

/** Largest signature accepted: an embedded seal plus two certificates and a timestamp token. */
export const SES_SIGNATURE_MAX_BYTES = 4 * 1024 * 1024;

export interface TBS_Sign {
  version: number;
  eseal: SESeal;
  /**
   * The claimed signing time. Version 4: the GeneralizedTime. Version 2: decoded from the
   * timeInfo BIT STRING when it holds a time as text, else undefined (then `timeInfoBits`).
   */
  timeInfo?: SesTime;
  /** Version 2 only: the timeInfo BIT STRING as received. */
  timeInfoBits?: Buffer;
  dataHash: Buffer;
  propertyInfo: string;
  extDatas?: ExtData[];
  /** Version 2 carries the signer's certificate and algorithm inside TBS_Sign. */
  cert?: Buffer;
  signatureAlgorithm?: string;
  der: Buffer;
}

export interface SES_Signature {
  version: SesVersion;
  toSign: TBS_Sign;
  cert: Buffer;
  signatureAlgID: string;
  signature: Buffer;
  /** RFC 3161 TimeStampToken (DER ContentInfo) over `signature`, when present (version 4 only). */
  timeStamp?: Buffer;
  der: Buffer;
}

const TEXT_TIME = /^(\d{4}|\d{2})\d{10}Z$/;

/** GM/T 0031's timeInfo: a time written as text in the bit string, when it is one. */
function timeFromBits(b: Buffer): SesTime | undefined {
  const s = b.toString('latin1');
  if (!TEXT_TIME.test(s)) return undefined;
  try {
    // Re-read through the DER time readers so the same calendar checks apply.
    const tag = s.length === 13 ? 0x17 : 0x18;
    return readSesTime(decodeDer(Buffer.concat([Buffer.from([tag, b.length]), b])), 'timeInfo');
  } catch {
    return undefined;
  }
}

function readTbsSign(n: DerNode, version: SesVersion): TBS_Sign {
  const r = readSequence(n, 'TBS_Sign');
  const v = readSmallInt(r.next('version'), 'TBS_Sign.version');
  const eseal = readSESeal(r.next('eseal'));
  if (eseal.version !== version) throw new DerError(`a version-${version} signature embeds a version-${eseal.version} seal`);
  if (version === 4) {
    if (v !== 4) throw new DerError('TBS_Sign.version must be 4');
    const timeInfo = readSesTime(r.next('timeInfo'), 'timeInfo');
    if (timeInfo.kind !== 'generalized') throw new DerError('timeInfo must be a GeneralizedTime');
    const dataHash = readOctetAlignedBits(r.next('dataHash'), 'dataHash');
    const propertyInfo = readIA5(r.next('propertyInfo'), 'propertyInfo');
    const e = r.optionalContext(0);
    const extDatas = e ? readExtensionDatas(readExplicit(e, 0, 'extDatas'), 'extDatas') : undefined;
    r.end();
    return { version: v, eseal, timeInfo, dataHash, propertyInfo, extDatas, der: n.der };
  }
  const timeInfoBits = readOctetAlignedBits(r.next('timeInfo'), 'timeInfo');
  const dataHash = readOctetAlignedBits(r.next('dataHash'), 'dataHash');
  const propertyInfo = readIA5(r.next('propertyInfo'), 'propertyInfo');
  const cert = readOctetString(r.next('cert'), 'cert');
  const signatureAlgorithm = readOid(r.next('signatureAlgorithm'), 'signatureAlgorithm');
  r.end();
  return { version: v, eseal, timeInfo: timeFromBits(timeInfoBits), timeInfoBits, dataHash, propertyInfo, cert, signatureAlgorithm, der: n.der };
}

/** Parses a DER SES_Signature (either version). Malformed input → ParseError SES_SIGNATURE_MALFORMED. */
export function parseSESSignature(der: Uint8Array): SES_Signature {
  try {
    const n = decodeDer(der, { maxBytes: SES_SIGNATURE_MAX_BYTES, maxDepth: 20 });
    const r = readSequence(n, 'SES_Signature');
    const version: SesVersion = n.children.length === 2 ? 2 : 4;
    const toSign = readTbsSign(r.next('toSign'), version);
    if (version === 2) {
      const signature = readOctetAlignedBits(r.next('signature'), 'signature');
      r.end();
      return { version, toSign, cert: toSign.cert!, signatureAlgID: toSign.signatureAlgorithm!, signature, der: n.der };
    }
    const cert = readOctetString(r.next('cert'), 'cert');
    const signatureAlgID = readOid(r.next('signatureAlgID'), 'signatureAlgID');
    const signature = readOctetAlignedBits(r.next('signature'), 'signature');
    let timeStamp: Buffer | undefined;
    const t = r.peek();
    if (t) {
      if (!isContext(t, 0)) throw new DerError('SES_Signature: unexpected element after signature');
      timeStamp = readOctetAlignedBits(readExplicit(r.next('timeStamp'), 0, 'timeStamp'), 'timeStamp');
    }
    r.end();
    return { version, toSign, cert, signatureAlgID, signature, timeStamp, der: n.der };
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`The signature is malformed: ${e.message}`, 'SES_SIGNATURE_MALFORMED', { cause: e });
    // A malformed embedded seal is a malformed signature.
    if (e instanceof ParseError && e.code === 'SES_SEAL_MALFORMED') throw new ParseError(e.message, 'SES_SIGNATURE_MALFORMED', { cause: e });
    throw e;
  }
}

export type TBS_SignFields = Omit<TBS_Sign, 'der' | 'eseal'> & { eseal: SESeal };

/** DER of TBS_Sign from its fields; the embedded seal is written as received (its `der`). */
export function encodeTbsSign(t: TBS_SignFields, version: SesVersion): Buffer {
  if (version === 4) {
    if (!t.timeInfo) throw new RangeError('timeInfo is required');
    return seq(
      int(t.version),
      t.eseal.der,
      time(t.timeInfo),
      bits(t.dataHash),
      ia5(t.propertyInfo),
      ...(t.extDatas ? [explicit(0, encodeExtensionDatas(t.extDatas))] : []),
    );
  }
  if (!t.timeInfoBits || !t.cert || !t.signatureAlgorithm) throw new RangeError('a version-2 TBS_Sign needs timeInfo bits, cert and algorithm');
  return seq(int(t.version), t.eseal.der, bits(t.timeInfoBits), bits(t.dataHash), ia5(t.propertyInfo), octets(t.cert), encodeOid(t.signatureAlgorithm));
}

/**
 * DER of an SES_Signature from its fields. The TBS_Sign and the embedded seal are re-encoded
 * from their fields too (so a round-trip test exercises every encoder).
 */
export function encodeSESSignature(s: SES_Signature): Buffer {
  const seal = s.toSign.eseal;
  const sealDer = encodeSESeal(seal);
  const tbs = encodeTbsSign({ ...s.toSign, eseal: { ...seal, der: sealDer } }, s.version);
  if (s.version === 2) return seq(tbs, bits(s.signature));
  return seq(tbs, octets(s.cert), encodeOid(s.signatureAlgID), bits(s.signature), ...(s.timeStamp ? [explicit(0, bits(s.timeStamp))] : []));
}
