/**
 * The CMS signed attributes of a CAdES / PAdES baseline signature, encoded to DER by hand so the
 * bytes signed are exactly the bytes embedded (RFC 5652 §5.4).
 *
 *   Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
 *   ContentType ::= OBJECT IDENTIFIER                         -- RFC 5652 §11.1
 *   MessageDigest ::= OCTET STRING                            -- RFC 5652 §11.2
 *   SigningTime ::= Time                                      -- RFC 5652 §11.3
 *   Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
 *
 *   SigningCertificateV2 ::= SEQUENCE {                       -- RFC 5035 §3
 *       certs        SEQUENCE OF ESSCertIDv2,
 *       policies     SEQUENCE OF PolicyInformation OPTIONAL }
 *   ESSCertIDv2 ::= SEQUENCE {
 *       hashAlgorithm  AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *       certHash       Hash,
 *       issuerSerial   IssuerSerial OPTIONAL }
 *   IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
 *
 * Why not src/pki/asn1/signing-certificate-v2.ts (the asn1-schema class the TSA uses): its
 * IssuerSerial needs the issuer as an asn1-schema Name, i.e. a parse and re-encode of the
 * certificate's issuer DER on every signature. Here the issuer bytes are copied verbatim from
 * the certificate. A unit test pins that both encoders produce identical bytes.
 */
import { compareDerForSetOf, encodeOid, encodeTlv } from '../pki/der';
import { digest } from '../pki/hashes';
import { PKI_OID } from '../pki/oids';
import type { ParsedCertificate } from '../pki/certificate';
import { CADES_OID } from './oids';
import { invalidInput } from './errors';

// The attribute type OIDs, encoded once: this runs for every signature.
const ATTR_TYPE = new Map<string, Buffer>();
function encodedOid(oid: string): Buffer {
  let der = ATTR_TYPE.get(oid);
  if (!der) {
    der = encodeOid(oid);
    ATTR_TYPE.set(oid, der);
  }
  return der;
}

export function encodeAttribute(oid: string, valueDer: Buffer): Buffer {
  return encodeTlv(0x30, Buffer.concat([encodedOid(oid), encodeTlv(0x31, valueDer)]));
}

/** content-type = id-data: the detached content is opaque data (PAdES: the ByteRange bytes). */
const CONTENT_TYPE_DATA = encodeAttribute(PKI_OID.contentType, encodeOid(CADES_OID.data));
export function contentTypeAttribute(): Buffer {
  return CONTENT_TYPE_DATA;
}

export function messageDigestAttribute(contentDigest: Buffer): Buffer {
  return encodeAttribute(PKI_OID.messageDigest, encodeTlv(0x04, contentDigest));
}

/**
 * RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds, Zulu
 * (X.690 §11.7–11.8 DER forms). Sub-second parts are dropped, not rounded.
 */
export function encodeSigningTime(t: Date): Buffer {
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw invalidInput('/signingTime', 'not a valid date');
  const y = t.getUTCFullYear();
  if (y < 1 || y > 9999) throw invalidInput('/signingTime', 'year out of range');
  const p2 = (n: number) => String(n).padStart(2, '0');
  const rest = `${p2(t.getUTCMonth() + 1)}${p2(t.getUTCDate())}${p2(t.getUTCHours())}${p2(t.getUTCMinutes())}${p2(t.getUTCSeconds())}Z`;
  if (y >= 1950 && y <= 2049) return encodeTlv(0x17, Buffer.from(`${p2(y % 100)}${rest}`, 'latin1'));
  return encodeTlv(0x18, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'latin1'));
}

export function signingTimeAttribute(t: Date): Buffer {
  return encodeAttribute(PKI_OID.signingTime, encodeSigningTime(t));
}

/**
 * SigningCertificateV2 naming `cert`: certHash = SHA-256 of the certificate DER, hashAlgorithm
 * omitted (DER leaves out a DEFAULT value, X.690 §11.5), issuerSerial = directoryName [4] of the
 * certificate's issuer plus its serial number, both copied as encoded in the certificate.
 */
export function encodeSigningCertificateV2(cert: ParsedCertificate): Buffer {
  const generalNames = encodeTlv(0x30, encodeTlv(0xa4, cert.issuer.der));
  const issuerSerial = encodeTlv(0x30, Buffer.concat([generalNames, encodeTlv(0x02, cert.serial)]));
  const essCertId = encodeTlv(0x30, Buffer.concat([encodeTlv(0x04, digest('sha256', cert.der)), issuerSerial]));
  return encodeTlv(0x30, encodeTlv(0x30, essCertId));
}

export function signingCertificateV2Attribute(cert: ParsedCertificate): Buffer {
  return encodeAttribute(PKI_OID.signingCertificateV2, encodeSigningCertificateV2(cert));
}

/** SignedAttributes as the DER SET OF the signature covers (X.690 §11.6: sorted by encoding). */
export function encodeSignedAttributes(attributes: Buffer[]): Buffer {
  const sorted = [...attributes].sort(compareDerForSetOf);
  return encodeTlv(0x31, Buffer.concat(sorted));
}
