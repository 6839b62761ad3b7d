/**
 * ESS signing-certificate-v2 (RFC 5035 §3), as written into CMS signed attributes.
 *
 *   SigningCertificateV2 ::= SEQUENCE {
 *       certs        SEQUENCE OF ESSCertIDv2,
 *       policies     SEQUENCE OF PolicyInformation OPTIONAL }
 *
 *   ESSCertIDv2 ::= SEQUENCE {
 *       hashAlgorithm           AlgorithmIdentifier DEFAULT {algorithm id-sha256},
 *       certHash                Hash,
 *       issuerSerial            IssuerSerial OPTIONAL }
 *
 *   Hash ::= OCTET STRING
 *
 *   IssuerSerial ::= SEQUENCE {
 *       issuer                  GeneralNames,
 *       serialNumber            CertificateSerialNumber }
 *
 * `policies` is never written; readers (tsp-token.ts) parse it with the strict DER reader.
 */
import { AsnIntegerArrayBufferConverter, AsnProp, AsnPropTypes, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, GeneralNames } from '@peculiar/asn1-x509';

export class IssuerSerial {
  @AsnProp({ type: GeneralNames })
  issuer: GeneralNames = new GeneralNames();

  @AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })
  serialNumber: ArrayBuffer = new ArrayBuffer(0);

  constructor(params: Partial<IssuerSerial> = {}) {
    Object.assign(this, params);
  }
}

export class ESSCertIDv2 {
  /** Left undefined for SHA-256: DER omits a DEFAULT value. */
  @AsnProp({ type: AlgorithmIdentifier, optional: true })
  hashAlgorithm?: AlgorithmIdentifier;

  @AsnProp({ type: OctetString })
  certHash: OctetString = new OctetString();

  @AsnProp({ type: IssuerSerial, optional: true })
  issuerSerial?: IssuerSerial;

  constructor(params: Partial<ESSCertIDv2> = {}) {
    Object.assign(this, params);
  }
}

export class SigningCertificateV2 {
  @AsnProp({ type: ESSCertIDv2, repeated: 'sequence' })
  certs: ESSCertIDv2[] = [];

  constructor(params: Partial<SigningCertificateV2> = {}) {
    Object.assign(this, params);
  }
}
