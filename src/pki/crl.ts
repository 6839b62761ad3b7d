/**
 * X.509 v2 CRLs (RFC 5280 §5).
 *
 *   CertificateList ::= SEQUENCE {
 *        tbsCertList          TBSCertList,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING }
 *
 *   TBSCertList ::= SEQUENCE {
 *        version                 Version OPTIONAL, -- if present, MUST be v2
 *        signature               AlgorithmIdentifier,
 *        issuer                  Name,
 *        thisUpdate              Time,
 *        nextUpdate              Time OPTIONAL,
 *        revokedCertificates     SEQUENCE OF SEQUENCE {
 *             userCertificate         CertificateSerialNumber,
 *             revocationDate          Time,
 *             crlEntryExtensions      Extensions OPTIONAL } OPTIONAL,
 *        crlExtensions           [0] EXPLICIT Extensions OPTIONAL }
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CRLReason,
  CRLReasons,
  CertificateList,
  Extension,
  KeyIdentifier,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
} from '@peculiar/asn1-x509';
import type { Signer } from '../crypto/key-provider';
import type { RevocationReason } from '../store/ports';
import { AppError, ParseError, ValidationError } from '../errors';
import {
  DerError,
  decodeDer,
  encodeInteger,
  readBigInt,
  readBitString,
  readEnumerated,
  readExplicit,
  readIntegerBytes,
  readSequence,
  readSmallInt,
  readTime,
  toArrayBuffer,
  toBuffer,
  unsignedToPositiveIntegerBytes,
} from './der';
import { floorToSecond, issuerKeyIdentifier, parseCertificate, readExtensions, type CertificateExtension } from './certificate';
import { nameFromDer, readName, type ParsedName } from './name';
import { PKI_OID } from './oids';
import { readAlgorithmIdentifier, readPublicKeyInfo, signatureAlgorithmIdentifier, signatureSchemeOf, verifySignature, type AlgorithmIdentifierValue } from './signature';

/** RFC 5280 §5.3.1 CRLReason values (7 is unused). */
export const REASON_CODES: Readonly<Record<RevocationReason, number>> = Object.freeze({
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
});

const REASON_NAMES = new Map(Object.entries(REASON_CODES).map(([k, v]) => [v, k as RevocationReason]));

export function reasonFromCode(code: number): RevocationReason | undefined {
  return REASON_NAMES.get(code);
}

function invalid(pointer: string, detail: string): ValidationError {
  return new ValidationError(`Invalid CRL request: ${detail}`, [{ pointer, detail }], 'PKI_INVALID_INPUT');
}

/**
 * A serial number as hex → the contents octets of the positive INTEGER. Accepts the DER
 * contents (with a leading 00) or the bare magnitude (as `openssl x509 -serial` prints it).
 */
export function serialHexToInteger(hex: string, pointer = '/serial'): Buffer {
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2}){1,21}$/.test(hex)) throw invalid(pointer, 'must be 1 to 21 hex octets');
  try {
    return unsignedToPositiveIntegerBytes(Buffer.from(hex, 'hex'));
  } catch {
    throw invalid(pointer, 'must not be zero');
  }
}

export interface RevokedEntry {
  /** Serial number, hex (as ParsedCertificate.serialHex gives it). */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface BuildCrlInput {
  /** The CA certificate whose key signs the CRL (it must carry cRLSign). */
  issuerCertificate: Buffer;
  signer: Signer;
  /** Monotonically increasing (RFC 5280 §5.2.3); at most 20 octets. */
  crlNumber: bigint | number;
  thisUpdate: Date;
  /** Required by RFC 5280 §5.1.2.5 for conforming CAs. */
  nextUpdate: Date;
  revoked: readonly RevokedEntry[];
}

/** Builds and signs a complete (not delta) v2 CRL. Returns DER. */
export async function buildCrl(input: BuildCrlInput): Promise<Buffer> {
  const issuer = parseCertificate(input.issuerCertificate);
  if (!issuer.basicConstraints?.ca || (issuer.keyUsage && !issuer.keyUsage.usages.includes('cRLSign'))) {
    throw new ValidationError('The issuer certificate may not sign CRLs', [], 'PKI_PROFILE_VIOLATION');
  }
  if (!Buffer.isBuffer(input.signer?.publicKey) || !input.signer.publicKey.equals(issuer.spki)) {
    throw new AppError('PKI_SIGNER_MISMATCH', "The signer's public key does not match the issuer certificate");
  }
  const thisUpdate = floorToSecond(input.thisUpdate, '/thisUpdate');
  const nextUpdate = floorToSecond(input.nextUpdate, '/nextUpdate');
  if (nextUpdate <= thisUpdate) throw invalid('/nextUpdate', 'must be after thisUpdate');

  let crlNumber: bigint;
  try {
    crlNumber = BigInt(input.crlNumber);
  } catch {
    throw invalid('/crlNumber', 'must be an integer');
  }
  // RFC 5280 §5.2.3: a non-negative integer of at most 20 octets.
  if (crlNumber < 0n || crlNumber >= 1n << 159n) throw invalid('/crlNumber', 'must be between 0 and 2^159 - 1');

  const seen = new Set<string>();
  const entries = input.revoked.map((r, i) => {
    const pointer = `/revoked/${i}`;
    const serial = serialHexToInteger(r.serial, `${pointer}/serial`);
    const key = serial.toString('hex');
    if (seen.has(key)) throw invalid(`${pointer}/serial`, 'listed twice');
    seen.add(key);
    const revokedAt = floorToSecond(r.revokedAt, `${pointer}/revokedAt`);
    if (revokedAt > thisUpdate) throw invalid(`${pointer}/revokedAt`, 'after thisUpdate');
    const code = REASON_CODES[r.reason];
    if (code === undefined) throw invalid(`${pointer}/reason`, 'unknown reason');
    // removeFromCRL only appears in delta CRLs (RFC 5280 §5.3.1).
    if (r.reason === 'removeFromCRL') throw invalid(`${pointer}/reason`, 'removeFromCRL belongs in delta CRLs');
    // §5.3.1: the reason code SHOULD be absent rather than 'unspecified'.
    const extensions =
      r.reason === 'unspecified'
        ? undefined
        : [new Extension({ extnID: PKI_OID.reasonCode, extnValue: new OctetString(AsnConvert.serialize(new CRLReason(code as CRLReasons))) })];
    return new RevokedCertificate({ userCertificate: toArrayBuffer(serial), revocationDate: new Time(revokedAt), crlEntryExtensions: extensions });
  });

  const sigAlg = signatureAlgorithmIdentifier(input.signer.algorithm);
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: sigAlg,
    issuer: nameFromDer(issuer.subject.der),
    thisUpdate: new Time(thisUpdate),
    nextUpdate: new Time(nextUpdate),
    // §5.1.2.6: when there are no revoked certificates the list MUST be absent.
    revokedCertificates: entries.length > 0 ? entries : undefined,
    crlExtensions: [
      new Extension({
        extnID: PKI_OID.authorityKeyIdentifier,
        extnValue: new OctetString(AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKeyIdentifier(issuer)) }))),
      }),
      new Extension({ extnID: PKI_OID.cRLNumber, extnValue: new OctetString(encodeInteger(crlNumber)) }),
    ],
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await input.signer.sign(tbsDer);
  const der = Buffer.from(AsnConvert.serialize(new CertificateList({ tbsCertList: tbs, signatureAlgorithm: sigAlg, signature: toArrayBuffer(signature) })));

  const parsed = parseCrl(der);
  if (!parsed.tbsDer.equals(tbsDer)) throw new Error('TBSCertList changed when re-encoded');
  if (!verifyCrlSignature(parsed, issuer.spki)) {
    throw new AppError('PKI_SIGNER_MISMATCH', "The signer's signature does not verify with the issuer certificate");
  }
  return der;
}

export interface ParsedCrlEntry {
  serialHex: string;
  revokedAt: Date;
  reason?: RevocationReason;
  extensions: CertificateExtension[];
}

export interface ParsedCrl {
  der: Buffer;
  tbsDer: Buffer;
  signatureAlgorithm: AlgorithmIdentifierValue;
  signatureValue: Buffer;
  issuer: ParsedName;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  authorityKeyIdentifier?: Buffer;
  revoked: ParsedCrlEntry[];
  extensions: CertificateExtension[];
}

/** Reads a DER CRL strictly. Throws ParseError CRL_MALFORMED. */
export function parseCrl(der: Uint8Array): ParsedCrl {
  try {
    return readCrl(toBuffer(der));
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`CRL is malformed: ${e.message}`, 'CRL_MALFORMED', { cause: e });
    throw e;
  }
}

function readCrl(der: Buffer): ParsedCrl {
  const root = decodeDer(der, { maxBytes: 32 << 20, maxDepth: 16 });
  const list = readSequence(root, 'CertificateList');
  const tbsNode = list.next('tbsCertList');
  const signatureAlgorithm = readAlgorithmIdentifier(list.next('signatureAlgorithm'), 'signatureAlgorithm');
  const sig = readBitString(list.next('signatureValue'), 'signatureValue');
  list.end();
  if (sig.unusedBits !== 0) throw new DerError('signatureValue has unused bits');

  const tbs = readSequence(tbsNode, 'TBSCertList');
  const v = tbs.optionalUniversal(2);
  if (v && readSmallInt(v, 'version') !== 1) throw new DerError('CRL version must be v2');
  const inner = readAlgorithmIdentifier(tbs.next('signature'), 'signature');
  if (!inner.der.equals(signatureAlgorithm.der)) throw new DerError('signature algorithm fields differ');
  const issuer = readName(tbs.next('issuer'), 'issuer');
  const thisUpdate = readTime(tbs.next('thisUpdate'), 'thisUpdate');
  let nextUpdate: Date | undefined;
  const nu = tbs.peek();
  if (nu && nu.tagClass === 'universal' && (nu.tagNumber === 23 || nu.tagNumber === 24)) nextUpdate = readTime(tbs.next('nextUpdate'), 'nextUpdate');
  const revoked: ParsedCrlEntry[] = [];
  const rl = tbs.optionalUniversal(16);
  if (rl) {
    const r = readSequence(rl, 'revokedCertificates');
    if (!r.peek()) throw new DerError('empty revokedCertificates must be absent');
    while (r.peek()) {
      const e = readSequence(r.next('entry'), 'revoked entry');
      const serialHex = readIntegerBytes(e.next('userCertificate'), 'userCertificate').toString('hex');
      const revokedAt = readTime(e.next('revocationDate'), 'revocationDate');
      const extNode = e.optionalUniversal(16);
      e.end();
      const extensions = extNode ? readExtensions(extNode, 'crlEntryExtensions') : [];
      const rc = extensions.find((x) => x.oid === PKI_OID.reasonCode);
      const reason = rc ? reasonFromCode(readEnumerated(decodeDer(rc.value), 'reasonCode')) : undefined;
      if (rc && reason === undefined) throw new DerError('unknown reason code');
      revoked.push({ serialHex, revokedAt, reason, extensions });
    }
  }
  const extNode = tbs.optionalContext(0);
  tbs.end();
  const extensions = extNode ? readExtensions(readExplicit(extNode, 0, 'crlExtensions'), 'crlExtensions') : [];
  if (!v && (extensions.length > 0 || revoked.some((r) => r.extensions.length > 0))) throw new DerError('extensions need version 2');
  const num = extensions.find((x) => x.oid === PKI_OID.cRLNumber);
  const aki = extensions.find((x) => x.oid === PKI_OID.authorityKeyIdentifier);
  let authorityKeyIdentifier: Buffer | undefined;
  if (aki) {
    const a = readSequence(decodeDer(aki.value), 'authorityKeyIdentifier');
    const kid = a.optionalContext(0);
    if (kid) authorityKeyIdentifier = kid.content;
  }
  return {
    der,
    tbsDer: tbsNode.der,
    signatureAlgorithm,
    signatureValue: sig.bytes,
    issuer,
    thisUpdate,
    nextUpdate,
    crlNumber: num ? readBigInt(decodeDer(num.value), 'cRLNumber') : undefined,
    authorityKeyIdentifier,
    revoked,
    extensions,
  };
}

/** Whether the CRL's signature verifies with the issuer's SPKI (no other check). */
export function verifyCrlSignature(crl: ParsedCrl, issuerSpki: Buffer): boolean {
  const scheme = signatureSchemeOf(crl.signatureAlgorithm);
  return scheme !== undefined && verifySignature(readPublicKeyInfo(issuerSpki), scheme, crl.tbsDer, crl.signatureValue);
}
