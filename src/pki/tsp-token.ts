/**
 * RFC 3161 time-stamp tokens, reader side: parsing TimeStampResp and the token (a CMS
 * SignedData, RFC 5652 §5) strictly, and verifying a token in ordered steps. Hashes and
 * signatures are computed over the bytes received, never a re-encoding.
 *
 *   ContentInfo ::= SEQUENCE { contentType ContentType, content [0] EXPLICIT ANY }
 *
 *   SignedData ::= SEQUENCE {
 *     version CMSVersion,
 *     digestAlgorithms DigestAlgorithmIdentifiers,
 *     encapContentInfo EncapsulatedContentInfo,
 *     certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *     signerInfos SignerInfos }
 *
 *   EncapsulatedContentInfo ::= SEQUENCE {
 *     eContentType ContentType,
 *     eContent [0] EXPLICIT OCTET STRING OPTIONAL }
 *
 *   SignerInfo ::= SEQUENCE {
 *     version CMSVersion,
 *     sid SignerIdentifier,
 *     digestAlgorithm DigestAlgorithmIdentifier,
 *     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
 *     signatureAlgorithm SignatureAlgorithmIdentifier,
 *     signature SignatureValue,
 *     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
 *
 *   SignerIdentifier ::= CHOICE {
 *     issuerAndSerialNumber IssuerAndSerialNumber,
 *     subjectKeyIdentifier [0] SubjectKeyIdentifier }
 *
 *   Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
 *
 * Only DER tokens are read (what RFC 3161 TSAs produce in practice); BER is refused.
 * Path validation and revocation of the TSA certificate are the caller's (verification) step.
 */
import type { AlgorithmName } from '../crypto/algorithms';
import { AppError, ParseError } from '../errors';
import {
  DerError,
  bitStringBits,
  decodeDer,
  isContext,
  readBitString,
  readBoolean,
  readExplicit,
  readGeneralizedTime,
  readImplicitConstructed,
  readIntegerBytes,
  readOctetString,
  readOid,
  readSequence,
  readSet,
  readSmallInt,
  readString,
  toBuffer,
  type DerNode,
} from './der';
import { readCertificate, readExtensions, type CertificateExtension, type ParsedCertificate } from './certificate';
import { HASHES, digest, hashByOid, type HashName } from './hashes';
import { readName } from './name';
import { PKI_OID } from './oids';
import { readAlgorithmIdentifier, readPublicKeyInfo, signatureSchemeOf, verifySignature, type AlgorithmIdentifierValue } from './signature';
import { PKI_FAILURE_INFO_BITS, readMessageImprint, type MessageImprintValue, type PKIFailureInfoName } from './tsp-common';

const MAX_RESPONSE_BYTES = 256 * 1024;

function malformed(e: unknown, code: string, what: string): never {
  if (e instanceof DerError) throw new ParseError(`${what} is malformed: ${e.message}`, code, { cause: e });
  throw e;
}

// ---------------------------------------------------------------------------------------------
// TimeStampResp

export type PKIStatusName = 'granted' | 'grantedWithMods' | 'rejection' | 'waiting' | 'revocationWarning' | 'revocationNotification';
const STATUS: readonly PKIStatusName[] = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];
const FAILURE_BY_BIT = new Map<number, PKIFailureInfoName>(Object.entries(PKI_FAILURE_INFO_BITS).map(([k, v]) => [v, k as PKIFailureInfoName]));

export interface ParsedTimeStampResp {
  der: Buffer;
  status: PKIStatusName;
  statusText: string[];
  /** Named failure bits; unknown bits are reported as `bit<n>`. */
  failInfo: string[];
  /** The TimeStampToken (ContentInfo) DER as received, when granted. */
  token?: Buffer;
}

/** Reads a DER TimeStampResp strictly (RFC 3161 §2.4.2). Throws ParseError TSP_MALFORMED_RESPONSE. */
export function parseTimeStampResp(der: Uint8Array): ParsedTimeStampResp {
  try {
    const root = decodeDer(toBuffer(der), { maxBytes: MAX_RESPONSE_BYTES, maxDepth: 32 });
    const r = readSequence(root, 'TimeStampResp');
    const si = readSequence(r.next('status'), 'PKIStatusInfo');
    const status = STATUS[readSmallInt(si.next('status'), 'status')];
    if (!status) throw new DerError('unknown PKIStatus');
    const statusText: string[] = [];
    const ft = si.optionalUniversal(16);
    if (ft) {
      const t = readSequence(ft, 'PKIFreeText');
      if (!t.peek()) throw new DerError('empty PKIFreeText');
      while (t.peek()) {
        const n = t.next('text');
        if (n.tagClass !== 'universal' || n.tagNumber !== 12) throw new DerError('PKIFreeText must hold UTF8Strings');
        statusText.push(readString(n, 'PKIFreeText'));
      }
    }
    const fi = si.optionalUniversal(3);
    const failInfo = fi ? bitStringBits(readBitString(fi, 'failInfo')).map((b) => FAILURE_BY_BIT.get(b) ?? `bit${b}`) : [];
    si.end();
    const tokenNode = r.peek() ? readSequence(r.next('timeStampToken'), 'timeStampToken').node : undefined;
    r.end();
    const granted = status === 'granted' || status === 'grantedWithMods';
    // §2.4.2: a token MUST be present for granted(With Mods) and MUST NOT be otherwise.
    if (granted !== !!tokenNode) throw new DerError(granted ? 'granted response without a token' : 'token in a response that is not granted');
    return { der: root.der, status, statusText, failInfo, token: tokenNode?.der };
  } catch (e) {
    malformed(e, 'TSP_MALFORMED_RESPONSE', 'time-stamp response');
  }
}

// ---------------------------------------------------------------------------------------------
// Token

export interface ParsedTSTInfo {
  der: Buffer;
  policy: string;
  messageImprint: MessageImprintValue;
  /** serialNumber contents octets, hex. */
  serialHex: string;
  genTime: Date;
  accuracy?: { seconds: number; millis: number; micros: number };
  ordering: boolean;
  /** nonce contents octets as encoded. */
  nonce?: Buffer;
  /** tsa GeneralName DER, if present. */
  tsa?: Buffer;
  extensions: CertificateExtension[];
}

export interface ParsedAttribute {
  oid: string;
  /** Each value's DER. */
  values: Buffer[];
}

export interface ParsedSignerInfo {
  version: number;
  sid: { issuer: Buffer; serialHex: string } | { subjectKeyIdentifier: Buffer };
  digestAlgorithm: AlgorithmIdentifierValue;
  /** The signed attributes re-tagged as SET (0x31): exactly the bytes the signature covers. */
  signedAttrsDer: Buffer;
  signedAttrs: ParsedAttribute[];
  signatureAlgorithm: AlgorithmIdentifierValue;
  signature: Buffer;
  unsignedAttrs: ParsedAttribute[];
}

export interface ParsedTimeStampToken {
  der: Buffer;
  /** eContent octets: the DER TSTInfo as received. */
  eContent: Buffer;
  tstInfo: ParsedTSTInfo;
  certificates: ParsedCertificate[];
  signerInfo: ParsedSignerInfo;
}

/** Reads a TimeStampToken (ContentInfo with SignedData over TSTInfo). Throws ParseError TSP_MALFORMED_TOKEN. */
export function parseTimeStampToken(der: Uint8Array): ParsedTimeStampToken {
  try {
    return readToken(decodeDer(toBuffer(der), { maxBytes: MAX_RESPONSE_BYTES, maxDepth: 32 }));
  } catch (e) {
    malformed(e, 'TSP_MALFORMED_TOKEN', 'time-stamp token');
  }
}

function readAttributes(reader: { peek(): DerNode | undefined; next(f: string): DerNode }, what: string): ParsedAttribute[] {
  const out: ParsedAttribute[] = [];
  const seen = new Set<string>();
  while (reader.peek()) {
    const a = readSequence(reader.next('Attribute'), `${what} Attribute`);
    const oid = readOid(a.next('attrType'), 'attrType');
    const set = readSet(a.next('attrValues'), 'attrValues');
    a.end();
    const values: Buffer[] = [];
    while (set.peek()) values.push(set.next('value').der);
    if (values.length === 0) throw new DerError('attribute without values');
    // RFC 5652 §5.3: signed attributes appear at most once each (counter-signatures excepted).
    if (seen.has(oid)) throw new DerError(`duplicate attribute ${oid}`);
    seen.add(oid);
    out.push({ oid, values });
  }
  return out;
}

function readToken(root: DerNode): ParsedTimeStampToken {
  const ci = readSequence(root, 'ContentInfo');
  if (readOid(ci.next('contentType'), 'contentType') !== PKI_OID.signedData) throw new DerError('not a SignedData');
  const sdNode = readExplicit(ci.next('content'), 0, 'content');
  ci.end();

  const sd = readSequence(sdNode, 'SignedData');
  const version = readSmallInt(sd.next('version'), 'version');
  if (version !== 3) throw new DerError('SignedData version must be 3 for TSTInfo content');
  const digestAlgs = readSet(sd.next('digestAlgorithms'), 'digestAlgorithms');
  while (digestAlgs.peek()) readAlgorithmIdentifier(digestAlgs.next('digestAlgorithm'), 'digestAlgorithm');
  const eci = readSequence(sd.next('encapContentInfo'), 'EncapsulatedContentInfo');
  if (readOid(eci.next('eContentType'), 'eContentType') !== PKI_OID.ctTSTInfo) throw new DerError('eContentType is not id-ct-TSTInfo');
  const ec = eci.next('eContent');
  eci.end();
  const eContent = readOctetString(readExplicit(ec, 0, 'eContent'), 'eContent');

  const certificates: ParsedCertificate[] = [];
  const certsNode = sd.optionalContext(0);
  if (certsNode) {
    const set = readImplicitConstructed(certsNode, 0, 'certificates');
    while (set.peek()) {
      const c = set.next('certificate');
      // Only plain X.509 certificates are read; other CertificateChoices are skipped.
      if (c.tagClass === 'universal' && c.tagNumber === 16) certificates.push(readCertificate(c));
    }
  }
  sd.optionalContext(1);
  const sis = readSet(sd.next('signerInfos'), 'signerInfos');
  sd.end();
  // RFC 3161 §2.4.2: the token carries the TSA's signature and no other.
  if (sis.remaining !== 1) throw new DerError('a time-stamp token has exactly one SignerInfo');
  const signerInfo = readSignerInfo(sis.next('SignerInfo'));

  return { der: root.der, eContent, tstInfo: readTstInfo(decodeDer(eContent, { maxDepth: 16 })), certificates, signerInfo };
}

function readSignerInfo(n: DerNode): ParsedSignerInfo {
  const r = readSequence(n, 'SignerInfo');
  const version = readSmallInt(r.next('version'), 'version');
  const sidNode = r.next('sid');
  let sid: ParsedSignerInfo['sid'];
  if (version === 1) {
    const ias = readSequence(sidNode, 'IssuerAndSerialNumber');
    const issuer = readName(ias.next('issuer'), 'issuer').der;
    const serialHex = readIntegerBytes(ias.next('serialNumber'), 'serialNumber').toString('hex');
    ias.end();
    sid = { issuer, serialHex };
  } else if (version === 3) {
    sid = { subjectKeyIdentifier: readOctetString(sidNode, 'subjectKeyIdentifier', 0) };
  } else {
    throw new DerError('unsupported SignerInfo version');
  }
  const digestAlgorithm = readAlgorithmIdentifier(r.next('digestAlgorithm'), 'digestAlgorithm');
  const sa = r.optionalContext(0);
  if (!sa) throw new DerError('signed attributes are required for TSTInfo content');
  const signedAttrs = readAttributes(readImplicitConstructed(sa, 0, 'signedAttrs'), 'signedAttrs');
  // RFC 5652 §5.4: the signature covers the DER of the SET OF, i.e. the [0] with tag 0x31.
  const signedAttrsDer = Buffer.concat([Buffer.from([0x31]), sa.der.subarray(1)]);
  const signatureAlgorithm = readAlgorithmIdentifier(r.next('signatureAlgorithm'), 'signatureAlgorithm');
  const signature = readOctetString(r.next('signature'), 'signature');
  const ua = r.optionalContext(1);
  r.end();
  const unsignedAttrs = ua ? readAttributes(readImplicitConstructed(ua, 1, 'unsignedAttrs'), 'unsignedAttrs') : [];
  return { version, sid, digestAlgorithm, signedAttrsDer, signedAttrs, signatureAlgorithm, signature, unsignedAttrs };
}

function readTstInfo(n: DerNode): ParsedTSTInfo {
  const r = readSequence(n, 'TSTInfo');
  if (readSmallInt(r.next('version'), 'version') !== 1) throw new DerError('TSTInfo version must be 1');
  const policy = readOid(r.next('policy'), 'policy');
  const messageImprint = readMessageImprint(r.next('messageImprint'));
  const serial = readIntegerBytes(r.next('serialNumber'), 'serialNumber');
  if (serial.length > 21) throw new DerError('serialNumber longer than 160 bits');
  const genTime = readGeneralizedTime(r.next('genTime'), 'genTime', { allowFraction: true });
  let accuracy: ParsedTSTInfo['accuracy'];
  const acc = r.optionalUniversal(16);
  if (acc) {
    const a = readSequence(acc, 'Accuracy');
    const s = a.optionalUniversal(2);
    const ms = a.optionalContext(0);
    const us = a.optionalContext(1);
    a.end();
    accuracy = {
      seconds: s ? readSmallInt(s, 'seconds') : 0,
      millis: ms ? readSmallInt(ms, 'millis', 0) : 0,
      micros: us ? readSmallInt(us, 'micros', 1) : 0,
    };
    if (accuracy.seconds < 0 || accuracy.millis < 0 || accuracy.millis > 999 || accuracy.micros < 0 || accuracy.micros > 999) {
      throw new DerError('accuracy out of range');
    }
  }
  const o = r.optionalUniversal(1);
  const ordering = o ? readBoolean(o, 'ordering') : false;
  if (o && !ordering) throw new DerError('ordering FALSE must be omitted in DER');
  const nn = r.optionalUniversal(2);
  const nonce = nn ? readIntegerBytes(nn, 'nonce') : undefined;
  const t = r.optionalContext(0);
  const tsa = t ? readExplicit(t, 0, 'tsa').der : undefined;
  const e = r.optionalContext(1);
  r.end();
  const extensions = e ? readExtensions(e, 'extensions', 1) : [];
  return { der: n.der, policy, messageImprint, serialHex: serial.toString('hex'), genTime, accuracy, ordering, nonce, tsa, extensions };
}

// ---------------------------------------------------------------------------------------------
// Verification

export interface VerifyTimeStampTokenInput {
  /** TimeStampToken (ContentInfo) DER. */
  token: Buffer;
  /** The expected message imprint. */
  imprint?: { hashAlgorithm: HashName; digest: Buffer };
  /** Or the time-stamped data itself, hashed with the token's algorithm. */
  data?: Buffer;
  /** The nonce sent: a bigint or the INTEGER contents octets. */
  nonce?: bigint | Buffer;
  /** More certificates to find the TSA certificate among (when the token carries none). */
  certificates?: readonly Buffer[];
  acceptedPolicies?: readonly string[];
  /** Signature algorithms accepted (default: the whole table). */
  allowedAlgorithms?: readonly AlgorithmName[];
}

export interface VerifiedTimeStampToken {
  token: ParsedTimeStampToken;
  tstInfo: ParsedTSTInfo;
  signerCertificate: ParsedCertificate;
}

/** Cryptographically wrong: the token does not prove what it claims. Message stays generic. */
function invalid(check: string): AppError {
  return new AppError('TSP_TOKEN_INVALID', 'The time-stamp token is not valid', { details: { check } });
}

/** Well-formed but not acceptable by policy (certificate purpose, algorithm, policy OID). */
function notAccepted(check: string): AppError {
  return new AppError('TSP_TOKEN_NOT_ACCEPTED', 'The time-stamp token is not acceptable', { details: { check } });
}

function attr(si: ParsedSignerInfo, oid: string): Buffer | undefined {
  const a = si.signedAttrs.find((x) => x.oid === oid);
  if (!a) return undefined;
  if (a.values.length !== 1) throw invalid('attribute-values');
  return a.values[0];
}

function integerEquals(contents: Buffer | undefined, expected: bigint | Buffer): boolean {
  if (!contents) return false;
  if (Buffer.isBuffer(expected)) return contents.equals(expected);
  return contents.length > 0 && BigInt(`0x${contents.toString('hex')}`) === expected && (contents[0]! & 0x80) === 0;
}

/** Known extensions a TSA certificate may mark critical (RFC 5280 §4.2); others are refused. */
const KNOWN_CRITICAL = new Set<string>([
  PKI_OID.basicConstraints,
  PKI_OID.keyUsage,
  PKI_OID.extKeyUsage,
  PKI_OID.subjectAltName,
  PKI_OID.certificatePolicies,
]);

/**
 * The TSA certificate rules (RFC 3161 §2.3): extKeyUsage present, critical, exactly
 * id-kp-timeStamping; keyUsage (if present) allows signing; no unknown critical extension;
 * valid at genTime. Throws TSP_TOKEN_NOT_ACCEPTED naming the failed check.
 */
export function checkTsaCertificate(cert: ParsedCertificate, genTime: Date): void {
  const eku = cert.extKeyUsage;
  if (!eku || !eku.critical || eku.purposes.length !== 1 || eku.purposes[0] !== PKI_OID.kpTimeStamping) throw notAccepted('tsa-extended-key-usage');
  if (cert.keyUsage && !cert.keyUsage.usages.some((u) => u === 'digitalSignature' || u === 'nonRepudiation')) throw notAccepted('tsa-key-usage');
  if (cert.extensions.some((x) => x.critical && !KNOWN_CRITICAL.has(x.oid))) throw notAccepted('tsa-unknown-critical-extension');
  if (genTime < cert.notBefore || genTime > cert.notAfter) throw notAccepted('tsa-certificate-validity');
}

function findSigner(si: ParsedSignerInfo, candidates: ParsedCertificate[]): ParsedCertificate | undefined {
  return candidates.find((c) =>
    'issuer' in si.sid
      ? c.issuer.der.equals(si.sid.issuer) && c.serialHex === si.sid.serialHex
      : !!c.subjectKeyIdentifier && c.subjectKeyIdentifier.equals(si.sid.subjectKeyIdentifier),
  );
}

/** ESS signing-certificate(-v2): the first cert ID must name the signer (RFC 5035 §3, RFC 2634 §5.4). */
function checkSigningCertificate(si: ParsedSignerInfo, signer: ParsedCertificate): void {
  const v2 = attr(si, PKI_OID.signingCertificateV2);
  const v1 = attr(si, PKI_OID.signingCertificate);
  if (!v2 && !v1) throw invalid('signing-certificate-missing');
  const seq = readSequence(decodeDer((v2 ?? v1)!), 'SigningCertificate');
  const certs = readSequence(seq.next('certs'), 'certs');
  const first = readSequence(certs.next('ESSCertID'), 'ESSCertID');
  let hash: HashName = v2 ? 'sha256' : 'sha1';
  if (v2 && first.peek()?.tagNumber === 16) {
    const alg = readAlgorithmIdentifier(first.next('hashAlgorithm'), 'hashAlgorithm');
    const spec = hashByOid(alg.oid);
    if (!spec || spec.name === 'sha1') throw notAccepted('signing-certificate-hash');
    hash = spec.name;
  }
  const certHash = readOctetString(first.next('certHash'), 'certHash');
  const is = first.peek();
  if (is) {
    const s = readSequence(first.next('issuerSerial'), 'IssuerSerial');
    const names = readSequence(s.next('issuer'), 'GeneralNames');
    const serialHex = readIntegerBytes(s.next('serialNumber'), 'serialNumber').toString('hex');
    s.end();
    let nameMatches = false;
    while (names.peek()) {
      const g = names.next('GeneralName');
      // directoryName [4] EXPLICIT Name
      if (isContext(g, 4) && readExplicit(g, 4, 'directoryName').der.equals(signer.issuer.der)) nameMatches = true;
    }
    if (!nameMatches || serialHex !== signer.serialHex) throw invalid('signing-certificate-issuer-serial');
  }
  first.end();
  if (!digest(hash, signer.der).equals(certHash)) throw invalid('signing-certificate-hash');
}

/**
 * Verifies a time-stamp token, in order: structure; signer certificate found; contentType and
 * messageDigest signed attributes; signature over the signed attributes with the certificate's
 * key; signing-certificate(-v2) names that certificate; the certificate is a TSA certificate
 * (one critical EKU, id-kp-timeStamping; no unknown critical extension) valid at genTime;
 * then imprint, nonce and policy. Throws TSP_MALFORMED_TOKEN, TSP_TOKEN_INVALID or
 * TSP_TOKEN_NOT_ACCEPTED. Chain building and revocation are the caller's.
 */
export function verifyTimeStampToken(input: VerifyTimeStampTokenInput): VerifiedTimeStampToken {
  const token = parseTimeStampToken(input.token);
  const si = token.signerInfo;
  const tst = token.tstInfo;

  let extra: ParsedCertificate[];
  try {
    extra = (input.certificates ?? []).map((c) => readCertificate(decodeDer(c, { maxBytes: 64 * 1024 })));
  } catch (e) {
    malformed(e, 'CERT_MALFORMED', 'certificate');
  }
  const signer = findSigner(si, [...token.certificates, ...extra]);
  if (!signer) throw notAccepted('signer-certificate-missing');

  try {
    const ct = attr(si, PKI_OID.contentType);
    if (!ct || readOid(decodeDer(ct), 'contentType') !== PKI_OID.ctTSTInfo) throw invalid('content-type');
    const digestSpec = hashByOid(si.digestAlgorithm.oid);
    if (!digestSpec || digestSpec.name === 'sha1') throw notAccepted('digest-algorithm');
    const md = attr(si, PKI_OID.messageDigest);
    if (!md || !readOctetString(decodeDer(md), 'messageDigest').equals(digest(digestSpec.name, token.eContent))) throw invalid('message-digest');

    const scheme = signatureSchemeOf(si.signatureAlgorithm);
    // Every algorithm of the table hashes with SHA-256; a SignerInfo naming another digest with
    // rsaEncryption would be signed over a different hash.
    if (!scheme || digestSpec.name !== 'sha256') throw notAccepted('signature-algorithm');
    if (input.allowedAlgorithms && !input.allowedAlgorithms.includes(scheme.algorithm)) throw notAccepted('signature-algorithm');
    let key;
    try {
      key = readPublicKeyInfo(signer.spki);
    } catch (e) {
      if (e instanceof DerError) throw notAccepted('signer-key');
      throw e;
    }
    if (!verifySignature(key, scheme, si.signedAttrsDer, si.signature)) throw invalid('signature');

    checkSigningCertificate(si, signer);
  } catch (e) {
    if (e instanceof DerError) throw invalid('signed-attributes');
    throw e;
  }

  checkTsaCertificate(signer, tst.genTime);
  if (tst.extensions.some((x) => x.critical)) throw notAccepted('tstinfo-critical-extension');

  if (input.imprint) {
    const spec = HASHES[input.imprint.hashAlgorithm];
    if (!spec || tst.messageImprint.hashAlgorithm.oid !== spec.oid || !tst.messageImprint.hashedMessage.equals(input.imprint.digest)) {
      throw invalid('message-imprint');
    }
  }
  if (input.data) {
    const name = tst.messageImprint.hashName;
    if (!name || name === 'sha1') throw notAccepted('imprint-hash-algorithm');
    if (!digest(name, input.data).equals(tst.messageImprint.hashedMessage)) throw invalid('message-imprint');
  }
  if (input.nonce !== undefined && !integerEquals(tst.nonce, input.nonce)) throw invalid('nonce');
  if (input.acceptedPolicies && !input.acceptedPolicies.includes(tst.policy)) throw notAccepted('policy');

  return { token, tstInfo: tst, signerCertificate: signer };
}
