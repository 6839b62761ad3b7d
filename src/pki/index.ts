/**
 * The pure PKI layer: certificate profiles and issuance, CRLs, OCSP, RFC 3161 time-stamping.
 * No HTTP server, database, clock or randomness: times, serials, nonces and Signers are
 * parameters. Library types (@peculiar/asn1-*) stay inside this folder.
 */
export { toPem, fromPem, fromPemAll } from './pem';
export { HASHES, digest, hashByOid, isHashName, type HashName, type HashSpec } from './hashes';
export { PKI_OID } from './oids';
export { DerError, type DerNode, type DerLimits } from './der';
export {
  buildName,
  readName,
  creditCodeOrganizationIdentifier,
  creditCodeFromOrganizationIdentifier,
  type SubjectInput,
  type SubjectField,
  type ParsedName,
  type NameAttribute,
} from './name';
export {
  PROFILES,
  KEY_USAGE_BITS,
  getProfile,
  isProfileName,
  type CertificateProfile,
  type ProfileName,
  type KeyUsageName,
  type UrlKind,
} from './profiles';
export {
  readPublicKeyInfo,
  keyFitsAlgorithm,
  signatureSchemeOf,
  verifySignature,
  type PublicKeyInfo,
  type SignatureScheme,
  type AlgorithmIdentifierValue,
} from './signature';
export {
  issueCertificate,
  parseCertificate,
  verifyCertificateSignature,
  computeKeyIdentifier,
  issuerKeyIdentifier,
  type IssueCertificateInput,
  type CertificateIssuer,
  type CertificateUrls,
  type ParsedCertificate,
  type CertificateExtension,
} from './certificate';
export {
  buildCrl,
  parseCrl,
  verifyCrlSignature,
  serialHexToInteger,
  REASON_CODES,
  reasonFromCode,
  type BuildCrlInput,
  type RevokedEntry,
  type ParsedCrl,
  type ParsedCrlEntry,
} from './crl';
export {
  parseOcspRequest,
  buildOcspRequest,
  buildCertId,
  matchCertId,
  buildOcspResponse,
  buildOcspError,
  parseOcspResponse,
  verifyOcspResponseSignature,
  normalizeSerialHex,
  type OcspCertId,
  type OcspRequestLimits,
  type ParsedOcspRequest,
  type OcspErrorStatus,
  type OcspCertStatus,
  type OcspSingleResponseInput,
  type BuildOcspResponseInput,
  type ParsedOcspResponse,
  type ParsedBasicOcspResponse,
  type ParsedSingleResponse,
  type OcspResponseStatusName,
} from './ocsp';
export {
  PKI_FAILURE_INFO_BITS,
  parseTimeStampReq,
  buildTimeStampReq,
  checkTimeStampReq,
  buildTimeStampResp,
  buildTimeStampRejection,
  isTsaCertificate,
  type PKIFailureInfoName,
  type MessageImprintValue,
  type ParsedTimeStampReq,
  type TsaPolicy,
  type TsaAccuracy,
  type TimeStampReqCheck,
  type BuildTimeStampRespInput,
  type TimeStampRespResult,
} from './tsp';
export {
  parseTimeStampResp,
  parseTimeStampToken,
  verifyTimeStampToken,
  checkTsaCertificate,
  type PKIStatusName,
  type ParsedTimeStampResp,
  type ParsedTimeStampToken,
  type ParsedTSTInfo,
  type ParsedSignerInfo,
  type ParsedAttribute,
  type VerifyTimeStampTokenInput,
  type VerifiedTimeStampToken,
} from './tsp-token';
export { requestTimestamp, type RequestTimestampInput, type TimestampResult, type FetchLike, type FetchResponseLike } from './tsa-client';
