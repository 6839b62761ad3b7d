/**
 * CAdES baseline signatures (ETSI EN 319 122-1 B-B and B-T) as detached CMS SignedData
 * (RFC 5652), for CAdES files (.p7s) and for PAdES (ETSI EN 319 142-1, /SubFilter
 * /ETSI.CAdES.detached), which differs only in leaving signing-time out of the signed attributes
 * (the PDF's /M carries the claimed time).
 *
 *   ContentInfo ::= SEQUENCE { contentType ContentType, content [0] EXPLICIT ANY }
 *
 *   SignedData ::= SEQUENCE {
 *     version CMSVersion,                         -- 1: id-data, issuerAndSerialNumber (§5.1)
 *     digestAlgorithms DigestAlgorithmIdentifiers,
 *     encapContentInfo EncapsulatedContentInfo,   -- { id-data } without eContent: detached
 *     certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *     signerInfos SignerInfos }
 *
 *   SignerInfo ::= SEQUENCE {
 *     version CMSVersion,                         -- 1 with issuerAndSerialNumber
 *     sid SignerIdentifier,
 *     digestAlgorithm DigestAlgorithmIdentifier,
 *     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
 *     signatureAlgorithm SignatureAlgorithmIdentifier,
 *     signature SignatureValue,
 *     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
 *
 *   IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber CertificateSerialNumber }
 *
 * Everything is written with the DER writer helpers: the signed attributes are encoded once,
 * signed, and the same bytes embedded (only the outer tag changes from SET to [0] IMPLICIT,
 * RFC 5652 §5.4). Certificates, the issuer name and the serial number are copied verbatim.
 * No clock, no randomness: signing time and the timestamper are parameters.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import type { Signer } from '../crypto/key-provider';
import { AppError, isAppError } from '../errors';
import { DerError, compareDerForSetOf, decodeDer, encodeOid, encodeTlv, readIntegerBytes, readSequence, toBuffer } from '../pki/der';
import { digest, HASHES } from '../pki/hashes';
import { PKI_OID } from '../pki/oids';
import { parseCertificate, type ParsedCertificate } from '../pki/certificate';
import { digestAlgorithmIdentifier, keyFitsAlgorithm, readPublicKeyInfo, signatureAlgorithmIdentifier } from '../pki/signature';
import { parseTimeStampToken } from '../pki/tsp-token';
import { isAlgorithmName, type AlgorithmName } from '../crypto/algorithms';
import { CADES_OID } from './oids';
import { invalidInput } from './errors';
import {
  contentTypeAttribute,
  encodeAttribute,
  encodeSignedAttributes,
  messageDigestAttribute,
  signingCertificateV2Attribute,
  signingTimeAttribute,
} from './signed-attributes';

export type CadesProfile = 'cades' | 'pades';

/** Gets an RFC 3161 TimeStampToken (ContentInfo DER) over a signature value. */
export type Timestamper = (signatureValue: Buffer) => Promise<Buffer>;

export interface BuildCadesSignatureInput {
  signer: Signer;
  /** The signer's certificate (DER); its public key must be the Signer's. */
  certificate: Buffer;
  /** Certificates above it (issuing CA, root), DER; embedded so verifiers can build the path. */
  chain?: readonly Buffer[];
  /** The detached content. Give this or `contentDigest`, not both. */
  content?: Buffer;
  /** SHA-256 of the detached content, for content hashed elsewhere (streamed, PDF ByteRange). */
  contentDigest?: Buffer;
  /** 'cades' writes signing-time; 'pades' must not (ETSI EN 319 142-1 baseline: the PDF's /M carries it). */
  profile: CadesProfile;
  /** Claimed signing time: required for 'cades' (an EN 319 122-1 B-B attribute), refused for 'pades'. */
  signingTime?: Date;
  /** B-T: adds a signature-time-stamp over the signature value (EN 319 122-1 signature-time-stamp). */
  timestamp?: Timestamper;
}

export interface CadesSignature {
  /** ContentInfo(SignedData), DER: the .p7s file, or what goes in the PDF's /Contents. */
  der: Buffer;
  /** The DER SET OF signed attributes exactly as signed. */
  signedAttributes: Buffer;
  /** SignerInfo.signature: what the signature-time-stamp covers. */
  signatureValue: Buffer;
  /** The signature-time-stamp token embedded (B-T). */
  timeStampToken?: Buffer;
}

/**
 * What signing needs from a certificate, derived once per certificate: a seal signs many
 * documents with the same certificate, and the strict parse costs more than a P-256 signature.
 * Entries hold copies (never views of a caller's buffer), keyed by the certificate's SHA-256;
 * the cache is bounded and only ever holds facts derived from the bytes themselves.
 */
interface PreparedCertificate {
  der: Buffer;
  spki: Buffer;
  /** Whether the certificate's key fits each algorithm of the table, worked out on first use. */
  fits: Partial<Record<AlgorithmName, boolean>>;
  /** IssuerAndSerialNumber DER (the SignerInfo sid). */
  issuerAndSerialNumber: Buffer;
  /** The signing-certificate-v2 Attribute DER naming this certificate. */
  signingCertificateV2: Buffer;
}

const PREPARED = new Map<string, PreparedCertificate>();
const PREPARED_MAX = 256;

function preparedCertificate(der: Buffer, pointer: string): PreparedCertificate {
  if (!(der instanceof Uint8Array)) throw invalidInput(pointer, 'must be a DER certificate');
  const key = digest('sha256', der).toString('latin1');
  const hit = PREPARED.get(key);
  if (hit) return hit;
  const entry = prepare(der);
  if (PREPARED.size >= PREPARED_MAX) PREPARED.delete(PREPARED.keys().next().value!);
  PREPARED.set(key, entry);
  return entry;
}

function prepare(der: Buffer): PreparedCertificate {
  const copy = Buffer.from(der);
  const c: ParsedCertificate = parseCertificate(copy);
  return {
    der: c.der,
    spki: c.spki,
    fits: {},
    issuerAndSerialNumber: encodeTlv(0x30, Buffer.concat([c.issuer.der, encodeTlv(0x02, c.serial)])),
    signingCertificateV2: signingCertificateV2Attribute(c),
  };
}

/** The table's key rules (type, curve, minimum RSA size) for the signer certificate's key. */
function keyFits(cert: PreparedCertificate, algorithm: AlgorithmName): boolean {
  let fits = cert.fits[algorithm];
  if (fits === undefined) {
    try {
      fits = keyFitsAlgorithm(readPublicKeyInfo(cert.spki), algorithm);
    } catch (e) {
      if (!(e instanceof DerError)) throw e;
      fits = false;
    }
    cert.fits[algorithm] = fits;
  }
  return fits;
}

// Constant DER pieces, built once from the PKI layer's algorithm identifiers.
const DIGEST_ALGORITHM = Buffer.from(AsnConvert.serialize(digestAlgorithmIdentifier()));
const SIGNATURE_ALGORITHM = new Map<AlgorithmName, Buffer>();
function signatureAlgorithmDer(name: AlgorithmName): Buffer {
  let der = SIGNATURE_ALGORITHM.get(name);
  if (!der) {
    der = Buffer.from(AsnConvert.serialize(signatureAlgorithmIdentifier(name)));
    SIGNATURE_ALGORITHM.set(name, der);
  }
  return der;
}
const ENCAP_CONTENT_INFO = encodeTlv(0x30, encodeOid(CADES_OID.data));
const SIGNED_DATA_OID = encodeOid(PKI_OID.signedData);
const VERSION_1 = Buffer.from([0x02, 0x01, 0x01]);

function contentDigestOf(input: BuildCadesSignatureInput): Buffer {
  const hasContent = input.content !== undefined;
  const hasDigest = input.contentDigest !== undefined;
  if (hasContent === hasDigest) throw invalidInput('/content', 'give exactly one of content and contentDigest');
  if (hasContent) {
    if (!(input.content instanceof Uint8Array)) throw invalidInput('/content', 'must be bytes');
    return digest('sha256', input.content);
  }
  if (!(input.contentDigest instanceof Uint8Array) || input.contentDigest.length !== HASHES.sha256.length) {
    throw invalidInput('/contentDigest', 'must be the 32-byte SHA-256 of the content');
  }
  return toBuffer(input.contentDigest);
}

/** An ECDSA signature must be a DER Ecdsa-Sig-Value (the Signer port's contract; CMS carries DER). */
function assertSignatureShape(algorithm: AlgorithmName, sig: Buffer): void {
  if (!Buffer.isBuffer(sig) || sig.length === 0) throw new AppError('KEY_UNAVAILABLE', 'The key could not be used');
  if (algorithm !== 'ES256') return;
  try {
    const r = readSequence(decodeDer(sig, { maxBytes: 80, maxDepth: 2 }), 'Ecdsa-Sig-Value');
    readIntegerBytes(r.next('r'), 'r');
    readIntegerBytes(r.next('s'), 's');
    r.end();
  } catch (e) {
    if (e instanceof DerError) throw new AppError('KEY_UNAVAILABLE', 'The key returned a malformed signature', { cause: e });
    throw e;
  }
}

/** The token must be a well-formed TimeStampToken whose imprint is the signature value's hash. */
function checkToken(token: Buffer, signatureValue: Buffer): void {
  try {
    if (!Buffer.isBuffer(token)) throw new Error('the timestamper did not return bytes');
    const imprint = parseTimeStampToken(token).tstInfo.messageImprint;
    if (!imprint.hashName || imprint.hashName === 'sha1' || !digest(imprint.hashName, signatureValue).equals(imprint.hashedMessage)) {
      throw new Error('the token does not cover the signature value');
    }
  } catch (e) {
    throw new AppError('TSA_BAD_RESPONSE', 'The time-stamping authority answered with an unacceptable response', { cause: e });
  }
}

/**
 * Builds a detached CAdES signature: SignedData v1, one SignerInfo v1 (issuerAndSerialNumber),
 * SHA-256, signed attributes content-type, message-digest, signing-certificate-v2 and (CAdES
 * only) signing-time as a sorted DER SET; the signature algorithm from the algorithm table;
 * certificates = the signer's and `chain`. With `timestamp`, adds the signature-time-stamp
 * unsigned attribute (B-T).
 *
 * Throws CADES_INVALID_INPUT, CERT_MALFORMED, PKI_SIGNER_MISMATCH; a timestamper's errors (or
 * TSA_BAD_RESPONSE for a token that does not cover the signature value) propagate.
 */
export async function buildCadesSignature(input: BuildCadesSignatureInput): Promise<CadesSignature> {
  if (input.profile !== 'cades' && input.profile !== 'pades') throw invalidInput('/profile', "must be 'cades' or 'pades'");
  if (input.profile === 'pades' && input.signingTime !== undefined) {
    throw invalidInput('/signingTime', 'PAdES signatures carry no signing-time attribute; the time goes in the signature dictionary /M');
  }
  if (input.profile === 'cades' && input.signingTime === undefined) throw invalidInput('/signingTime', 'required for CAdES');
  const contentDigest = contentDigestOf(input);
  const signer = input.signer;
  if (!signer || typeof signer.sign !== 'function') throw invalidInput('/signer', 'a Signer is required');

  if (!isAlgorithmName(signer.algorithm)) throw invalidInput('/signer/algorithm', 'not an algorithm of the table');
  const cert = preparedCertificate(input.certificate, '/certificate');
  if (!Buffer.isBuffer(signer.publicKey) || !signer.publicKey.equals(cert.spki)) {
    throw new AppError('PKI_SIGNER_MISMATCH', "The signer's public key does not match the certificate");
  }
  if (!keyFits(cert, signer.algorithm)) throw invalidInput('/signer/algorithm', "does not fit the certificate's key");
  const chain = (input.chain ?? []).map((c, i) => preparedCertificate(c, `/chain/${i}`));

  const attributes = [contentTypeAttribute(), messageDigestAttribute(contentDigest), cert.signingCertificateV2];
  if (input.profile === 'cades') attributes.push(signingTimeAttribute(input.signingTime!));
  const signedAttributes = encodeSignedAttributes(attributes);

  const signatureValue = toBuffer(await signer.sign(signedAttributes));
  assertSignatureShape(signer.algorithm, signatureValue);

  let timeStampToken: Buffer | undefined;
  let unsigned: Buffer = Buffer.alloc(0);
  if (input.timestamp) {
    try {
      timeStampToken = await input.timestamp(signatureValue);
    } catch (e) {
      if (isAppError(e)) throw e;
      throw new AppError('TSA_UNAVAILABLE', 'No time-stamping service could be reached', { cause: e });
    }
    checkToken(timeStampToken, signatureValue);
    // UnsignedAttributes ::= SET SIZE (1..MAX) OF Attribute, here [1] IMPLICIT.
    unsigned = encodeTlv(0xa1, encodeAttribute(CADES_OID.signatureTimeStampToken, timeStampToken));
  }

  const signerInfo = encodeTlv(
    0x30,
    Buffer.concat([
      VERSION_1,
      cert.issuerAndSerialNumber,
      DIGEST_ALGORITHM,
      // [0] IMPLICIT: the same contents octets as the SET that was signed.
      Buffer.concat([Buffer.from([0xa0]), signedAttributes.subarray(1)]),
      signatureAlgorithmDer(signer.algorithm),
      encodeTlv(0x04, signatureValue),
      unsigned,
    ]),
  );

  // CertificateSet is a SET OF: DER wants it sorted (X.690 §11.6); verifiers find the signer by sid.
  const certificates = uniqueDer([cert.der, ...chain.map((c) => c.der)]).sort(compareDerForSetOf);
  const signedData = encodeTlv(
    0x30,
    Buffer.concat([
      VERSION_1,
      encodeTlv(0x31, DIGEST_ALGORITHM),
      ENCAP_CONTENT_INFO,
      encodeTlv(0xa0, Buffer.concat(certificates)),
      encodeTlv(0x31, signerInfo),
    ]),
  );
  const der = encodeTlv(0x30, Buffer.concat([SIGNED_DATA_OID, encodeTlv(0xa0, signedData)]));
  return { der, signedAttributes, signatureValue, timeStampToken };
}

function uniqueDer(items: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const b of items) if (!out.some((o) => o.equals(b))) out.push(b);
  return out;
}
