/**
 * RFC 3161 time-stamp protocol, TSA side: strict request parsing, the acceptance checks, and
 * granted / rejection responses. Reading and verifying tokens is in tsp-token.ts.
 *
 *   TimeStampReq ::= SEQUENCE  {
 *      version                      INTEGER  { v1(1) },
 *      messageImprint               MessageImprint,
 *      reqPolicy             TSAPolicyId              OPTIONAL,
 *      nonce                 INTEGER                  OPTIONAL,
 *      certReq               BOOLEAN                  DEFAULT FALSE,
 *      extensions            [0] IMPLICIT Extensions  OPTIONAL  }
 *
 *   MessageImprint ::= SEQUENCE  {
 *      hashAlgorithm                AlgorithmIdentifier,
 *      hashedMessage                OCTET STRING  }
 *
 *   TimeStampResp ::= SEQUENCE  {
 *      status                  PKIStatusInfo,
 *      timeStampToken          TimeStampToken     OPTIONAL  }
 *
 *   PKIStatusInfo ::= SEQUENCE {
 *      status        PKIStatus,
 *      statusString  PKIFreeText     OPTIONAL,
 *      failInfo      PKIFailureInfo  OPTIONAL  }
 *
 *   TSTInfo ::= SEQUENCE  {
 *      version                      INTEGER  { v1(1) },
 *      policy                       TSAPolicyId,
 *      messageImprint               MessageImprint,
 *      serialNumber                 INTEGER,
 *      genTime                      GeneralizedTime,
 *      accuracy                     Accuracy                 OPTIONAL,
 *      ordering                     BOOLEAN             DEFAULT FALSE,
 *      nonce                        INTEGER                  OPTIONAL,
 *      tsa                          [0] GeneralName          OPTIONAL,
 *      extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
 *
 *   Accuracy ::= SEQUENCE {
 *      seconds        INTEGER              OPTIONAL,
 *      millis     [0] INTEGER  (1..999)    OPTIONAL,
 *      micros     [1] INTEGER  (1..999)    OPTIONAL  }
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, GeneralName, GeneralNames, Time } from '@peculiar/asn1-x509';
import {
  Attribute,
  CMSVersion,
  CertificateChoices,
  CertificateSet,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
} from '@peculiar/asn1-cms';
import {
  Accuracy,
  MessageImprint,
  PKIFailureInfo,
  PKIFreeText,
  PKIStatus,
  PKIStatusInfo,
  TSTInfo,
  TimeStampReq,
  TimeStampResp,
} from '@peculiar/asn1-tsp';
import type { Signer } from '../crypto/key-provider';
import { AppError, ParseError, ValidationError } from '../errors';
import {
  DerError,
  bigIntToIntegerBytes,
  compareDerForSetOf,
  decodeDer,
  encodeOid,
  encodeTlv,
  readBoolean,
  readIntegerBytes,
  readOid,
  readSequence,
  readSmallInt,
  toArrayBuffer,
  toBuffer,
  unsignedToPositiveIntegerBytes,
} from './der';
import { parseCertificate, readExtensions, type CertificateExtension, type ParsedCertificate } from './certificate';
import { HASHES, digest, type HashName } from './hashes';
import { nameFromDer } from './name';
import { PKI_OID } from './oids';
import { digestAlgorithmIdentifier, hasNoParameters, signatureAlgorithmIdentifier } from './signature';
import { ESSCertIDv2, IssuerSerial, SigningCertificateV2 } from './asn1/signing-certificate-v2';
import { parseTimeStampResp, verifyTimeStampToken } from './tsp-token';
import { PKI_FAILURE_INFO_BITS, readMessageImprint, type MessageImprintValue, type PKIFailureInfoName } from './tsp-common';

export { PKI_FAILURE_INFO_BITS, type MessageImprintValue, type PKIFailureInfoName };

// ---------------------------------------------------------------------------------------------
// PKIFailureInfo

/** DER named-bit BIT STRING with one bit set (trailing zero bits removed, X.690 §11.2.2). */
function failureInfo(name: PKIFailureInfoName): PKIFailureInfo {
  const bit = PKI_FAILURE_INFO_BITS[name];
  if (bit === undefined) throw new Error(`unknown PKIFailureInfo ${String(name)}`);
  const bytes = new Uint8Array((bit >> 3) + 1);
  bytes[bit >> 3] = 0x80 >> (bit & 7);
  return new PKIFailureInfo(bytes, 7 - (bit & 7));
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface ParsedTimeStampReq {
  der: Buffer;
  messageImprint: MessageImprintValue;
  reqPolicy?: string;
  /** The nonce INTEGER's contents octets as received (echoed exactly). */
  nonce?: Buffer;
  certReq: boolean;
  extensions: CertificateExtension[];
}

/**
 * Parses a DER TimeStampReq strictly: v1 only, DER only (certReq FALSE must be omitted), no
 * trailing bytes, nonce at most 64 octets. Semantic checks (hash algorithm, policy,
 * extensions) are `checkTimeStampReq`'s, so they can be answered with the right failInfo.
 * Throws ParseError TSP_MALFORMED_REQUEST (answer: rejection with badDataFormat).
 */
export function parseTimeStampReq(der: Uint8Array, limits: { maxBytes?: number } = {}): ParsedTimeStampReq {
  try {
    const root = decodeDer(toBuffer(der), { maxBytes: limits.maxBytes ?? 8192, maxDepth: 12 });
    const r = readSequence(root, 'TimeStampReq');
    if (readSmallInt(r.next('version'), 'version') !== 1) throw new DerError('unsupported version');
    const messageImprint = readMessageImprint(r.next('messageImprint'));
    const p = r.optionalUniversal(6);
    const reqPolicy = p ? readOid(p, 'reqPolicy') : undefined;
    const n = r.optionalUniversal(2);
    const nonce = n ? readIntegerBytes(n, 'nonce') : undefined;
    if (nonce && nonce.length > 64) throw new DerError('nonce longer than 64 octets');
    const c = r.optionalUniversal(1);
    const certReq = c ? readBoolean(c, 'certReq') : false;
    if (c && !certReq) throw new DerError('certReq FALSE must be omitted in DER');
    const e = r.optionalContext(0);
    r.end();
    const extensions = e ? readExtensions(e, 'extensions', 0) : [];
    return { der: root.der, messageImprint, reqPolicy, nonce, certReq, extensions };
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`time-stamp request is malformed: ${e.message}`, 'TSP_MALFORMED_REQUEST', { cause: e });
    throw e;
  }
}

/** Builds a TimeStampReq (for clients and tests). */
export function buildTimeStampReq(input: {
  hashAlg: HashName;
  digest: Buffer;
  nonce?: bigint | Buffer;
  certReq?: boolean;
  policy?: string;
}): Buffer {
  const spec = HASHES[input.hashAlg];
  if (!spec || !Buffer.isBuffer(input.digest) || input.digest.length !== spec.length) {
    throw new ValidationError('The digest does not match the hash algorithm', [{ pointer: '/digest', detail: `must be ${spec?.length ?? '?'} bytes` }], 'PKI_INVALID_INPUT');
  }
  const req = new TimeStampReq({
    messageImprint: new MessageImprint({
      hashAlgorithm: new AlgorithmIdentifier({ algorithm: spec.oid }),
      hashedMessage: new OctetString(input.digest),
    }),
    reqPolicy: input.policy,
    nonce: input.nonce === undefined ? undefined : toArrayBuffer(nonceBytes(input.nonce)),
    certReq: input.certReq ?? false,
  });
  return Buffer.from(AsnConvert.serialize(req));
}

function nonceBytes(nonce: bigint | Buffer): Buffer {
  if (typeof nonce === 'bigint') {
    if (nonce <= 0n) throw new ValidationError('The nonce must be positive', [{ pointer: '/nonce', detail: 'must be positive' }], 'PKI_INVALID_INPUT');
    return bigIntToIntegerBytes(nonce);
  }
  // Random bytes from the caller → a positive INTEGER.
  return unsignedToPositiveIntegerBytes(nonce);
}

export interface TsaPolicy {
  /** Policy OID used when the request names none (RFC 3161 §2.4.2: policy is always present). */
  defaultPolicy: string;
  /** Other policies a request may ask for; the default is always accepted. */
  acceptedPolicies?: readonly string[];
  /** Imprint hash algorithms accepted (default SHA-256, SHA-384, SHA-512; never SHA-1). */
  acceptedHashes?: readonly HashName[];
}

export type TimeStampReqCheck = { ok: true; policy: string } | { ok: false; failInfo: PKIFailureInfoName; text: string };

const DEFAULT_HASHES: readonly HashName[] = ['sha256', 'sha384', 'sha512'];

/** The acceptance checks of RFC 3161 §2.4.1–2.4.2, in order; the first failure decides. */
export function checkTimeStampReq(req: ParsedTimeStampReq, policy: TsaPolicy): TimeStampReqCheck {
  const mi = req.messageImprint;
  const accepted = policy.acceptedHashes ?? DEFAULT_HASHES;
  if (!mi.hashName || !accepted.includes(mi.hashName) || !hasNoParameters(mi.hashAlgorithm)) {
    return { ok: false, failInfo: 'badAlg', text: 'unsupported hash algorithm' };
  }
  if (mi.hashedMessage.length !== HASHES[mi.hashName].length) {
    return { ok: false, failInfo: 'badDataFormat', text: 'hashed message length does not match the hash algorithm' };
  }
  if (req.reqPolicy !== undefined && req.reqPolicy !== policy.defaultPolicy && !(policy.acceptedPolicies ?? []).includes(req.reqPolicy)) {
    return { ok: false, failInfo: 'unacceptedPolicy', text: 'requested policy not accepted' };
  }
  // We support no request extensions (§2.4.1: the TSA rejects what it does not recognise).
  if (req.extensions.length > 0) return { ok: false, failInfo: 'unacceptedExtension', text: 'request extensions are not supported' };
  return { ok: true, policy: req.reqPolicy ?? policy.defaultPolicy };
}

// ---------------------------------------------------------------------------------------------
// Responses

/** A TimeStampResp with status rejection (RFC 3161 §2.4.2). Returns DER. */
export function buildTimeStampRejection(failInfo: PKIFailureInfoName, text?: string): Buffer {
  const status = new PKIStatusInfo({
    status: PKIStatus.rejection,
    statusString: text ? new PKIFreeText([text]) : undefined,
    failInfo: failureInfo(failInfo),
  });
  return Buffer.from(AsnConvert.serialize(new TimeStampResp({ status })));
}

export interface TsaAccuracy {
  seconds?: number;
  /** 1..999 */
  millis?: number;
  /** 1..999 */
  micros?: number;
}

export interface BuildTimeStampRespInput {
  request: ParsedTimeStampReq;
  tsaCertificate: Buffer;
  /** Certificates above the TSA certificate, included with it when the request asks (certReq). */
  chain?: readonly Buffer[];
  signer: Signer;
  /** Unique per token (RFC 3161 §2.4.2), positive, at most 160 bits. */
  serial: bigint | Buffer;
  genTime: Date;
  policy: TsaPolicy;
  accuracy?: TsaAccuracy;
  /** Adds a CMS signing-time attribute (allowed, not required; the genTime is what counts). */
  includeSigningTime?: boolean;
}

export interface TimeStampRespResult {
  /** The DER TimeStampResp to send (granted or rejection). */
  der: Buffer;
  granted: boolean;
  failInfo?: PKIFailureInfoName;
  /** The token (ContentInfo DER) when granted. */
  token?: Buffer;
  /** The policy OID put in TSTInfo when granted. */
  policy?: string;
}

function invalid(pointer: string, detail: string): ValidationError {
  return new ValidationError(`Invalid time-stamp input: ${detail}`, [{ pointer, detail }], 'PKI_INVALID_INPUT');
}

function serialContent(serial: bigint | Buffer): Buffer {
  let content: Buffer;
  if (typeof serial === 'bigint') {
    if (serial <= 0n) throw invalid('/serial', 'must be positive');
    content = bigIntToIntegerBytes(serial);
  } else if (Buffer.isBuffer(serial) && serial.length > 0) {
    try {
      content = unsignedToPositiveIntegerBytes(serial);
    } catch {
      throw invalid('/serial', 'must not be zero');
    }
  } else {
    throw invalid('/serial', 'must be a bigint or bytes');
  }
  // RFC 3161 §2.4.2: TSA users must be ready for serial numbers up to 160 bits.
  if (content.length > 21 || (content.length === 21 && content[0] !== 0)) throw invalid('/serial', 'longer than 160 bits');
  return content;
}

function accuracyObject(a: TsaAccuracy | undefined): Accuracy | undefined {
  if (!a) return undefined;
  const ok = (v: number | undefined, lo: number, hi: number) => v === undefined || (Number.isInteger(v) && v >= lo && v <= hi);
  if (!ok(a.seconds, 0, 2 ** 31 - 1) || !ok(a.millis, 1, 999) || !ok(a.micros, 1, 999)) {
    throw invalid('/accuracy', 'seconds >= 0, millis and micros 1..999');
  }
  if (!a.seconds && !a.millis && !a.micros) return undefined;
  return new Accuracy({ seconds: a.seconds || undefined, millis: a.millis, micros: a.micros } as Partial<Accuracy>);
}

function certificateObject(der: Buffer): Certificate {
  const c = AsnConvert.parse(der, Certificate);
  if (!Buffer.from(AsnConvert.serialize(c)).equals(der)) throw new Error('certificate changed when re-encoded; refusing to embed it');
  return c;
}

function attribute(oid: string, valueDer: ArrayBuffer | Buffer): Attribute {
  const v = Buffer.isBuffer(valueDer) ? toArrayBuffer(valueDer) : valueDer;
  return new Attribute({ attrType: oid, attrValues: [v] });
}

/** The TSA certificate as RFC 3161 §2.3 wants it: EKU present, critical, only id-kp-timeStamping. */
export function isTsaCertificate(cert: ParsedCertificate): boolean {
  const eku = cert.extKeyUsage;
  return !!eku && eku.critical && eku.purposes.length === 1 && eku.purposes[0] === PKI_OID.kpTimeStamping;
}

/**
 * Answers a parsed request: a rejection when `checkTimeStampReq` fails, otherwise a granted
 * TimeStampResp whose token is a CMS SignedData (RFC 5652) over the DER TSTInfo, signed by the
 * Signer with signed attributes contentType, messageDigest, signing-certificate-v2 and
 * optionally signingTime. The TSA certificate (and `chain`) is included when certReq is true.
 */
export async function buildTimeStampResp(input: BuildTimeStampRespInput): Promise<TimeStampRespResult> {
  const req = input.request;
  const check = checkTimeStampReq(req, input.policy);
  if (!check.ok) return { der: buildTimeStampRejection(check.failInfo, check.text), granted: false, failInfo: check.failInfo };

  const tsa = parseCertificate(input.tsaCertificate);
  if (!Buffer.isBuffer(input.signer?.publicKey) || !input.signer.publicKey.equals(tsa.spki)) {
    throw new AppError('PKI_SIGNER_MISMATCH', "The signer's public key does not match the TSA certificate");
  }
  if (!isTsaCertificate(tsa)) {
    throw new ValidationError('The TSA certificate must have exactly one critical EKU, id-kp-timeStamping', [], 'PKI_PROFILE_VIOLATION');
  }
  if (!(input.genTime instanceof Date) || Number.isNaN(input.genTime.getTime())) throw invalid('/genTime', 'not a valid date');
  const genTime = input.genTime;
  if (genTime < tsa.notBefore || genTime > tsa.notAfter) {
    throw new ValidationError('genTime is outside the TSA certificate validity', [], 'PKI_PROFILE_VIOLATION');
  }
  const serial = serialContent(input.serial);

  const messageImprint = AsnConvert.parse(req.messageImprint.der, MessageImprint);
  if (!Buffer.from(AsnConvert.serialize(messageImprint)).equals(req.messageImprint.der)) throw new Error('MessageImprint changed when re-encoded');

  const tstInfo = new TSTInfo({
    policy: check.policy,
    messageImprint,
    serialNumber: toArrayBuffer(serial),
    genTime,
    accuracy: accuracyObject(input.accuracy),
    ordering: false,
    nonce: req.nonce ? toArrayBuffer(req.nonce) : undefined,
  });
  const tstInfoDer = Buffer.from(AsnConvert.serialize(tstInfo));

  // Signed attributes (RFC 5652 §5.3, §11; RFC 5035 §3). ESSCertIDv2 omits hashAlgorithm
  // because SHA-256 is its DEFAULT, and names the certificate by issuer and serial as well.
  const essCertId = new ESSCertIDv2({
    certHash: new OctetString(digest('sha256', tsa.der)),
    issuerSerial: new IssuerSerial({
      issuer: new GeneralNames([new GeneralName({ directoryName: nameFromDer(tsa.issuer.der) })]),
      serialNumber: toArrayBuffer(tsa.serial),
    }),
  });
  const attrs = [
    attribute(PKI_OID.contentType, encodeOid(PKI_OID.ctTSTInfo)),
    attribute(PKI_OID.messageDigest, encodeTlv(0x04, digest('sha256', tstInfoDer))),
    attribute(PKI_OID.signingCertificateV2, AsnConvert.serialize(new SigningCertificateV2({ certs: [essCertId] }))),
  ];
  if (input.includeSigningTime) {
    attrs.push(attribute(PKI_OID.signingTime, AsnConvert.serialize(new Time(new Date(Math.floor(genTime.getTime() / 1000) * 1000)))));
  }
  // DER SET OF: sort by encoding (X.690 §11.6); the signature covers this exact SET.
  const encoded = attrs.map((a) => ({ a, der: Buffer.from(AsnConvert.serialize(a)) }));
  encoded.sort((x, y) => compareDerForSetOf(x.der, y.der));
  const signedAttrsDer = encodeTlv(0x31, Buffer.concat(encoded.map((e) => e.der)));
  const signature = await input.signer.sign(signedAttrsDer);

  const signerInfo = new SignerInfo({
    // v1 with issuerAndSerialNumber: readers built on PKCS #7 (OpenSSL `ts`) find the signer this way.
    version: CMSVersion.v1,
    sid: new SignerIdentifier({
      issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: nameFromDer(tsa.issuer.der), serialNumber: toArrayBuffer(tsa.serial) }),
    }),
    digestAlgorithm: digestAlgorithmIdentifier(),
    signedAttrs: encoded.map((e) => e.a),
    signatureAlgorithm: signatureAlgorithmIdentifier(input.signer.algorithm),
    signature: new OctetString(signature),
  });
  const certs = req.certReq ? [input.tsaCertificate, ...(input.chain ?? [])] : [];
  const signedData = new SignedData({
    // v3: eContentType is not id-data (RFC 5652 §5.1).
    version: CMSVersion.v3,
    digestAlgorithms: new DigestAlgorithmIdentifiers([digestAlgorithmIdentifier()]),
    encapContentInfo: new EncapsulatedContentInfo({
      eContentType: PKI_OID.ctTSTInfo,
      eContent: new EncapsulatedContent({ single: new OctetString(tstInfoDer) }),
    }),
    certificates: certs.length > 0 ? new CertificateSet(certs.map((c) => new CertificateChoices({ certificate: certificateObject(c) }))) : undefined,
    signerInfos: new SignerInfos([signerInfo]),
  });
  const token = Buffer.from(AsnConvert.serialize(new ContentInfo({ contentType: PKI_OID.signedData, content: AsnConvert.serialize(signedData) })));
  const der = Buffer.from(
    AsnConvert.serialize(new TimeStampResp({ status: new PKIStatusInfo({ status: PKIStatus.granted }), timeStampToken: AsnConvert.parse(token, ContentInfo) })),
  );

  // Self-check with the verifier: the token we send reads back strictly, its signature and
  // signing-certificate-v2 verify with the TSA certificate, and imprint and nonce are echoed.
  const parsed = parseTimeStampResp(der);
  if (!parsed.token || !parsed.token.equals(token)) throw new Error('time-stamp token changed when re-encoded');
  verifyTimeStampToken({
    token,
    imprint: { hashAlgorithm: req.messageImprint.hashName!, digest: req.messageImprint.hashedMessage },
    nonce: req.nonce,
    certificates: [input.tsaCertificate],
  });
  return { der, granted: true, token, policy: check.policy };
}
