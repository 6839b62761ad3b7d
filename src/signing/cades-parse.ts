/**
 * A strict reader for CAdES / PAdES CMS signatures: ContentInfo(SignedData) with exactly one
 * SignerInfo that has signed attributes (RFC 5652 §5; ETSI EN 319 122-1). DER only — BER
 * (indefinite lengths, constructed strings, non-minimal encodings) is refused, as are trailing
 * bytes, nesting deeper than the limit and inputs larger than it. Every parsed piece keeps its
 * original bytes: verification hashes and checks what was received, never a re-encoding.
 *
 *   SignedData ::= SEQUENCE {
 *     version CMSVersion,
 *     digestAlgorithms DigestAlgorithmIdentifiers,          -- SET OF AlgorithmIdentifier
 *     encapContentInfo EncapsulatedContentInfo,
 *     certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *     signerInfos SignerInfos }                             -- SET OF SignerInfo
 *
 *   EncapsulatedContentInfo ::= SEQUENCE {
 *     eContentType ContentType,
 *     eContent [0] EXPLICIT OCTET STRING OPTIONAL }
 *
 *   CertificateChoices ::= CHOICE {
 *     certificate Certificate,
 *     extendedCertificate [0] IMPLICIT ExtendedCertificate,  -- Obsolete
 *     v1AttrCert [1] IMPLICIT AttributeCertificateV1,       -- Obsolete
 *     v2AttrCert [2] IMPLICIT AttributeCertificateV2,
 *     other [3] IMPLICIT OtherCertificateFormat }
 *
 *   RevocationInfoChoice ::= CHOICE {
 *     crl CertificateList,
 *     other [1] IMPLICIT OtherRevocationInfoFormat }
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
 *     issuerAndSerialNumber IssuerAndSerialNumber,            -- SignerInfo version 1
 *     subjectKeyIdentifier [0] SubjectKeyIdentifier }        -- SignerInfo version 3
 *
 * Rules enforced beyond the grammar: SignedData version 1 or 3 and consistent with its content
 * (§5.1); the signer's digestAlgorithm listed in digestAlgorithms; signed attributes present,
 * sorted as a DER SET OF (X.690 §11.6, since the signature covers their DER, §5.4), each type at
 * most once, content-type and message-digest present with one value each (§5.3, §11.1–11.2),
 * signing-time and signing-certificate-v2 single-valued. Unsigned attributes may repeat (several
 * signature-time-stamps are allowed) and are not required to be sorted: they are not signed, and
 * PDF signers append to them.
 *
 * Errors: ParseError CMS_MALFORMED (not DER / breaks these rules) or CMS_UNSUPPORTED (a content
 * type other than SignedData, no or several SignerInfos, no signed attributes, versions 2/4/5).
 */
import {
  DerError,
  compareDerForSetOf,
  decodeDer,
  isContext,
  readExplicit,
  readImplicitConstructed,
  readIntegerBytes,
  readOctetString,
  readOid,
  readSequence,
  readSet,
  readSmallInt,
  readTime,
  toBuffer,
  type DerLimits,
  type DerNode,
  type DerReader,
} from '../pki/der';
import { HASHES, hashByOid, type HashName } from '../pki/hashes';
import { PKI_OID } from '../pki/oids';
import { readCertificate, type ParsedCertificate } from '../pki/certificate';
import { readName } from '../pki/name';
import { readAlgorithmIdentifier, hasNoParameters, signatureSchemeOf, type AlgorithmIdentifierValue, type SignatureScheme } from '../pki/signature';
import { CADES_OID } from './oids';
import { UnsupportedCms, cmsParseError } from './errors';

export interface CmsAttribute {
  oid: string;
  /** Each AttributeValue's DER. */
  values: Buffer[];
  /** The whole Attribute as received. */
  der: Buffer;
}

export type SignerIdentifier = { issuer: Buffer; serial: Buffer; serialHex: string } | { subjectKeyIdentifier: Buffer };

export interface ParsedSignerInfo {
  der: Buffer;
  version: number;
  sid: SignerIdentifier;
  digestAlgorithm: AlgorithmIdentifierValue;
  /** The signed attributes as the signature covers them: the [0] re-tagged as SET (0x31, RFC 5652 §5.4). */
  signedAttrsDer: Buffer;
  signedAttrs: CmsAttribute[];
  signatureAlgorithm: AlgorithmIdentifierValue;
  /** Our algorithm table's reading of signatureAlgorithm; undefined when we do not accept it. */
  signatureScheme?: SignatureScheme;
  signature: Buffer;
  unsignedAttrs: CmsAttribute[];
}

/** ESSCertIDv2 (RFC 5035). */
export interface EssCertIdV2 {
  der: Buffer;
  /** OID of hashAlgorithm (SHA-256 when omitted, its DEFAULT). */
  hashOid: string;
  /** Null when the hash is not one we know. */
  hashName: HashName | null;
  certHash: Buffer;
  issuerSerial?: {
    /** The directoryName entries of `issuer` (Name DER); other GeneralName forms are skipped. */
    directoryNames: Buffer[];
    serial: Buffer;
    serialHex: string;
  };
}

export interface ParsedSigningCertificateV2 {
  der: Buffer;
  certs: EssCertIdV2[];
  /** policies SEQUENCE OF PolicyInformation, DER, when present. */
  policies?: Buffer;
}

export interface ParsedCadesSignature {
  /** The whole ContentInfo as received. */
  der: Buffer;
  version: number;
  digestAlgorithms: AlgorithmIdentifierValue[];
  eContentType: string;
  /** Encapsulated content for an attached signature; undefined when detached (CAdES/PAdES here). */
  eContent?: Buffer;
  /** X.509 certificates in the CertificateSet, in order; other CertificateChoices are skipped. */
  certificates: ParsedCertificate[];
  /** RevocationInfoChoice values, DER as received (CRLs or other formats), not interpreted here. */
  crls: Buffer[];
  signerInfo: ParsedSignerInfo;
  /** The certificate `sid` names, when it is among `certificates`. */
  signerCertificate?: ParsedCertificate;
  // Signed attributes, read:
  contentType: string;
  messageDigest: Buffer;
  signingTime?: Date;
  signingCertificateV2?: ParsedSigningCertificateV2;
  // Unsigned attributes:
  /** signature-time-stamp tokens (TimeStampToken ContentInfo DER, as received), in order. */
  signatureTimeStampTokens: Buffer[];
}

export interface ParseCadesOptions {
  /** Defaults: 1 MiB, depth 32 (a chain, revocation data and time-stamp tokens fit easily). */
  limits?: DerLimits;
}

const DEFAULT_LIMITS: Required<DerLimits> = { maxBytes: 1 << 20, maxDepth: 32 };

/** Parses a DER CMS ContentInfo(SignedData) holding one CAdES SignerInfo. Throws CMS_MALFORMED / CMS_UNSUPPORTED. */
export function parseCadesSignature(der: Uint8Array, options: ParseCadesOptions = {}): ParsedCadesSignature {
  try {
    if (!(der instanceof Uint8Array)) throw new DerError('input must be bytes');
    const root = decodeDer(toBuffer(der), { ...DEFAULT_LIMITS, ...options.limits });
    return readContentInfo(root);
  } catch (e) {
    cmsParseError(e);
  }
}

function readContentInfo(root: DerNode): ParsedCadesSignature {
  const ci = readSequence(root, 'ContentInfo');
  const contentType = readOid(ci.next('contentType'), 'contentType');
  const contentNode = ci.next('content');
  ci.end();
  if (contentType !== PKI_OID.signedData) throw new UnsupportedCms(`content type ${contentType} is not SignedData`);
  const sd = readSequence(readExplicit(contentNode, 0, 'content'), 'SignedData');

  const version = readSmallInt(sd.next('version'), 'SignedData.version');
  if (version !== 1 && version !== 3) throw new UnsupportedCms(`SignedData version ${version}`);

  const digestAlgorithms: AlgorithmIdentifierValue[] = [];
  const das = readSet(sd.next('digestAlgorithms'), 'digestAlgorithms');
  while (das.peek()) digestAlgorithms.push(readAlgorithmIdentifier(das.next('digestAlgorithm'), 'digestAlgorithm'));

  const eci = readSequence(sd.next('encapContentInfo'), 'EncapsulatedContentInfo');
  const eContentType = readOid(eci.next('eContentType'), 'eContentType');
  const ec = eci.optionalContext(0);
  eci.end();
  const eContent = ec ? readOctetString(readExplicit(ec, 0, 'eContent'), 'eContent') : undefined;

  const certificates: ParsedCertificate[] = [];
  const certsNode = sd.optionalContext(0);
  if (certsNode) {
    const set = readImplicitConstructed(certsNode, 0, 'certificates');
    while (set.peek()) {
      const c = set.next('CertificateChoices');
      if (c.tagClass === 'universal' && c.tagNumber === 16) certificates.push(readCertificate(c));
      else if (c.tagClass !== 'context' || c.tagNumber > 3 || !c.constructed) throw new DerError('certificates: unknown CertificateChoices');
    }
  }

  const crls: Buffer[] = [];
  const crlsNode = sd.optionalContext(1);
  if (crlsNode) {
    const set = readImplicitConstructed(crlsNode, 1, 'crls');
    while (set.peek()) {
      const c = set.next('RevocationInfoChoice');
      const isCrl = c.tagClass === 'universal' && c.tagNumber === 16;
      if (!isCrl && !(isContext(c, 1) && c.constructed)) throw new DerError('crls: unknown RevocationInfoChoice');
      crls.push(c.der);
    }
  }

  const sis = readSet(sd.next('signerInfos'), 'signerInfos');
  sd.end();
  // One CMS, one signer (STANDARDS.md verifier checklist, item 1; a PAdES signature has one SignerInfo).
  if (sis.remaining !== 1) throw new UnsupportedCms(`${sis.remaining} SignerInfos (exactly one is supported)`);
  const signerInfo = readSignerInfo(sis.next('SignerInfo'));

  // RFC 5652 §5.1: version 1 only with id-data content and version 1 SignerInfos.
  if (version === 1 && (eContentType !== CADES_OID.data || signerInfo.version !== 1)) throw new DerError('SignedData version 1 is inconsistent with its content');
  if (!digestAlgorithms.some((a) => a.oid === signerInfo.digestAlgorithm.oid)) throw new DerError("the signer's digestAlgorithm is not in digestAlgorithms");

  const attrs = readSignedAttributeValues(signerInfo);
  const signatureTimeStampTokens: Buffer[] = [];
  for (const a of signerInfo.unsignedAttrs) {
    if (a.oid !== CADES_OID.signatureTimeStampToken) continue;
    for (const v of a.values) {
      // TimeStampToken ::= ContentInfo; the token itself is read and verified by src/pki.
      if (v[0] !== 0x30) throw new DerError('signature-time-stamp value is not a ContentInfo');
      signatureTimeStampTokens.push(v);
    }
  }

  return {
    der: root.der,
    version,
    digestAlgorithms,
    eContentType,
    eContent,
    certificates,
    crls,
    signerInfo,
    signerCertificate: findSignerCertificate(signerInfo.sid, certificates),
    ...attrs,
    signatureTimeStampTokens,
  };
}

/** The certificate a SignerIdentifier names, among `candidates`. */
export function findSignerCertificate(sid: SignerIdentifier, candidates: readonly ParsedCertificate[]): ParsedCertificate | undefined {
  return candidates.find((c) =>
    'issuer' in sid
      ? c.issuer.der.equals(sid.issuer) && c.serial.equals(sid.serial)
      : !!c.subjectKeyIdentifier && c.subjectKeyIdentifier.equals(sid.subjectKeyIdentifier),
  );
}

function readAttributes(r: DerReader, what: string, options: { unique: boolean; sorted: boolean }): CmsAttribute[] {
  const out: CmsAttribute[] = [];
  if (!r.peek()) throw new DerError(`${what}: empty attribute set`);
  let previous: Buffer | undefined;
  while (r.peek()) {
    const n = r.next('Attribute');
    const a = readSequence(n, `${what} Attribute`);
    const oid = readOid(a.next('attrType'), 'attrType');
    const set = readSet(a.next('attrValues'), 'attrValues');
    a.end();
    const values: Buffer[] = [];
    while (set.peek()) values.push(set.next('AttributeValue').der);
    if (values.length === 0) throw new DerError(`${what}: attribute ${oid} without values`);
    if (options.unique && out.some((x) => x.oid === oid)) throw new DerError(`${what}: duplicate attribute ${oid}`);
    if (options.sorted && previous && compareDerForSetOf(previous, n.der) > 0) throw new DerError(`${what}: not sorted as a DER SET OF`);
    previous = n.der;
    out.push({ oid, values, der: n.der });
  }
  return out;
}

function readSignerInfo(n: DerNode): ParsedSignerInfo {
  const r = readSequence(n, 'SignerInfo');
  const version = readSmallInt(r.next('version'), 'SignerInfo.version');
  const sidNode = r.next('sid');
  let sid: SignerIdentifier;
  if (version === 1) {
    const ias = readSequence(sidNode, 'IssuerAndSerialNumber');
    const issuer = readName(ias.next('issuer'), 'issuer').der;
    const serial = readIntegerBytes(ias.next('serialNumber'), 'serialNumber');
    ias.end();
    sid = { issuer, serial, serialHex: serial.toString('hex') };
  } else if (version === 3) {
    sid = { subjectKeyIdentifier: readOctetString(sidNode, 'subjectKeyIdentifier', 0) };
  } else {
    throw new UnsupportedCms(`SignerInfo version ${version}`);
  }
  const digestAlgorithm = readAlgorithmIdentifier(r.next('digestAlgorithm'), 'digestAlgorithm');
  const sa = r.optionalContext(0);
  if (!sa) throw new UnsupportedCms('no signed attributes (CAdES requires them)');
  const signedAttrs = readAttributes(readImplicitConstructed(sa, 0, 'signedAttrs'), 'signedAttrs', { unique: true, sorted: true });
  const signedAttrsDer = Buffer.concat([Buffer.from([0x31]), sa.der.subarray(1)]);
  const signatureAlgorithm = readAlgorithmIdentifier(r.next('signatureAlgorithm'), 'signatureAlgorithm');
  const signature = readOctetString(r.next('signature'), 'signature');
  if (signature.length === 0) throw new DerError('empty signature');
  const ua = r.optionalContext(1);
  r.end();
  const unsignedAttrs = ua ? readAttributes(readImplicitConstructed(ua, 1, 'unsignedAttrs'), 'unsignedAttrs', { unique: false, sorted: false }) : [];
  return {
    der: n.der,
    version,
    sid,
    digestAlgorithm,
    signedAttrsDer,
    signedAttrs,
    signatureAlgorithm,
    signatureScheme: signatureSchemeOf(signatureAlgorithm),
    signature,
    unsignedAttrs,
  };
}

function single(si: ParsedSignerInfo, oid: string, what: string): DerNode | undefined {
  const a = si.signedAttrs.find((x) => x.oid === oid);
  if (!a) return undefined;
  if (a.values.length !== 1) throw new DerError(`${what} must have exactly one value`);
  return decodeDer(a.values[0]!, { maxDepth: 16 });
}

function readSignedAttributeValues(si: ParsedSignerInfo): Pick<ParsedCadesSignature, 'contentType' | 'messageDigest' | 'signingTime' | 'signingCertificateV2'> {
  // RFC 5652 §5.3: with signed attributes, content-type and message-digest MUST be present.
  const ct = single(si, PKI_OID.contentType, 'content-type');
  const md = single(si, PKI_OID.messageDigest, 'message-digest');
  if (!ct || !md) throw new DerError('content-type and message-digest signed attributes are required');
  const messageDigest = readOctetString(md, 'message-digest');
  if (messageDigest.length === 0 || messageDigest.length > 64) throw new DerError('message-digest length out of range');
  const st = single(si, PKI_OID.signingTime, 'signing-time');
  const sc = single(si, PKI_OID.signingCertificateV2, 'signing-certificate-v2');
  return {
    contentType: readOid(ct, 'content-type'),
    messageDigest,
    signingTime: st ? readTime(st, 'signing-time') : undefined,
    signingCertificateV2: sc ? readSigningCertificateV2(sc) : undefined,
  };
}

function readSigningCertificateV2(n: DerNode): ParsedSigningCertificateV2 {
  const r = readSequence(n, 'SigningCertificateV2');
  const certsReader = readSequence(r.next('certs'), 'certs');
  const certs: EssCertIdV2[] = [];
  while (certsReader.peek()) certs.push(readEssCertIdV2(certsReader.next('ESSCertIDv2')));
  if (certs.length === 0) throw new DerError('SigningCertificateV2 without certs');
  const p = r.optionalUniversal(16);
  r.end();
  return { der: n.der, certs, policies: p?.der };
}

function readEssCertIdV2(n: DerNode): EssCertIdV2 {
  const r = readSequence(n, 'ESSCertIDv2');
  let hashOid: string = HASHES.sha256.oid;
  const alg = r.optionalUniversal(16);
  if (alg) {
    // Written explicitly by some producers even for SHA-256 (its DEFAULT); read either way.
    const ai = readAlgorithmIdentifier(alg, 'ESSCertIDv2.hashAlgorithm');
    if (!hasNoParameters(ai)) throw new DerError('ESSCertIDv2.hashAlgorithm: unexpected parameters');
    hashOid = ai.oid;
  }
  const certHash = readOctetString(r.next('certHash'), 'certHash');
  if (certHash.length === 0 || certHash.length > 64) throw new DerError('certHash length out of range');
  let issuerSerial: EssCertIdV2['issuerSerial'];
  const is = r.optionalUniversal(16);
  if (is) {
    const s = readSequence(is, 'IssuerSerial');
    const names = readSequence(s.next('issuer'), 'GeneralNames');
    const directoryNames: Buffer[] = [];
    if (!names.peek()) throw new DerError('IssuerSerial: empty GeneralNames');
    while (names.peek()) {
      const g = names.next('GeneralName');
      if (g.tagClass !== 'context' || g.tagNumber > 8) throw new DerError('IssuerSerial: not a GeneralName');
      // directoryName [4] EXPLICIT Name (RFC 5280 §4.2.1.6)
      if (g.tagNumber === 4) directoryNames.push(readName(readExplicit(g, 4, 'directoryName'), 'directoryName').der);
    }
    const serial = readIntegerBytes(s.next('serialNumber'), 'serialNumber');
    s.end();
    issuerSerial = { directoryNames, serial, serialHex: serial.toString('hex') };
  }
  r.end();
  return { der: n.der, hashOid, hashName: hashByOid(hashOid)?.name ?? null, certHash, issuerSerial };
}
