/**
 * OCSP (RFC 6960): strict request parsing, signed responses, error responses, and CertID
 * matching. Nonces follow RFC 8954.
 *
 *   OCSPRequest ::= SEQUENCE {
 *       tbsRequest                  TBSRequest,
 *       optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
 *
 *   TBSRequest ::= SEQUENCE {
 *       version             [0]     EXPLICIT Version DEFAULT v1,
 *       requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
 *       requestList                 SEQUENCE OF Request,
 *       requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
 *
 *   Signature ::= SEQUENCE {
 *       signatureAlgorithm      AlgorithmIdentifier,
 *       signature               BIT STRING,
 *       certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *
 *   Request ::= SEQUENCE {
 *       reqCert                     CertID,
 *       singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
 *
 *   CertID ::= SEQUENCE {
 *       hashAlgorithm           AlgorithmIdentifier,
 *       issuerNameHash          OCTET STRING, -- Hash of issuer's DN
 *       issuerKeyHash           OCTET STRING, -- Hash of issuer's public key
 *       serialNumber            CertificateSerialNumber }
 *
 *   OCSPResponse ::= SEQUENCE {
 *      responseStatus         OCSPResponseStatus,
 *      responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
 *
 *   BasicOCSPResponse ::= SEQUENCE {
 *      tbsResponseData      ResponseData,
 *      signatureAlgorithm   AlgorithmIdentifier,
 *      signature            BIT STRING,
 *      certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *
 *   ResponseData ::= SEQUENCE {
 *      version              [0] EXPLICIT Version DEFAULT v1,
 *      responderID              ResponderID,
 *      producedAt               GeneralizedTime,
 *      responses                SEQUENCE OF SingleResponse,
 *      responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
 *
 *   SingleResponse ::= SEQUENCE {
 *      certID                       CertID,
 *      certStatus                   CertStatus,
 *      thisUpdate                   GeneralizedTime,
 *      nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
 *      singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
 *
 *   CertStatus ::= CHOICE {
 *       good        [0]     IMPLICIT NULL,
 *       revoked     [1]     IMPLICIT RevokedInfo,
 *       unknown     [2]     IMPLICIT UnknownInfo }
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, CRLReasons, Extension } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import type { Signer } from '../crypto/key-provider';
import type { RevocationReason } from '../store/ports';
import { AppError, ParseError, ValidationError } from '../errors';
import {
  DerError,
  decodeDer,
  isContext,
  readBitString,
  readEnumerated,
  readExplicit,
  readGeneralizedTime,
  readIntegerBytes,
  readNull,
  readOctetString,
  readOid,
  readSequence,
  readSmallInt,
  toArrayBuffer,
  toBuffer,
  type DerNode,
} from './der';
import { floorToSecond, parseCertificate, readCertificate, readExtensions, type CertificateExtension, type ParsedCertificate } from './certificate';
import { REASON_CODES, reasonFromCode, serialHexToInteger } from './crl';
import { HASHES, digest, hashByOid, type HashName } from './hashes';
import { PKI_OID } from './oids';
import {
  hasNoParameters,
  readAlgorithmIdentifier,
  readPublicKeyInfo,
  signatureAlgorithmIdentifier,
  signatureSchemeOf,
  verifySignature,
  type AlgorithmIdentifierValue,
} from './signature';

// ---------------------------------------------------------------------------------------------
// CertID

export interface OcspCertId {
  /** The CertID exactly as received; responses echo these bytes (RFC 6960 §4.2.1). */
  der: Buffer;
  /** Null when the hash algorithm is not one we know: answer `unknown` for it. */
  hashAlgorithm: HashName | null;
  hashAlgorithmOid: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** serialNumber contents octets, lower-case hex, as encoded. */
  serialHex: string;
}

function readCertId(n: DerNode): OcspCertId {
  const r = readSequence(n, 'CertID');
  const alg = readAlgorithmIdentifier(r.next('hashAlgorithm'), 'CertID.hashAlgorithm');
  const issuerNameHash = readOctetString(r.next('issuerNameHash'), 'issuerNameHash');
  const issuerKeyHash = readOctetString(r.next('issuerKeyHash'), 'issuerKeyHash');
  const serial = readIntegerBytes(r.next('serialNumber'), 'serialNumber');
  r.end();
  if (serial.length > 32) throw new DerError('serialNumber too long');
  const spec = hashByOid(alg.oid);
  if (spec) {
    if (!hasNoParameters(alg)) throw new DerError('hash algorithm parameters must be absent or NULL');
    if (issuerNameHash.length !== spec.length || issuerKeyHash.length !== spec.length) {
      throw new DerError('issuer hash length does not match the hash algorithm');
    }
  } else if (issuerNameHash.length > 64 || issuerKeyHash.length > 64) {
    throw new DerError('issuer hash too long');
  }
  return {
    der: n.der,
    hashAlgorithm: spec?.name ?? null,
    hashAlgorithmOid: alg.oid,
    issuerNameHash,
    issuerKeyHash,
    serialHex: serial.toString('hex'),
  };
}

/**
 * Whether `certId` names a certificate issued by `issuer`: issuerNameHash over the issuer's
 * subject DER and issuerKeyHash over its subjectPublicKey bits (RFC 6960 §4.1.1), with the hash
 * the request chose (SHA-1 or SHA-2).
 */
export function matchCertId(certId: OcspCertId, issuer: Buffer | ParsedCertificate): boolean {
  if (!certId.hashAlgorithm) return false;
  const ca = Buffer.isBuffer(issuer) ? parseCertificate(issuer) : issuer;
  return (
    digest(certId.hashAlgorithm, ca.subject.der).equals(certId.issuerNameHash) &&
    digest(certId.hashAlgorithm, ca.publicKeyBits).equals(certId.issuerKeyHash)
  );
}

/** A CertID for `certificate` issued by `issuer` (for clients and tests). */
export function buildCertId(certificate: Buffer, issuer: Buffer, hash: HashName = 'sha256'): Buffer {
  const cert = parseCertificate(certificate);
  const ca = parseCertificate(issuer);
  const id = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: HASHES[hash].oid, parameters: null }),
    issuerNameHash: new OctetString(digest(hash, ca.subject.der)),
    issuerKeyHash: new OctetString(digest(hash, ca.publicKeyBits)),
    serialNumber: toArrayBuffer(cert.serial),
  });
  return Buffer.from(AsnConvert.serialize(id));
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface OcspRequestLimits {
  /** Largest request accepted (default 16 KiB; RFC 5019 requests are well under 1 KiB). */
  maxBytes?: number;
  /** Most CertIDs in one request (default 20). */
  maxRequests?: number;
}

export interface ParsedOcspRequest {
  der: Buffer;
  tbsRequestDer: Buffer;
  certIds: OcspCertId[];
  /** The nonce octets (RFC 8954: 1..32), if the request carried one. */
  nonce?: Buffer;
  /** requestorName GeneralName DER, if present. */
  requestorName?: Buffer;
  /** A signed request: kept for the caller's policy; we neither require nor check signatures. */
  signature?: { algorithm: AlgorithmIdentifierValue; value: Buffer; certificates: Buffer[] };
  extensions: CertificateExtension[];
}

const KNOWN_REQUEST_EXTENSIONS = new Set<string>([PKI_OID.ocspNonce, PKI_OID.ocspAcceptableResponses, PKI_OID.ocspPrefSigAlgs]);
const KNOWN_SINGLE_EXTENSIONS = new Set<string>([PKI_OID.ocspServiceLocator]);

/**
 * Parses a DER OCSPRequest exactly as RFC 6960 §4.1.1 allows: DER only, no trailing bytes, v1,
 * at least one and at most `maxRequests` CertIDs, no unknown critical extension, a nonce of
 * 1..32 octets (RFC 8954 §2.1). Anything else throws ParseError OCSP_MALFORMED_REQUEST, which
 * the caller answers with `buildOcspError('malformedRequest')`.
 */
export function parseOcspRequest(der: Uint8Array, limits: OcspRequestLimits = {}): ParsedOcspRequest {
  const input = toBuffer(der);
  const maxBytes = limits.maxBytes ?? 16 * 1024;
  const maxRequests = limits.maxRequests ?? 20;
  try {
    return readOcspRequest(decodeDer(input, { maxBytes, maxDepth: 16 }), maxRequests);
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`OCSP request is malformed: ${e.message}`, 'OCSP_MALFORMED_REQUEST', { cause: e });
    throw e;
  }
}

function checkCritical(exts: CertificateExtension[], known: Set<string>): void {
  for (const e of exts) if (e.critical && !known.has(e.oid)) throw new DerError(`unsupported critical extension ${e.oid}`);
}

function readOcspRequest(root: DerNode, maxRequests: number): ParsedOcspRequest {
  const req = readSequence(root, 'OCSPRequest');
  const tbsNode = req.next('tbsRequest');
  const sigNode = req.optionalContext(0);
  req.end();

  const tbs = readSequence(tbsNode, 'TBSRequest');
  const v = tbs.optionalContext(0);
  // DER omits the DEFAULT v1; any other version is one we do not speak.
  if (v) throw new DerError(readSmallInt(readExplicit(v, 0, 'version'), 'version') === 0 ? 'explicit default version is not DER' : 'unsupported version');
  const rn = tbs.optionalContext(1);
  const requestorName = rn ? readExplicit(rn, 1, 'requestorName').der : undefined;
  const list = readSequence(tbs.next('requestList'), 'requestList');
  const extNode = tbs.optionalContext(2);
  tbs.end();

  if (list.remaining === 0) throw new DerError('empty requestList');
  if (list.remaining > maxRequests) throw new DerError(`more than ${maxRequests} requests`);
  const certIds: OcspCertId[] = [];
  while (list.peek()) {
    const r = readSequence(list.next('Request'), 'Request');
    certIds.push(readCertId(r.next('reqCert')));
    const se = r.optionalContext(0);
    r.end();
    if (se) checkCritical(readExtensions(readExplicit(se, 0, 'singleRequestExtensions'), 'singleRequestExtensions'), KNOWN_SINGLE_EXTENSIONS);
  }

  const extensions = extNode ? readExtensions(readExplicit(extNode, 2, 'requestExtensions'), 'requestExtensions') : [];
  checkCritical(extensions, KNOWN_REQUEST_EXTENSIONS);
  let nonce: Buffer | undefined;
  for (const e of extensions) {
    if (e.oid === PKI_OID.ocspNonce) {
      // RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)), inside extnValue.
      nonce = readOctetString(decodeDer(e.value), 'nonce');
      if (nonce.length < 1 || nonce.length > 32) throw new DerError('nonce must be 1 to 32 octets');
    } else if (e.oid === PKI_OID.ocspAcceptableResponses) {
      const r = readSequence(decodeDer(e.value), 'AcceptableResponses');
      while (r.peek()) readOid(r.next('responseType'), 'responseType');
    } else if (e.oid === PKI_OID.ocspPrefSigAlgs) {
      readSequence(decodeDer(e.value), 'PreferredSignatureAlgorithms');
    }
  }

  let signature: ParsedOcspRequest['signature'];
  if (sigNode) {
    const s = readSequence(readExplicit(sigNode, 0, 'optionalSignature'), 'Signature');
    const algorithm = readAlgorithmIdentifier(s.next('signatureAlgorithm'), 'signatureAlgorithm');
    const bits = readBitString(s.next('signature'), 'signature');
    const certsNode = s.optionalContext(0);
    s.end();
    const certificates: Buffer[] = [];
    if (certsNode) {
      const c = readSequence(readExplicit(certsNode, 0, 'certs'), 'certs');
      while (c.peek()) certificates.push(readSequence(c.next('Certificate'), 'Certificate').node.der);
    }
    signature = { algorithm, value: bits.bytes, certificates };
  }

  return { der: root.der, tbsRequestDer: tbsNode.der, certIds, nonce, requestorName, signature, extensions };
}

/** Builds an unsigned OCSP request (for clients and tests). */
export function buildOcspRequest(input: { certIds: Buffer[]; nonce?: Buffer }): Buffer {
  const tbs = new TBSRequest({
    requestList: input.certIds.map((d) => new Request({ reqCert: AsnConvert.parse(d, CertID) })),
    requestExtensions: input.nonce ? [nonceExtension(input.nonce)] : undefined,
  });
  return Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest: tbs })));
}

function nonceExtension(nonce: Buffer): Extension {
  return new Extension({ extnID: PKI_OID.ocspNonce, extnValue: new OctetString(AsnConvert.serialize(new OctetString(nonce))) });
}

// ---------------------------------------------------------------------------------------------
// Responses

export type OcspErrorStatus = 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

/** An OCSPResponse with only a status (RFC 6960 §4.2.1): no responseBytes, not signed. */
export function buildOcspError(status: OcspErrorStatus): Buffer {
  const code = OCSPResponseStatus[status];
  if (code === undefined || (code as number) === OCSPResponseStatus.successful) throw new Error(`not an OCSP error status: ${String(status)}`);
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: code })));
}

export type OcspCertStatus =
  | { type: 'good' }
  | { type: 'revoked'; revokedAt: Date; reason?: RevocationReason }
  | { type: 'unknown' };

export interface OcspSingleResponseInput {
  /** The CertID from the parsed request; echoed byte for byte. */
  certId: OcspCertId;
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface BuildOcspResponseInput {
  /** The certificate of the key that signs: a delegated responder (EKU id-kp-OCSPSigning) or the CA. */
  responderCertificate: Buffer;
  signer: Signer;
  producedAt: Date;
  responses: readonly OcspSingleResponseInput[];
  /** The request's nonce, echoed (RFC 8954). */
  nonce?: Buffer;
  /** Certificates to include (typically the responder certificate and its issuer). */
  includeCertificates?: readonly Buffer[];
}

function invalid(pointer: string, detail: string): ValidationError {
  return new ValidationError(`Invalid OCSP response input: ${detail}`, [{ pointer, detail }], 'PKI_INVALID_INPUT');
}

function certificateObject(der: Buffer): Certificate {
  const c = AsnConvert.parse(der, Certificate);
  if (!Buffer.from(AsnConvert.serialize(c)).equals(der)) throw new Error('certificate changed when re-encoded; refusing to embed it');
  return c;
}

/**
 * A signed `successful` OCSPResponse carrying a BasicOCSPResponse, responderID byKey
 * (RFC 6960 §4.2.2.3: SHA-1 of the responder's subjectPublicKey bits). Returns DER.
 */
export async function buildOcspResponse(input: BuildOcspResponseInput): Promise<Buffer> {
  const responder = parseCertificate(input.responderCertificate);
  if (!Buffer.isBuffer(input.signer?.publicKey) || !input.signer.publicKey.equals(responder.spki)) {
    throw new AppError('PKI_SIGNER_MISMATCH', "The signer's public key does not match the responder certificate");
  }
  // RFC 6960 §4.2.2.2: either the CA itself or a responder it authorised with id-kp-OCSPSigning.
  const delegated = responder.extKeyUsage?.purposes.includes(PKI_OID.kpOCSPSigning) ?? false;
  const isCa = responder.basicConstraints?.ca ?? false;
  if (!delegated && !isCa) throw new ValidationError('The responder certificate is not authorised to sign OCSP responses', [], 'PKI_PROFILE_VIOLATION');
  if (input.responses.length === 0) throw invalid('/responses', 'at least one response is required');
  if (input.nonce !== undefined && (!Buffer.isBuffer(input.nonce) || input.nonce.length < 1 || input.nonce.length > 32)) {
    throw invalid('/nonce', 'must be 1 to 32 octets');
  }

  const responses = input.responses.map((r, i) => {
    const p = `/responses/${i}`;
    const certID = AsnConvert.parse(r.certId.der, CertID);
    if (!Buffer.from(AsnConvert.serialize(certID)).equals(r.certId.der)) throw new Error('CertID changed when re-encoded');
    const thisUpdate = floorToSecond(r.thisUpdate, `${p}/thisUpdate`);
    const nextUpdate = r.nextUpdate === undefined ? undefined : floorToSecond(r.nextUpdate, `${p}/nextUpdate`);
    if (nextUpdate && nextUpdate <= thisUpdate) throw invalid(`${p}/nextUpdate`, 'must be after thisUpdate');
    let certStatus: CertStatus;
    switch (r.status.type) {
      case 'good':
        certStatus = new CertStatus({ good: null });
        break;
      case 'unknown':
        certStatus = new CertStatus({ unknown: null });
        break;
      case 'revoked': {
        const reason = r.status.reason;
        const code = reason === undefined ? undefined : REASON_CODES[reason];
        if (reason !== undefined && code === undefined) throw invalid(`${p}/status/reason`, 'unknown reason');
        certStatus = new CertStatus({
          revoked: new RevokedInfo({
            revocationTime: floorToSecond(r.status.revokedAt, `${p}/status/revokedAt`),
            // As in CRLs (RFC 5280 §5.3.1), 'unspecified' is expressed by leaving the reason out.
            revocationReason: code === undefined || code === 0 ? undefined : new CRLReason(code as CRLReasons),
          }),
        });
        break;
      }
      default:
        throw invalid(`${p}/status`, 'must be good, revoked or unknown');
    }
    return new SingleResponse({ certID, certStatus, thisUpdate, nextUpdate });
  });

  const tbs = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(digest('sha1', responder.publicKeyBits)) }),
    producedAt: floorToSecond(input.producedAt, '/producedAt'),
    responses,
    responseExtensions: input.nonce ? [nonceExtension(input.nonce)] : undefined,
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await input.signer.sign(tbsDer);
  const sigAlg = signatureAlgorithmIdentifier(input.signer.algorithm);
  const basic = new BasicOCSPResponse({
    tbsResponseData: tbs,
    signatureAlgorithm: sigAlg,
    signature: toArrayBuffer(signature),
    certs: input.includeCertificates?.length ? input.includeCertificates.map(certificateObject) : undefined,
  });
  const basicDer = Buffer.from(AsnConvert.serialize(basic));
  const der = Buffer.from(
    AsnConvert.serialize(
      new OCSPResponse({
        responseStatus: OCSPResponseStatus.successful,
        responseBytes: new ResponseBytes({ responseType: PKI_OID.ocspBasic, response: new OctetString(basicDer) }),
      }),
    ),
  );

  const parsed = parseOcspResponse(der);
  if (!parsed.basic || !parsed.basic.tbsResponseDataDer.equals(tbsDer)) throw new Error('ResponseData changed when re-encoded');
  if (!verifyOcspResponseSignature(parsed.basic, responder.spki)) {
    throw new AppError('PKI_SIGNER_MISMATCH', "The signer's signature does not verify with the responder certificate");
  }
  return der;
}

// ---------------------------------------------------------------------------------------------
// Reading responses (ours in self-checks; others' when verifying revocation data)

export type OcspResponseStatusName = 'successful' | OcspErrorStatus;

export interface ParsedSingleResponse {
  certId: OcspCertId;
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface ParsedBasicOcspResponse {
  der: Buffer;
  tbsResponseDataDer: Buffer;
  responderId: { byKey: Buffer } | { byName: Buffer };
  producedAt: Date;
  responses: ParsedSingleResponse[];
  nonce?: Buffer;
  extensions: CertificateExtension[];
  signatureAlgorithm: AlgorithmIdentifierValue;
  signatureValue: Buffer;
  certificates: ParsedCertificate[];
}

export interface ParsedOcspResponse {
  der: Buffer;
  status: OcspResponseStatusName;
  basic?: ParsedBasicOcspResponse;
}

const STATUS_NAMES: Record<number, OcspResponseStatusName> = {
  0: 'successful',
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

/** Reads a DER OCSPResponse strictly. Throws ParseError OCSP_MALFORMED_RESPONSE. */
export function parseOcspResponse(der: Uint8Array): ParsedOcspResponse {
  try {
    return readOcspResponse(decodeDer(toBuffer(der), { maxBytes: 1 << 20, maxDepth: 24 }));
  } catch (e) {
    if (e instanceof DerError) throw new ParseError(`OCSP response is malformed: ${e.message}`, 'OCSP_MALFORMED_RESPONSE', { cause: e });
    throw e;
  }
}

function readOcspResponse(root: DerNode): ParsedOcspResponse {
  const r = readSequence(root, 'OCSPResponse');
  const status = STATUS_NAMES[readEnumerated(r.next('responseStatus'), 'responseStatus')];
  if (!status) throw new DerError('unknown responseStatus');
  const rb = r.optionalContext(0);
  r.end();
  if (status !== 'successful') {
    if (rb) throw new DerError('an error response carries no responseBytes');
    return { der: root.der, status };
  }
  if (!rb) throw new DerError('successful response without responseBytes');
  const bytes = readSequence(readExplicit(rb, 0, 'responseBytes'), 'ResponseBytes');
  const type = readOid(bytes.next('responseType'), 'responseType');
  const body = readOctetString(bytes.next('response'), 'response');
  bytes.end();
  if (type !== PKI_OID.ocspBasic) throw new DerError('unsupported response type');
  return { der: root.der, status, basic: readBasic(decodeDer(body, { maxDepth: 24 })) };
}

function readBasic(n: DerNode): ParsedBasicOcspResponse {
  const b = readSequence(n, 'BasicOCSPResponse');
  const tbsNode = b.next('tbsResponseData');
  const signatureAlgorithm = readAlgorithmIdentifier(b.next('signatureAlgorithm'), 'signatureAlgorithm');
  const sig = readBitString(b.next('signature'), 'signature');
  const certsNode = b.optionalContext(0);
  b.end();
  const certificates: ParsedCertificate[] = [];
  if (certsNode) {
    const c = readSequence(readExplicit(certsNode, 0, 'certs'), 'certs');
    while (c.peek()) certificates.push(readCertificate(c.next('Certificate')));
  }

  const t = readSequence(tbsNode, 'ResponseData');
  const v = t.optionalContext(0);
  if (v) throw new DerError(readSmallInt(readExplicit(v, 0, 'version'), 'version') === 0 ? 'explicit default version is not DER' : 'unsupported version');
  const rid = t.next('responderID');
  let responderId: ParsedBasicOcspResponse['responderId'];
  if (isContext(rid, 1)) responderId = { byName: readSequence(readExplicit(rid, 1, 'byName'), 'byName').node.der };
  else if (isContext(rid, 2)) responderId = { byKey: readOctetString(readExplicit(rid, 2, 'byKey'), 'byKey') };
  else throw new DerError('invalid responderID');
  const producedAt = readGeneralizedTime(t.next('producedAt'), 'producedAt');
  const list = readSequence(t.next('responses'), 'responses');
  const responses: ParsedSingleResponse[] = [];
  while (list.peek()) {
    const s = readSequence(list.next('SingleResponse'), 'SingleResponse');
    const certId = readCertId(s.next('certID'));
    const st = s.next('certStatus');
    let status: OcspCertStatus;
    if (isContext(st, 0)) {
      readNull(st, 'good', 0);
      status = { type: 'good' };
    } else if (isContext(st, 2)) {
      readNull(st, 'unknown', 2);
      status = { type: 'unknown' };
    } else if (isContext(st, 1) && st.constructed) {
      // RevokedInfo, an implicitly tagged SEQUENCE: revocationTime, [0] EXPLICIT CRLReason OPTIONAL.
      const children = st.children;
      if (children.length < 1 || children.length > 2) throw new DerError('invalid RevokedInfo');
      const revokedAt = readGeneralizedTime(children[0]!, 'revocationTime');
      let reason: RevocationReason | undefined;
      if (children[1]) {
        reason = reasonFromCode(readEnumerated(readExplicit(children[1], 0, 'revocationReason'), 'revocationReason'));
        if (!reason) throw new DerError('unknown revocation reason');
      }
      status = { type: 'revoked', revokedAt, reason };
    } else {
      throw new DerError('invalid certStatus');
    }
    const thisUpdate = readGeneralizedTime(s.next('thisUpdate'), 'thisUpdate');
    const nu = s.optionalContext(0);
    const nextUpdate = nu ? readGeneralizedTime(readExplicit(nu, 0, 'nextUpdate'), 'nextUpdate') : undefined;
    const se = s.optionalContext(1);
    s.end();
    if (se) readExtensions(readExplicit(se, 1, 'singleExtensions'), 'singleExtensions');
    responses.push({ certId, status, thisUpdate, nextUpdate });
  }
  const extNode = t.optionalContext(1);
  t.end();
  const extensions = extNode ? readExtensions(readExplicit(extNode, 1, 'responseExtensions'), 'responseExtensions') : [];
  const n0 = extensions.find((e) => e.oid === PKI_OID.ocspNonce);
  return {
    der: n.der,
    tbsResponseDataDer: tbsNode.der,
    responderId,
    producedAt,
    responses,
    nonce: n0 ? readOctetString(decodeDer(n0.value), 'nonce') : undefined,
    extensions,
    signatureAlgorithm,
    signatureValue: sig.bytes,
    certificates,
  };
}

/** Whether the BasicOCSPResponse's signature verifies with `responderSpki` (no other check). */
export function verifyOcspResponseSignature(basic: ParsedBasicOcspResponse, responderSpki: Buffer): boolean {
  const scheme = signatureSchemeOf(basic.signatureAlgorithm);
  return scheme !== undefined && verifySignature(readPublicKeyInfo(responderSpki), scheme, basic.tbsResponseDataDer, basic.signatureValue);
}

/** Serial hex (any form) → the CertID form, for looking records up. */
export function normalizeSerialHex(hex: string): string {
  return serialHexToInteger(hex).toString('hex');
}
