/**
 * Signing use-cases: CAdES (ETSI EN 319 122-1) detached CMS signatures, B-B and B-T, for .p7s
 * files and as the CMS inside PAdES signatures. Pure: no clock, no randomness (except a
 * timestamper's default nonce source), no I/O beyond the injected Signer and timestamper.
 */
export { buildCadesSignature, type BuildCadesSignatureInput, type CadesSignature, type CadesProfile, type Timestamper } from './cades';
export { tsaTimestamper, remoteTimestamper, type TimestamperOptions, type RemoteTimestamperOptions } from './timestamper';
export {
  parseCadesSignature,
  findSignerCertificate,
  type ParsedCadesSignature,
  type ParsedSignerInfo,
  type ParseCadesOptions,
  type CmsAttribute,
  type SignerIdentifier,
  type EssCertIdV2,
  type ParsedSigningCertificateV2,
} from './cades-parse';
export {
  verifyCadesSignature,
  type VerifyCadesSignatureInput,
  type CadesVerification,
  type CadesCheck,
  type CadesCheckName,
  type CadesCheckStatus,
  type VerifiedSignatureTimestamp,
} from './cades-verify';
export { CMS_MALFORMED, CMS_UNSUPPORTED, CADES_INVALID_INPUT } from './errors';
export { CADES_OID } from './oids';
