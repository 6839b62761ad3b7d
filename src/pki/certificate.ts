/**
 * X.509 v3 certificates (RFC 5280): issuing under a profile, and reading what callers need.
 *
 *   Certificate ::= SEQUENCE {
 *        tbsCertificate       TBSCertificate,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING }
 *
 *   TBSCertificate ::= SEQUENCE {
 *        version         [0]  EXPLICIT Version DEFAULT v1,
 *        serialNumber         CertificateSerialNumber,
 *        signature            AlgorithmIdentifier,
 *        issuer               Name,
 *        validity             Validity,
 *        subject              Name,
 *        subjectPublicKeyInfo SubjectPublicKeyInfo,
 *        issuerUniqueID  [1]  IMPLICIT UniqueIdentifier OPTIONAL,
 *        subjectUniqueID [2]  IMPLICIT UniqueIdentifier OPTIONAL,
 *        extensions      [3]  EXPLICIT Extensions OPTIONAL }
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CRLDistributionPoints,
  Certificate,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import type { Signer } from '../crypto/key-provider';
import { ValidationError, ParseError, AppError } from '../errors';
import {
  DerError,
  bitStringBits,
  decodeDer,
  isContext,
  readBitString,
  readBoolean,
  readExplicit,
  readImplicitConstructed,
  readIntegerBytes,
  readNull,
  readOctetString,
  readOid,
  readSequence,
  readSmallInt,
  readTime,
  toArrayBuffer,
  toBuffer,
  unsignedToPositiveIntegerBytes,
  type DerNode,
} from './der';
import { digest } from './hashes';
import { buildName, nameFromDer, readName, type ParsedName, type SubjectInput } from './name';
import { PKI_OID } from './oids';
import { KEY_USAGE_BITS, getProfile, type CertificateProfile, type KeyUsageName, type ProfileName, type UrlKind } from './profiles';
import {
  keyFitsAlgorithm,
  readAlgorithmIdentifier,
  readPublicKeyInfo,
  signatureAlgorithmIdentifier,
  signatureSchemeOf,
  verifySignature,
  type AlgorithmIdentifierValue,
  type PublicKeyInfo,
} from './signature';

// ---------------------------------------------------------------------------------------------
// Reading

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** extnValue's octets: the DER of the extension's own value. */
  value: Buffer;
}

export interface ParsedCertificate {
  /** The certificate as received. */
  der: Buffer;
  /** The TBSCertificate as received: what the signature covers. */
  tbsDer: Buffer;
  /** 1, 2 or 3. */
  version: number;
  /** serialNumber contents octets, lower-case hex, as encoded (a leading 00 kept). */
  serialHex: string;
  serial: Buffer;
  signatureAlgorithm: AlgorithmIdentifierValue;
  signatureValue: Buffer;
  issuer: ParsedName;
  subject: ParsedName;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER as received. */
  spki: Buffer;
  /** The subjectPublicKey BIT STRING's octets (OCSP key hashes, key identifiers). */
  publicKeyBits: Buffer;
  /** Every extension, known or not, in order. */
  extensions: CertificateExtension[];
  basicConstraints?: { ca: boolean; pathLen?: number; critical: boolean };
  keyUsage?: { usages: KeyUsageName[]; critical: boolean };
  extKeyUsage?: { purposes: string[]; critical: boolean };
  subjectKeyIdentifier?: Buffer;
  authorityKeyIdentifier?: Buffer;
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
  ocspNoCheck: boolean;
  selfIssued: boolean;
}

const KU_NAMES = Object.fromEntries(Object.entries(KEY_USAGE_BITS).map(([k, v]) => [v, k])) as Record<number, KeyUsageName>;
const MAX_CERT_BYTES = 64 * 1024;

function fail(e: unknown, code: string, what: string): never {
  if (e instanceof DerError) throw new ParseError(`${what} is malformed: ${e.message}`, code, { cause: e });
  throw e;
}

/** Reads a DER certificate strictly (RFC 5280 §4.1). Throws ParseError CERT_MALFORMED. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const input = toBuffer(der);
  try {
    return readCertificate(decodeDer(input, { maxBytes: MAX_CERT_BYTES }));
  } catch (e) {
    fail(e, 'CERT_MALFORMED', 'certificate');
  }
}

/** Reads a certificate from a node inside a larger structure (CMS, OCSP). */
export function readCertificate(node: DerNode): ParsedCertificate {
  const cert = readSequence(node, 'Certificate');
  const tbsNode = cert.next('tbsCertificate');
  const signatureAlgorithm = readAlgorithmIdentifier(cert.next('signatureAlgorithm'), 'signatureAlgorithm');
  const sigBits = readBitString(cert.next('signatureValue'), 'signatureValue');
  cert.end();
  if (sigBits.unusedBits !== 0) throw new DerError('signatureValue has unused bits');

  const tbs = readSequence(tbsNode, 'TBSCertificate');
  let version = 1;
  const v = tbs.optionalContext(0);
  if (v) {
    const n = readSmallInt(readExplicit(v, 0, 'version'), 'version');
    // DER omits DEFAULT values: an explicit v1 is not DER (X.690 §11.5).
    if (n !== 1 && n !== 2) throw new DerError('unsupported certificate version');
    version = n + 1;
  }
  const serial = readIntegerBytes(tbs.next('serialNumber'), 'serialNumber');
  if (serial.length > 32) throw new DerError('serialNumber too long');
  const innerSig = readAlgorithmIdentifier(tbs.next('signature'), 'signature');
  // RFC 5280 §4.1.1.2: the two algorithm fields MUST be identical.
  if (!innerSig.der.equals(signatureAlgorithm.der)) throw new DerError('signature algorithm fields differ');
  const issuer = readName(tbs.next('issuer'), 'issuer');
  const validity = readSequence(tbs.next('validity'), 'validity');
  const notBefore = readTime(validity.next('notBefore'), 'notBefore');
  const notAfter = readTime(validity.next('notAfter'), 'notAfter');
  validity.end();
  const subject = readName(tbs.next('subject'), 'subject');
  const spkiNode = tbs.next('subjectPublicKeyInfo');
  const spkiSeq = readSequence(spkiNode, 'subjectPublicKeyInfo');
  readAlgorithmIdentifier(spkiSeq.next('algorithm'), 'subjectPublicKeyInfo.algorithm');
  const keyBits = readBitString(spkiSeq.next('subjectPublicKey'), 'subjectPublicKey');
  spkiSeq.end();
  const issuerUid = tbs.optionalContext(1);
  const subjectUid = tbs.optionalContext(2);
  if ((issuerUid || subjectUid) && version < 2) throw new DerError('unique identifiers need version 2 or 3');
  const extNode = tbs.optionalContext(3);
  tbs.end();
  const extensions: CertificateExtension[] = [];
  if (extNode) {
    if (version !== 3) throw new DerError('extensions need version 3');
    extensions.push(...readExtensions(readExplicit(extNode, 3, 'extensions'), 'extensions'));
  }

  const parsed: ParsedCertificate = {
    der: node.der,
    tbsDer: tbsNode.der,
    version,
    serial,
    serialHex: serial.toString('hex'),
    signatureAlgorithm,
    signatureValue: sigBits.bytes,
    issuer,
    subject,
    notBefore,
    notAfter,
    spki: spkiNode.der,
    publicKeyBits: keyBits.bytes,
    extensions,
    crlDistributionPoints: [],
    ocspUrls: [],
    caIssuersUrls: [],
    ocspNoCheck: false,
    selfIssued: issuer.der.equals(subject.der),
  };
  for (const ext of extensions) decodeKnownExtension(parsed, ext);
  return parsed;
}

/**
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 */
export function readExtensions(n: DerNode, what: string, implicitTag?: number): CertificateExtension[] {
  const seq = implicitTag === undefined ? readSequence(n, what) : readImplicitConstructed(n, implicitTag, what);
  // SIZE (1..MAX): an empty Extensions is not allowed.
  if (!seq.peek()) throw new DerError(`${what}: empty`);
  const out: CertificateExtension[] = [];
  const seen = new Set<string>();
  while (seq.peek()) {
    const e = readSequence(seq.next('Extension'), `${what} Extension`);
    const oid = readOid(e.next('extnID'), 'extnID');
    const c = e.optionalUniversal(1);
    const critical = c ? readBoolean(c, 'critical') : false;
    if (c && !critical) throw new DerError('critical FALSE must be omitted in DER');
    const value = readOctetString(e.next('extnValue'), 'extnValue');
    e.end();
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    seen.add(oid);
    out.push({ oid, critical, value });
  }
  return out;
}

function uris(generalNames: DerNode[]): string[] {
  // GeneralName uniformResourceIdentifier [6] IA5String (implicit); other forms are skipped.
  return generalNames
    .filter((g) => g.tagClass === 'context' && g.tagNumber === 6 && !g.constructed)
    .map((g) => {
      for (const b of g.content) if (b > 0x7f) throw new DerError('non-ASCII URI');
      return g.content.toString('latin1');
    });
}

function decodeKnownExtension(c: ParsedCertificate, ext: CertificateExtension): void {
  const what = `extension ${ext.oid}`;
  const value = (): DerNode => decodeDer(ext.value);
  switch (ext.oid) {
    case PKI_OID.basicConstraints: {
      const r = readSequence(value(), what);
      const caNode = r.optionalUniversal(1);
      const ca = caNode ? readBoolean(caNode, 'cA') : false;
      if (caNode && !ca) throw new DerError('cA FALSE must be omitted in DER');
      const pl = r.optionalUniversal(2);
      const pathLen = pl ? readSmallInt(pl, 'pathLenConstraint') : undefined;
      r.end();
      if (pathLen !== undefined && pathLen < 0) throw new DerError('negative pathLenConstraint');
      c.basicConstraints = { ca, pathLen, critical: ext.critical };
      break;
    }
    case PKI_OID.keyUsage: {
      const bits = bitStringBits(readBitString(value(), what));
      if (bits.length === 0) throw new DerError('keyUsage with no bit set');
      c.keyUsage = { usages: bits.filter((b) => b <= 8).map((b) => KU_NAMES[b]!), critical: ext.critical };
      break;
    }
    case PKI_OID.extKeyUsage: {
      const r = readSequence(value(), what);
      const purposes: string[] = [];
      while (r.peek()) purposes.push(readOid(r.next('KeyPurposeId'), 'KeyPurposeId'));
      if (purposes.length === 0) throw new DerError('empty extKeyUsage');
      c.extKeyUsage = { purposes, critical: ext.critical };
      break;
    }
    case PKI_OID.subjectKeyIdentifier:
      c.subjectKeyIdentifier = readOctetString(value(), what);
      break;
    case PKI_OID.authorityKeyIdentifier: {
      const r = readSequence(value(), what);
      const kid = r.optionalContext(0);
      if (kid) c.authorityKeyIdentifier = readOctetString(kid, 'keyIdentifier', 0);
      r.optionalContext(1);
      const sn = r.optionalContext(2);
      if (sn) readIntegerBytes(sn, 'authorityCertSerialNumber', 2);
      r.end();
      break;
    }
    case PKI_OID.cRLDistributionPoints: {
      const r = readSequence(value(), what);
      while (r.peek()) {
        const dp = readSequence(r.next('DistributionPoint'), 'DistributionPoint');
        const name = dp.optionalContext(0);
        if (name) {
          const choice = readExplicit(name, 0, 'distributionPoint');
          if (isContext(choice, 0)) c.crlDistributionPoints.push(...uris([...readImplicitConstructed(choice, 0, 'fullName').node.children]));
        }
        dp.optionalContext(1);
        dp.optionalContext(2);
        dp.end();
      }
      break;
    }
    case PKI_OID.authorityInfoAccess: {
      const r = readSequence(value(), what);
      while (r.peek()) {
        const ad = readSequence(r.next('AccessDescription'), 'AccessDescription');
        const method = readOid(ad.next('accessMethod'), 'accessMethod');
        const loc = ad.next('accessLocation');
        ad.end();
        if (method === PKI_OID.adOcsp) c.ocspUrls.push(...uris([loc]));
        if (method === PKI_OID.adCaIssuers) c.caIssuersUrls.push(...uris([loc]));
      }
      break;
    }
    case PKI_OID.ocspNoCheck:
      readNull(value(), what);
      c.ocspNoCheck = true;
      break;
    default:
      break;
  }
}

/** Whether `cert`'s signature verifies with `issuer`'s key (no other check). */
export function verifyCertificateSignature(cert: ParsedCertificate, issuerKey: PublicKeyInfo): boolean {
  const scheme = signatureSchemeOf(cert.signatureAlgorithm);
  return scheme !== undefined && verifySignature(issuerKey, scheme, cert.tbsDer, cert.signatureValue);
}

/**
 * Key identifier: RFC 7093 §2 method 1, the leftmost 160 bits of the SHA-256 hash of the
 * subjectPublicKey BIT STRING value (RFC 5280 §4.2.1.2 allows any method; this avoids SHA-1).
 */
export function computeKeyIdentifier(publicKeyBits: Uint8Array): Buffer {
  return digest('sha256', publicKeyBits).subarray(0, 20);
}

/** The key identifier to put in AKI fields for certificates and CRLs signed by `issuer`. */
export function issuerKeyIdentifier(issuer: ParsedCertificate): Buffer {
  return issuer.subjectKeyIdentifier ?? computeKeyIdentifier(issuer.publicKeyBits);
}

// ---------------------------------------------------------------------------------------------
// Issuing

export type CertificateIssuer =
  | { certificate: Buffer; signer: Signer }
  | { selfSigned: true; signer: Signer };

export interface CertificateUrls {
  /** CRL distribution point (RFC 5280 §4.2.1.13). */
  crl?: string;
  /** OCSP responder (AIA id-ad-ocsp, RFC 5280 §4.2.2.1). */
  ocsp?: string;
  /** Where the issuer's certificate can be fetched (AIA id-ad-caIssuers). */
  caIssuers?: string;
}

export interface IssueCertificateInput {
  profile: ProfileName | CertificateProfile;
  subject: SubjectInput;
  /** SubjectPublicKeyInfo DER of the key being certified. */
  subjectPublicKey: Buffer;
  issuer: CertificateIssuer;
  /** Random bytes from the caller (16 recommended, 8..20 accepted), made a positive INTEGER. */
  serial: Buffer;
  notBefore: Date;
  /** Defaults to notBefore + the profile's default validity. */
  notAfter?: Date;
  urls?: CertificateUrls;
}

function invalid(pointer: string, detail: string): ValidationError {
  return new ValidationError(`Invalid certificate request: ${detail}`, [{ pointer, detail }], 'PKI_INVALID_INPUT');
}

function violation(detail: string): ValidationError {
  return new ValidationError(`The request violates the certificate profile: ${detail}`, [{ pointer: '', detail }], 'PKI_PROFILE_VIOLATION');
}

/** Whole seconds: RFC 5280 §4.1.2.5 times carry no fractions. */
export function floorToSecond(d: Date, pointer: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw invalid(pointer, 'not a valid date');
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** Serial bytes → positive INTEGER contents (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
export function serialFromRandom(serial: Buffer, pointer = '/serial'): Buffer {
  if (!Buffer.isBuffer(serial) || serial.length < 8 || serial.length > 20) throw invalid(pointer, 'must be 8 to 20 random bytes');
  // A 20-byte value with the top bit set would need 21 octets: clear that bit instead.
  const bytes = Buffer.from(serial);
  if (bytes.length === 20) bytes[0] = bytes[0]! & 0x7f;
  try {
    return unsignedToPositiveIntegerBytes(bytes);
  } catch {
    throw invalid(pointer, 'must not be zero');
  }
}

function checkUrl(kind: UrlKind, url: unknown): string {
  const pointer = `/urls/${kind}`;
  if (typeof url !== 'string' || url.length > 2048 || !/^[\x21-\x7e]+$/.test(url)) throw invalid(pointer, 'must be an ASCII URL');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(pointer, 'must be an absolute URL');
  }
  // RFC 5280 §4.2.1.13 / §4.2.2.1: HTTP (or LDAP) URIs; we write http and https only.
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(pointer, 'must be http or https');
  return url;
}

function extension(oid: string, critical: boolean, value: ArrayBuffer | Uint8Array): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}

function keyUsageFlags(usages: readonly KeyUsageName[]): number {
  // asn1-x509's KeyUsage flag n is bit position n of the named-bit list.
  return usages.reduce((acc, u) => acc | (1 << KEY_USAGE_BITS[u]), 0);
}

function sameKey(a: Buffer, b: Buffer): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
}

function signerMismatch(): AppError {
  return new AppError('PKI_SIGNER_MISMATCH', "The signer's public key does not match the issuer certificate");
}

function checkDer(actual: Buffer, expected: Buffer, what: string): void {
  if (!actual.equals(expected)) throw new Error(`${what} changed when re-encoded; refusing to sign`);
}

/** Issues a certificate under `profile`; the signature is the issuer Signer's. Returns DER. */
export async function issueCertificate(input: IssueCertificateInput): Promise<Buffer> {
  const profile = typeof input.profile === 'string' ? getProfile(input.profile) : input.profile;
  const signer = input.issuer?.signer;
  if (!signer || typeof signer.sign !== 'function') throw invalid('/issuer/signer', 'a signer is required');

  // Validity
  const notBefore = floorToSecond(input.notBefore, '/notBefore');
  const notAfter =
    input.notAfter === undefined
      ? new Date(notBefore.getTime() + profile.defaultValidityDays * 86400_000)
      : floorToSecond(input.notAfter, '/notAfter');
  if (notAfter.getTime() <= notBefore.getTime()) throw invalid('/notAfter', 'must be after notBefore');
  if (notAfter.getTime() - notBefore.getTime() > profile.maxValidityDays * 86400_000) {
    throw violation(`validity longer than ${profile.maxValidityDays} days`);
  }

  const serial = serialFromRandom(input.serial);

  // Subject
  for (const f of profile.requiredSubject) {
    if (input.subject?.[f] === undefined) throw violation(`subject.${f} is required`);
  }
  const subjectName = buildName(input.subject);

  // Subject key
  if (!Buffer.isBuffer(input.subjectPublicKey)) throw invalid('/subjectPublicKey', 'must be SPKI DER');
  let subjectKey: PublicKeyInfo;
  try {
    subjectKey = readPublicKeyInfo(input.subjectPublicKey);
  } catch (e) {
    if (e instanceof DerError) throw invalid('/subjectPublicKey', `not a usable SubjectPublicKeyInfo (${e.message})`);
    throw e;
  }
  if (!profile.algorithms.some((a) => keyFitsAlgorithm(subjectKey, a))) {
    throw violation(`the subject key fits none of ${profile.algorithms.join(', ')}`);
  }
  if (!profile.algorithms.includes(signer.algorithm)) throw violation(`signature algorithm ${signer.algorithm} not allowed`);

  // Issuer
  let issuerName;
  let issuerKey: PublicKeyInfo;
  let authorityKeyId: Buffer;
  const subjectKeyId = computeKeyIdentifier(subjectKey.publicKeyBits);
  if ('selfSigned' in input.issuer) {
    if (!profile.selfSigned) throw violation(`profile ${profile.name} cannot be self-signed`);
    if (!sameKey(signer.publicKey, input.subjectPublicKey)) throw signerMismatch();
    issuerName = subjectName;
    issuerKey = subjectKey;
    authorityKeyId = subjectKeyId;
  } else {
    if (profile.selfSigned) throw violation(`profile ${profile.name} must be self-signed`);
    const issuer = parseCertificate(input.issuer.certificate);
    if (!issuer.basicConstraints?.ca) throw violation('the issuer certificate is not a CA');
    if (issuer.keyUsage && !issuer.keyUsage.usages.includes('keyCertSign')) throw violation('the issuer may not sign certificates');
    if (profile.basicConstraints.ca && issuer.basicConstraints.pathLen !== undefined && issuer.basicConstraints.pathLen < 1) {
      throw violation("the issuer's pathLenConstraint forbids issuing a CA");
    }
    if (notBefore < issuer.notBefore || notAfter > issuer.notAfter) throw violation("validity outside the issuer's validity");
    if (!sameKey(signer.publicKey, issuer.spki)) throw signerMismatch();
    issuerName = nameFromDer(issuer.subject.der);
    issuerKey = readPublicKeyInfo(issuer.spki);
    authorityKeyId = issuerKeyIdentifier(issuer);
  }
  if (!keyFitsAlgorithm(issuerKey, signer.algorithm)) throw signerMismatch();

  // URLs
  const urls = input.urls ?? {};
  for (const kind of ['crl', 'ocsp', 'caIssuers'] as const) {
    if (urls[kind] === undefined) continue;
    checkUrl(kind, urls[kind]);
    if (!profile.urls.includes(kind)) throw violation(`profile ${profile.name} does not carry a ${kind} URL`);
  }

  // Extensions (RFC 5280 §4.2): constraints first, then identifiers, then locations.
  const bc = profile.basicConstraints;
  const exts: Extension[] = [
    extension(
      PKI_OID.basicConstraints,
      true,
      AsnConvert.serialize(new BasicConstraints(bc.ca ? { cA: true, pathLenConstraint: bc.pathLen } : {})),
    ),
    extension(PKI_OID.keyUsage, profile.keyUsage.critical, AsnConvert.serialize(new KeyUsage(keyUsageFlags(profile.keyUsage.usages)))),
  ];
  if (profile.extKeyUsage) {
    exts.push(
      extension(PKI_OID.extKeyUsage, profile.extKeyUsage.critical, AsnConvert.serialize(new ExtendedKeyUsage([...profile.extKeyUsage.purposes]))),
    );
  }
  exts.push(extension(PKI_OID.subjectKeyIdentifier, false, AsnConvert.serialize(new SubjectKeyIdentifier(subjectKeyId))));
  exts.push(
    extension(
      PKI_OID.authorityKeyIdentifier,
      false,
      AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) })),
    ),
  );
  if (urls.crl) {
    const dp = new DistributionPoint({
      distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: urls.crl })] }),
    });
    exts.push(extension(PKI_OID.cRLDistributionPoints, false, AsnConvert.serialize(new CRLDistributionPoints([dp]))));
  }
  const access: AccessDescription[] = [];
  if (urls.ocsp) access.push(new AccessDescription({ accessMethod: PKI_OID.adOcsp, accessLocation: new GeneralName({ uniformResourceIdentifier: urls.ocsp }) }));
  if (urls.caIssuers) {
    access.push(new AccessDescription({ accessMethod: PKI_OID.adCaIssuers, accessLocation: new GeneralName({ uniformResourceIdentifier: urls.caIssuers }) }));
  }
  if (access.length > 0) exts.push(extension(PKI_OID.authorityInfoAccess, false, AsnConvert.serialize(new AuthorityInfoAccessSyntax(access))));
  if (profile.ocspNoCheck) exts.push(extension(PKI_OID.ocspNoCheck, false, Buffer.from([0x05, 0x00])));

  const spki = AsnConvert.parse(input.subjectPublicKey, SubjectPublicKeyInfo);
  checkDer(Buffer.from(AsnConvert.serialize(spki)), input.subjectPublicKey, 'SubjectPublicKeyInfo');

  const sigAlg = signatureAlgorithmIdentifier(signer.algorithm);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature: sigAlg,
    issuer: issuerName,
    validity: new Validity({ notBefore, notAfter }),
    subject: subjectName,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(exts),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await signer.sign(tbsDer);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sigAlg, signatureValue: toArrayBuffer(signature) });
  const der = Buffer.from(AsnConvert.serialize(cert));

  // Self-check: the result reads back under our strict reader, carries exactly the bytes that
  // were signed, and the Signer's signature verifies (a misconfigured HSM key fails here).
  const parsed = parseCertificate(der);
  checkDer(parsed.tbsDer, tbsDer, 'TBSCertificate');
  if (!verifyCertificateSignature(parsed, issuerKey)) throw signerMismatch();
  return der;
}
